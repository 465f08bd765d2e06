package auction

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"

	"github.com/gavelhq/gavel/limit"
	"golang.org/x/image/webp"
)

// Limits of an uploaded image's pixels, checked from its header before any pixel is
// decoded: a few kilobytes of compressed data can otherwise claim gigabytes.
const (
	MaxImageSide   = 8192
	MaxImagePixels = 40_000_000 // for a GIF, all its frames together
	// JPEGQuality is the quality uploaded JPEGs are re-encoded at.
	JPEGQuality = 90
)

// ErrImageDimensions is an image whose width, height or pixel count is over the limits.
var ErrImageDimensions = fmt.Errorf("the image is larger than %d pixels on a side or %d megapixels",
	MaxImageSide, MaxImagePixels/1_000_000)

// decodeSlots bounds how many images are decoded at once in the process: decoding is
// CPU work and a large image takes up to a few hundred megabytes while it is re-encoded.
var decodeSlots = limit.NewSlots(max(1, min(runtime.GOMAXPROCS(0), 4)))

// CleanImage decodes data fully and re-encodes it, so that what is stored has no
// metadata (EXIF with its GPS position, XMP, comments, colour profiles) and no bytes
// after the image. A JPEG's EXIF orientation is applied to its pixels first. It returns
// ErrUnsupportedImage for anything that is not a JPEG, PNG, GIF or (still) WebP that decodes
// in full, and ErrImageDimensions when the header announces too many pixels.
func CleanImage(ctx context.Context, data []byte) (out []byte, contentType string, err error) {
	contentType = SniffImage(data)
	if contentType == "" {
		return nil, "", ErrUnsupportedImage
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", ErrUnsupportedImage
	}
	pixels := int64(cfg.Width) * int64(cfg.Height)
	if contentType == "image/gif" {
		if pixels, err = gifFramePixels(data); err != nil {
			return nil, "", ErrUnsupportedImage
		}
	}
	if cfg.Width > MaxImageSide || cfg.Height > MaxImageSide || pixels > MaxImagePixels {
		return nil, "", ErrImageDimensions
	}
	release, err := decodeSlots.Take(ctx, 0)
	if err != nil {
		return nil, "", err
	}
	defer release()
	var buf bytes.Buffer
	switch contentType {
	case "image/jpeg":
		m, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, "", ErrUnsupportedImage
		}
		m = orient(m, jpegOrientation(data))
		err = jpeg.Encode(&buf, m, &jpeg.Options{Quality: JPEGQuality})
		if err != nil {
			return nil, "", fmt.Errorf("re-encode jpeg: %w", err)
		}
	case "image/png":
		m, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, "", ErrUnsupportedImage
		}
		if err := png.Encode(&buf, m); err != nil {
			return nil, "", fmt.Errorf("re-encode png: %w", err)
		}
	case "image/gif":
		g, err := gif.DecodeAll(bytes.NewReader(data))
		if err != nil || len(g.Image) == 0 {
			return nil, "", ErrUnsupportedImage
		}
		if err := gif.EncodeAll(&buf, g); err != nil {
			return nil, "", fmt.Errorf("re-encode gif: %w", err)
		}
	case "image/webp":
		// There is no WebP encoder in Go's libraries: the whole file is decoded to prove it
		// is an image, then only the chunks that make its pixels are kept.
		if _, err := webp.Decode(bytes.NewReader(data)); err != nil {
			return nil, "", ErrUnsupportedImage
		}
		out, err := stripWebP(data)
		if err != nil {
			return nil, "", ErrUnsupportedImage
		}
		return out, contentType, nil
	}
	return buf.Bytes(), contentType, nil
}

// gifFramePixels adds up the areas of a GIF's frames as their descriptors announce them,
// without decoding any: each frame is decoded into a picture of its own.
func gifFramePixels(b []byte) (int64, error) {
	bad := errors.New("gif: malformed")
	if len(b) < 13 {
		return 0, bad
	}
	i := 13
	if b[10]&0x80 != 0 {
		i += 3 << (int(b[10]&7) + 1)
	}
	// skipBlocks passes a sequence of data sub-blocks and its terminator.
	skipBlocks := func() bool {
		for i < len(b) {
			n := int(b[i])
			i += 1 + n
			if n == 0 {
				return true
			}
		}
		return false
	}
	var total int64
	for i < len(b) {
		switch b[i] {
		case 0x21: // extension: label, then sub-blocks
			i += 2
			if !skipBlocks() {
				return total, bad
			}
		case 0x2C: // image descriptor
			if i+10 > len(b) {
				return total, bad
			}
			w, h := binary.LittleEndian.Uint16(b[i+5:]), binary.LittleEndian.Uint16(b[i+7:])
			total += int64(w) * int64(h)
			packed := b[i+9]
			i += 10
			if packed&0x80 != 0 {
				i += 3 << (int(packed&7) + 1)
			}
			i++ // LZW minimum code size
			if !skipBlocks() {
				return total, bad
			}
		case 0x3B: // trailer
			return total, nil
		default:
			return total, bad
		}
	}
	return total, bad
}

// stripWebP rebuilds a WebP file from the chunks that carry its pixels (VP8 or VP8L, with
// ALPH and a VP8X header that announces only alpha when there is an alpha channel);
// EXIF, XMP, ICCP, unknown chunks and bytes after the RIFF container are left out.
func stripWebP(b []byte) ([]byte, error) {
	bad := errors.New("webp: malformed")
	if len(b) < 12 {
		return nil, bad
	}
	end := 8 + int64(binary.LittleEndian.Uint32(b[4:8]))
	if end > int64(len(b)) {
		return nil, bad
	}
	var vp8x, alph, frame []byte
	for i := int64(12); i+8 <= end; {
		n := int64(binary.LittleEndian.Uint32(b[i+4 : i+8]))
		next := i + 8 + n + n%2
		if i+8+n > end {
			return nil, bad
		}
		chunk := b[i : i+8+n]
		switch string(b[i : i+4]) {
		case "VP8X":
			vp8x = chunk
		case "ALPH":
			alph = chunk
		case "VP8 ", "VP8L":
			frame = chunk
		}
		if frame != nil {
			break
		}
		i = next
	}
	if frame == nil {
		return nil, bad
	}
	body := []byte("WEBP")
	pad := func(c []byte) {
		body = append(body, c...)
		if len(c)%2 == 1 {
			body = append(body, 0)
		}
	}
	if alph != nil && vp8x != nil && len(vp8x) == 18 && string(frame[:4]) == "VP8 " {
		x := append([]byte{}, vp8x...)
		x[8] = 0x10 // alpha only: no animation, EXIF, XMP or ICC profile
		pad(x)
		pad(alph)
	}
	pad(frame)
	out := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(body)))
	return append(out, body...), nil
}

// jpegOrientation reads the EXIF orientation (1 to 8) of a JPEG; 1 when there is none.
func jpegOrientation(b []byte) int {
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; {
		marker := b[i+1]
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image: no more headers
			break
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			break
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return exifOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// exifOrientation finds tag 0x0112 in the first IFD of a TIFF structure.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int64(bo.Uint32(t[4:8]))
	if off+2 > int64(len(t)) {
		return 1
	}
	count := int64(bo.Uint16(t[off:]))
	for e := off + 2; e+12 <= int64(len(t)) && count > 0; e, count = e+12, count-1 {
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 {
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
	return 1
}

// orient turns m upright as its EXIF orientation o says it is shown.
func orient(m image.Image, o int) image.Image {
	if o <= 1 || o > 8 {
		return m
	}
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	ycc, isYCC := m.(*image.YCbCr)
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // upside down
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored upside down
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // turn clockwise
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // turn anticlockwise
				dx, dy = y, w-1-x
			}
			var c color.RGBA
			if isYCC {
				yi, ci := ycc.YOffset(b.Min.X+x, b.Min.Y+y), ycc.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(ycc.Y[yi], ycc.Cb[ci], ycc.Cr[ci])
				c = color.RGBA{R: r, G: g, B: bl, A: 255}
			} else {
				c = color.RGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
			}
			p := dst.PixOffset(dx, dy)
			dst.Pix[p], dst.Pix[p+1], dst.Pix[p+2], dst.Pix[p+3] = c.R, c.G, c.B, c.A
		}
	}
	return dst
}
