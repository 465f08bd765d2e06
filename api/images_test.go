package api_test

import (
	"bytes"
	"fmt"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Small real images of each accepted type (uploads are decoded and re-encoded).
var (
	pngBytes  = mustEncode(func(w io.Writer) error { return png.Encode(w, halves(8, 8)) })
	jpegBytes = mustEncode(func(w io.Writer) error { return jpeg.Encode(w, halves(8, 8), nil) })
	gifBytes  = mustEncode(func(w io.Writer) error { return gif.Encode(w, halves(8, 8), nil) })
	webpBytes = webpFile(riffChunk("VP8L", vp8lUniform(8, 8, color.NRGBA{R: 200, A: 255})))
)

func mustEncode(enc func(io.Writer) error) []byte {
	var b bytes.Buffer
	if err := enc(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// upload sends data as the multipart field `field`, with a file name and part type that
// the server must ignore.
func (c *client) upload(t *testing.T, auctionID int64, field, filename, partType string, data []byte) response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, field, filename)}
	h["Content-Type"] = []string{partType}
	p, err := w.CreatePart(h)
	require.NoError(t, err)
	_, _ = p.Write(data)
	require.NoError(t, w.Close())
	return c.do("POST", fmt.Sprintf("/api/v1/auctions/%d/images", auctionID), body.Bytes(), "Content-Type", w.FormDataContentType())
}

func TestImagesTypeLimitsAndCaching(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller := h.login("photo")
	a := seller.createAuction(t, "Painting", 100, time.Hour)

	type uploaded struct {
		ID          int64  `json:"id"`
		URL         string `json:"url"`
		ContentType string `json:"content_type"`
		Size        int64  `json:"size"`
	}
	var first uploaded
	for _, tc := range []struct {
		data     []byte
		name     string
		wantType string
	}{
		{pngBytes, "photo.jpg", "image/png"}, // the name and part type lie; the bytes decide
		{jpegBytes, "photo.png", "image/jpeg"},
		{gifBytes, "x", "image/gif"},
		{webpBytes, "x.gif", "image/webp"},
	} {
		res := seller.upload(t, a.ID, "image", tc.name, "application/octet-stream", tc.data)
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var u uploaded
		res.decode(t, &u)
		assert.Equal(t, tc.wantType, u.ContentType)
		assert.Positive(t, u.Size)
		if first.ID == 0 {
			first = u
		}
	}

	// Not an image, whatever it claims.
	res := seller.upload(t, a.ID, "image", "evil.png", "image/png", []byte("<?php system($_GET['c']); ?>"))
	assert.Equal(t, http.StatusUnsupportedMediaType, res.status)
	assert.Equal(t, "unsupported_media_type", res.problemCode(t))
	res = seller.upload(t, a.ID, "image", "empty.png", "image/png", nil)
	assert.Equal(t, http.StatusUnsupportedMediaType, res.status)
	res = seller.upload(t, a.ID, "photo", "x.png", "image/png", pngBytes)
	assert.Equal(t, http.StatusBadRequest, res.status, "the field must be named image")
	res = seller.do("POST", fmt.Sprintf("/api/v1/auctions/%d/images", a.ID), `{"image": "x"}`)
	assert.Equal(t, http.StatusUnsupportedMediaType, res.status)

	// 5 MiB is the limit: one byte more is 413.
	big := append(append([]byte{}, pngBytes...), bytes.Repeat([]byte{9}, 5<<20-len(pngBytes)+1)...)
	res = seller.upload(t, a.ID, "image", "big.png", "image/png", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	assert.Equal(t, "payload_too_large", res.problemCode(t))
	res = seller.upload(t, a.ID, "image", "max.png", "image/png", big[:5<<20])
	assert.Equal(t, http.StatusCreated, res.status, "exactly 5 MiB is fine (the padding after the image is dropped)")
	var atMax uploaded
	res.decode(t, &atMax)
	assert.Less(t, atMax.Size, int64(1<<20), "the size answered is the stored, re-encoded size")

	// Served as stored (re-encoded) with its type, a strong ETag and a long cache life.
	img := h.client().do("GET", first.URL, nil)
	require.Equal(t, http.StatusOK, img.status)
	assert.EqualValues(t, first.Size, len(img.body))
	_, err := png.Decode(bytes.NewReader(img.body))
	assert.NoError(t, err)
	assert.Equal(t, "image/png", img.header.Get("Content-Type"))
	assert.Contains(t, img.header.Get("Cache-Control"), "max-age=")
	etag := img.header.Get("ETag")
	require.NotEmpty(t, etag)
	res = h.client().do("GET", first.URL, nil, "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, res.status)
	assert.Empty(t, res.body)
	res = h.client().do("GET", first.URL, nil, "If-None-Match", `"something-else"`)
	assert.Equal(t, http.StatusOK, res.status)

	// Ten at most, checked under concurrency too.
	for i := 0; i < 5; i++ {
		seller.upload(t, a.ID, "image", "more.png", "image/png", pngBytes)
	}
	res = seller.upload(t, a.ID, "image", "eleventh.png", "image/png", pngBytes)
	assert.Equal(t, http.StatusConflict, res.status)
	assert.Equal(t, "image_limit_reached", res.problemCode(t))
	var view auctionOut
	seller.do("GET", fmt.Sprintf("/api/v1/auctions/%d", a.ID), nil).decode(t, &view)
	assert.Len(t, view.Images, 10)

	// The list shows the first image as the thumbnail.
	thumb := func() string {
		var page struct {
			Items []struct {
				ThumbnailURL *string `json:"thumbnail_url"`
			} `json:"items"`
		}
		seller.do("GET", fmt.Sprintf("/api/v1/auctions?seller_id=%d", view.Seller.ID), nil).decode(t, &page)
		require.Len(t, page.Items, 1)
		if page.Items[0].ThumbnailURL == nil {
			return ""
		}
		return *page.Items[0].ThumbnailURL
	}
	assert.Equal(t, first.URL, thumb())

	// Only the seller changes images; a deleted image's URL is gone.
	other := h.login("thief")
	assert.Equal(t, http.StatusForbidden, other.upload(t, a.ID, "image", "x.png", "image/png", pngBytes).status)
	delPath := fmt.Sprintf("/api/v1/auctions/%d/images/%d", a.ID, first.ID)
	assert.Equal(t, http.StatusForbidden, other.do("DELETE", delPath, nil).status)
	assert.Equal(t, http.StatusNoContent, seller.do("DELETE", delPath, nil).status)
	assert.Equal(t, view.Images[1].URL, thumb(), "the next image becomes the thumbnail")
	res = h.client().do("GET", first.URL, nil)
	assert.Equal(t, http.StatusNotFound, res.status)
	assert.Equal(t, http.StatusNotFound, seller.do("DELETE", delPath, nil).status)
	otherAuction := other.createAuction(t, "Other", 10, time.Hour)
	assert.Equal(t, http.StatusNotFound, other.do("DELETE", fmt.Sprintf("/api/v1/auctions/%d/images/%d", otherAuction.ID, view.Images[1].ID), nil).status,
		"an image of another auction is not found under this one")
}

func TestImageLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	t.Cleanup(func() { rdb.Close() })
	// The upload caps are lifted: this is about the tenth image, not the gate.
	h := startServerWith(t, testenv.DB(t), rdb, func(d *api.Deps) { d.UploadsPerUser, d.UploadsInFlight = 16, 16 })
	seller := h.login("conc")
	a := seller.createAuction(t, "Vase", 10, time.Hour)
	codes := make(chan int, 16)
	for range 16 {
		go func() { codes <- seller.upload(t, a.ID, "image", "v.png", "image/png", pngBytes).status }()
	}
	created := 0
	for range 16 {
		switch <-codes {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Error("unexpected status")
		}
	}
	assert.Equal(t, 10, created)
}

func TestImagePathsCannotEscape(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.client()
	for _, p := range []string{
		"/api/v1/images/..%2F..%2F..%2Fetc%2Fpasswd",
		"/api/v1/images/%2e%2e%2fgavel.db",
		"/api/v1/images/1%00",
		"/api/v1/images/../../go.mod",
		"/api/v1/images/-1",
		"/api/v1/images/0x10",
		"/api/v1/images/999999",
	} {
		req, err := http.NewRequest("GET", h.srv.URL, nil)
		require.NoError(t, err)
		req.URL.Opaque = p // sent as written, not cleaned by the client
		res, err := c.http.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Contains(t, []int{http.StatusNotFound, http.StatusBadRequest, http.StatusMovedPermanently}, res.StatusCode, p)
		assert.NotContains(t, string(body), "root:", p)
		assert.False(t, strings.Contains(string(body), "module github.com"), p)
	}
}
