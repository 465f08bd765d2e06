package api_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/webp"
)

// secret stands for what a photo must not leak: where it was taken.
const secret = "GPS 48.858370N 2.294481E"

// halves is a w x h image whose left half is red and right half blue.
func halves(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{R: 255, A: 255}
			if x >= w/2 {
				c = color.RGBA{B: 255, A: 255}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

func encodePNG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, m))
	return b.Bytes()
}

func encodeJPEG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, m, &jpeg.Options{Quality: 95}))
	return b.Bytes()
}

func encodeGIF(t *testing.T, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, gif.Encode(&b, m, nil))
	return b.Bytes()
}

// withExif puts an APP1 Exif segment right after a JPEG's SOI: IFD0 holds the orientation
// (0: none) and an ImageDescription carrying the secret.
func withExif(jpg []byte, orientation uint16) []byte {
	var ifd bytes.Buffer
	be := binary.BigEndian
	ifd.WriteString("MM\x00\x2a")
	_ = binary.Write(&ifd, be, uint32(8))
	entries := uint16(1)
	if orientation != 0 {
		entries++
	}
	_ = binary.Write(&ifd, be, entries)
	text := secret + "\x00"
	textOffset := uint32(8 + 2 + 12*int(entries) + 4)
	// ImageDescription, ASCII, at textOffset.
	writeAll(&ifd, be, uint16(0x010E), uint16(2), uint32(len(text)), textOffset)
	if orientation != 0 {
		writeAll(&ifd, be, uint16(0x0112), uint16(3), uint32(1), orientation, uint16(0))
	}
	_ = binary.Write(&ifd, be, uint32(0)) // no next IFD
	ifd.WriteString(text)
	payload := append([]byte("Exif\x00\x00"), ifd.Bytes()...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// withPNGText puts a tEXt chunk with the secret right after a PNG's IHDR.
func withPNGText(p []byte) []byte {
	data := append([]byte("Comment\x00"), secret...)
	chunk := pngChunk("tEXt", data)
	const ihdrEnd = 8 + 4 + 4 + 13 + 4
	out := append([]byte{}, p[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, p[ihdrEnd:]...)
}

// writeAll writes each value in the byte order.
func writeAll(w io.Writer, bo binary.ByteOrder, vs ...any) {
	for _, v := range vs {
		_ = binary.Write(w, bo, v)
	}
}

func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// pngHeader is a PNG signature and IHDR claiming w x h (8-bit RGBA), and nothing else.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	return append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
}

// withGIFComment puts a comment extension with the secret right before a GIF's trailer.
func withGIFComment(g []byte) []byte {
	ext := append([]byte{0x21, 0xFE, byte(len(secret))}, secret...)
	ext = append(ext, 0)
	out := append([]byte{}, g[:len(g)-1]...)
	out = append(out, ext...)
	return append(out, 0x3B)
}

// gifFrames is a GIF of w x h whose n frames each claim the whole screen but hold no pixels.
func gifFrames(w, h uint16, n int) []byte {
	var b bytes.Buffer
	b.WriteString("GIF89a")
	writeAll(&b, binary.LittleEndian, w, h, uint8(0x80), uint8(0), uint8(0))
	b.Write([]byte{0, 0, 0, 255, 255, 255}) // the 2-colour global table
	for range n {
		b.WriteByte(0x2C)
		writeAll(&b, binary.LittleEndian, uint16(0), uint16(0), w, h, uint8(0))
		b.Write([]byte{2, 0}) // LZW minimum code size, no data
	}
	b.WriteByte(0x3B)
	return b.Bytes()
}

// vp8lUniform is a lossless WebP bitstream (VP8L chunk payload) of a w x h image of one
// colour: each of its five prefix codes has a single symbol, so pixels take no bits.
func vp8lUniform(w, h int, c color.NRGBA) []byte {
	var out []byte
	var acc uint64
	var n uint
	put := func(v uint64, bits uint) {
		acc |= v << n
		n += bits
		for n >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	put(0x2f, 8)
	put(uint64(w-1), 14)
	put(uint64(h-1), 14)
	put(1, 1) // alpha is used
	put(0, 3) // version
	put(0, 1) // no transform
	put(0, 1) // no colour cache
	put(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A} {
		put(1, 1) // simple code
		put(0, 1) // one symbol
		put(1, 1) // of 8 bits
		put(uint64(sym), 8)
	}
	put(1, 1) // distance: simple code
	put(0, 1)
	put(0, 1) // of 1 bit
	put(0, 1)
	if n > 0 {
		out = append(out, byte(acc))
	}
	return out
}

func riffChunk(fcc string, data []byte) []byte {
	b := append([]byte(fcc), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// webpFile wraps chunks in a RIFF WEBP container.
func webpFile(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(body)))
	return append(out, body...)
}

// webpWithExif is an extended-format WebP of w x h with an EXIF chunk carrying the secret.
func webpWithExif(w, h int) []byte {
	vp8x := make([]byte, 10)
	vp8x[0] = 0x08 | 0x10 // EXIF, alpha
	vp8x[4], vp8x[5], vp8x[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	vp8x[7], vp8x[8], vp8x[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	return webpFile(riffChunk("VP8X", vp8x),
		riffChunk("VP8L", vp8lUniform(w, h, color.NRGBA{R: 10, G: 200, B: 30, A: 255})),
		riffChunk("EXIF", []byte("MM\x00\x2a"+secret)))
}

type uploadedImage struct {
	ID          int64  `json:"id"`
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

func TestUploadStripsMetadataAndTrailingBytes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller := h.login("exif")
	a := seller.createAuction(t, "Street photo", 100, time.Hour)
	trailer := []byte("<html><script>alert(1)</script></html>")

	for _, tc := range []struct {
		name     string
		data     []byte
		wantType string
		decode   func(io.Reader) (image.Image, error)
	}{
		{"jpeg", withExif(encodeJPEG(t, halves(64, 32)), 0), "image/jpeg", jpeg.Decode},
		{"png", withPNGText(encodePNG(t, halves(64, 32))), "image/png", png.Decode},
		{"gif", withGIFComment(encodeGIF(t, halves(64, 32))), "image/gif", gif.Decode},
		{"webp", webpWithExif(64, 32), "image/webp", webp.Decode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, string(tc.data), secret, "the test image carries the secret")
			_, err := tc.decode(bytes.NewReader(tc.data))
			require.NoError(t, err, "the test image is valid")
			res := seller.upload(t, a.ID, "image", "x", "application/octet-stream", append(append([]byte{}, tc.data...), trailer...))
			require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
			var u uploadedImage
			res.decode(t, &u)
			assert.Equal(t, tc.wantType, u.ContentType)

			img := h.client().do("GET", u.URL, nil)
			require.Equal(t, http.StatusOK, img.status)
			assert.Equal(t, tc.wantType, img.header.Get("Content-Type"))
			assert.EqualValues(t, len(img.body), u.Size, "the size answered is the stored size")
			assert.NotContains(t, string(img.body), secret, "metadata is stripped")
			assert.NotContains(t, string(img.body), "<html>", "trailing bytes are dropped")
			assert.NotContains(t, string(img.body), "Exif")
			m, err := tc.decode(bytes.NewReader(img.body))
			require.NoError(t, err, "what is stored decodes")
			assert.Equal(t, image.Rect(0, 0, 64, 32), m.Bounds())
		})
	}
}

func TestUploadAppliesExifOrientation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller := h.login("rotate")
	a := seller.createAuction(t, "Portrait", 100, time.Hour)
	// Orientation 6: the camera was turned; the picture is shown turned 90 degrees clockwise,
	// so its left (red) half ends up on top.
	res := seller.upload(t, a.ID, "image", "p.jpg", "image/jpeg", withExif(encodeJPEG(t, halves(32, 16)), 6))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var u uploadedImage
	res.decode(t, &u)
	img := h.client().do("GET", u.URL, nil)
	m, err := jpeg.Decode(bytes.NewReader(img.body))
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 16, 32), m.Bounds(), "turned upright")
	r, _, b, _ := m.At(8, 4).RGBA()
	assert.Greater(t, r, b, "red on top")
	r, _, b, _ = m.At(8, 28).RGBA()
	assert.Greater(t, b, r, "blue below")
}

func TestUploadRefusesWhatDoesNotDecode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller := h.login("polyglot")
	a := seller.createAuction(t, "Fake", 100, time.Hour)
	good := encodePNG(t, halves(8, 8))
	for name, data := range map[string][]byte{
		"gif header then html":  []byte("GIF89a<html><script>alert(document.cookie)</script></html>"),
		"png header then junk":  append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 64)...),
		"jpeg header then junk": append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{2}, 64)...),
		"webp header then junk": append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), bytes.Repeat([]byte{4}, 64)...),
		"truncated png":         good[:len(good)-20],
		"png header alone":      pngHeader(8, 8),
	} {
		res := seller.upload(t, a.ID, "image", "x.gif", "image/gif", data)
		assert.Equal(t, http.StatusUnsupportedMediaType, res.status, name)
		assert.Equal(t, "unsupported_media_type", res.problemCode(t), name)
	}
}

func TestUploadBoundsDimensionsBeforeDecoding(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller := h.login("huge")
	a := seller.createAuction(t, "Billboard", 100, time.Hour)
	for name, data := range map[string][]byte{
		"png wider than 8192":      pngHeader(8193, 1),
		"png of 49 megapixels":     pngHeader(7000, 7000),
		"png of 4 gigapixels":      pngHeader(65535, 65535),
		"gif wider than 8192":      gifFrames(9000, 1, 1),
		"gif frames of 48 Mpixels": gifFrames(4000, 4000, 3),
		"webp wider than 8192":     webpFile(riffChunk("VP8L", vp8lUniform(9000, 2, color.NRGBA{A: 255}))),
	} {
		res := seller.upload(t, a.ID, "image", "x.png", "image/png", data)
		assert.Equal(t, http.StatusUnprocessableEntity, res.status, "%s: %s", name, res.body)
		assert.Equal(t, "image_dimensions_too_large", res.problemCode(t), name)
	}
	// At the limits is fine (one frame of 8192 x 1 decodes).
	res := seller.upload(t, a.ID, "image", "x.gif", "image/gif", encodeGIF(t, image.NewPaletted(image.Rect(0, 0, 8192, 1), color.Palette{color.Black, color.White})))
	assert.Equal(t, http.StatusCreated, res.status, "%s", res.body)
}

// slowUpload starts an upload on raw (the API without the OpenAPI checker, which reads
// whole bodies first) that sends its headers and a first part of the body, then waits;
// finish ends it and returns its status.
func slowUpload(t *testing.T, raw *httptest.Server, c *client, auctionID int64) (finish func() int) {
	t.Helper()
	pr, pw := io.Pipe()
	// A test that fails before finishing still ends the upload, or closing the server waits.
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	mw := multipart.NewWriter(pw)
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/auctions/%d/images", raw.URL, auctionID), pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	done := make(chan int, 1)
	go func() {
		res, err := c.http.Do(req)
		if err != nil {
			done <- 0
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		done <- res.StatusCode
	}()
	part, err := mw.CreateFormFile("image", "slow.png")
	require.NoError(t, err)
	img := encodePNG(t, halves(8, 8))
	_, err = part.Write(img[:10])
	require.NoError(t, err)
	return func() int {
		_, _ = part.Write(img[10:])
		_ = mw.Close()
		_ = pw.Close()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Error("the slow upload did not end")
			return 0
		}
	}
}

// whenInProgress waits until n uploads are in progress (the slow ones are in), then
// uploads to a missing auction as c: 404 if it got through the gate.
func whenInProgress(t *testing.T, h *harness, n int, c *client) response {
	t.Helper()
	want := fmt.Sprintf("gavel_uploads_in_progress %d\n", n)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(h.metrics(), want) {
		require.True(t, time.Now().Before(deadline), "the slow uploads did not start")
		time.Sleep(10 * time.Millisecond)
	}
	return c.upload(t, 999999999, "image", "p.png", "image/png", encodePNG(t, halves(8, 8)))
}

func TestUploadsPerUserAreCapped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	raw := httptest.NewServer(h.api)
	t.Cleanup(raw.Close)
	seller := h.login("greedy")
	a := seller.createAuction(t, "Many photos", 100, time.Hour)
	first, second := slowUpload(t, raw, seller, a.ID), slowUpload(t, raw, seller, a.ID)

	res := whenInProgress(t, h, 2, seller)
	require.Equal(t, http.StatusTooManyRequests, res.status, "a third upload at once: %s", res.body)
	assert.Equal(t, "rate_limited", res.problemCode(t))
	assert.NotEmpty(t, res.header.Get("Retry-After"))

	other := h.login("patient")
	b := other.createAuction(t, "One photo", 100, time.Hour)
	assert.Equal(t, http.StatusCreated, other.upload(t, b.ID, "image", "p.png", "image/png", encodePNG(t, halves(8, 8))).status,
		"another user is not held up")

	assert.Equal(t, http.StatusCreated, first())
	assert.Equal(t, http.StatusCreated, second())
	assert.Equal(t, http.StatusCreated, seller.upload(t, a.ID, "image", "p.png", "image/png", encodePNG(t, halves(8, 8))).status,
		"the slots are given back")
}

func TestUploadsPerProcessAreCapped(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	t.Cleanup(func() { rdb.Close() })
	h := startServerWith(t, testenv.DB(t), rdb, func(d *api.Deps) {
		d.UploadsInFlight = 2
		d.UploadQueueWait = 100 * time.Millisecond
	})
	raw := httptest.NewServer(h.api)
	t.Cleanup(raw.Close)
	var finish []func() int
	for _, name := range []string{"one", "two"} {
		c := h.login(name)
		a := c.createAuction(t, "Lot", 100, time.Hour)
		finish = append(finish, slowUpload(t, raw, c, a.ID))
	}
	third := h.login("three")
	res := whenInProgress(t, h, 2, third)
	require.Equal(t, http.StatusServiceUnavailable, res.status, "%s", res.body)
	assert.Equal(t, "service_unavailable", res.problemCode(t))
	assert.NotEmpty(t, res.header.Get("Retry-After"))

	// A slot given back is taken by the next upload.
	a := third.createAuction(t, "Lot", 100, time.Hour)
	assert.Equal(t, http.StatusCreated, finish[0]())
	assert.Equal(t, http.StatusCreated, third.upload(t, a.ID, "image", "p.png", "image/png", encodePNG(t, halves(8, 8))).status)
	assert.Equal(t, http.StatusCreated, finish[1]())
}
