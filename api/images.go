package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/limit"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

type imageJSON struct {
	ID          int64  `json:"id"`
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// maxUploadBody leaves room for the multipart framing around a 5 MiB image.
const maxUploadBody = auction.MaxImageSize + 64<<10

// Default limits of the uploads in progress on one API instance: each may hold a 5 MiB
// body in memory, then the image decoded.
const (
	defaultUploadsPerUser  = 2
	defaultUploadsInFlight = 8
	defaultUploadQueueWait = 2 * time.Second
)

// uploadGate bounds the uploads in progress: a few per user (the next is refused at
// once) and a few more for the whole process (the next waits briefly for a slot).
type uploadGate struct {
	perUser limit.PerKey[int64]
	userMax int
	slots   limit.Slots
	wait    time.Duration
}

func newUploadGate(reg Registry, perUser, total int, wait time.Duration) *uploadGate {
	if perUser <= 0 {
		perUser = defaultUploadsPerUser
	}
	if total <= 0 {
		total = defaultUploadsInFlight
	}
	if wait <= 0 {
		wait = defaultUploadQueueWait
	}
	g := &uploadGate{userMax: perUser, slots: limit.NewSlots(total), wait: wait}
	_ = reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gavel_uploads_in_progress", Help: "Image uploads being received or processed on this API instance.",
	}, func() float64 { return float64(len(g.slots)) }))
	return g
}

// enter takes a slot for the user's upload, or says why there is none: 429 when the user
// already has their share in progress, 503 when the process has no slot free in time.
// The release it returns must be called once the upload is done.
func (g *uploadGate) enter(ctx context.Context, userID int64) (release func(), p *Problem) {
	leave, ok := g.perUser.Take(userID, g.userMax)
	if !ok {
		p = newProblem(http.StatusTooManyRequests, "rate_limited",
			fmt.Sprintf("At most %d uploads at once per user; wait for one to finish.", g.userMax))
		p.retryAfter = 2
		return nil, p
	}
	give, err := g.slots.Take(ctx, g.wait)
	if err == nil {
		return func() { give(); leave() }, nil
	}
	leave()
	if errors.Is(err, limit.ErrTimeout) {
		p = newProblem(http.StatusServiceUnavailable, "service_unavailable", "Too many uploads are in progress; try again shortly.")
	} else {
		p = newProblem(499, "client_closed_request", "The client closed the request.")
	}
	p.retryAfter = 2
	return nil, p
}

func (s *Server) handleUploadImage(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		writeProblem(c, newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Send the image as multipart/form-data in a field named image."))
		return
	}
	// The slot is taken before the body is read: the body is what takes the memory.
	release, p := s.uploads.enter(c.Request.Context(), currentUserID(c))
	if p != nil {
		if p.Status == http.StatusServiceUnavailable {
			s.log.WarnContext(c.Request.Context(), "upload refused: every upload slot is taken",
				"request_id", c.GetString(requestIDKey))
		}
		writeProblem(c, p)
		return
	}
	defer release()
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxUploadBody)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		writeProblem(c, invalid("image", "the multipart body cannot be read"))
		return
	}
	for {
		part, err := mr.NextPart()
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.fail(c, auction.ErrImageTooLarge)
			return
		case err == io.EOF:
			writeProblem(c, invalid("image", "is required: a file field named image"))
			return
		case err != nil:
			writeProblem(c, invalid("image", "the multipart body cannot be read"))
			return
		}
		if part.FormName() != "image" {
			part.Close()
			continue
		}
		body := &readErr{r: part}
		img, err := s.catalogue.AddImage(c.Request.Context(), id, currentUserID(c), body)
		switch {
		case errors.As(err, &tooBig):
			err = auction.ErrImageTooLarge
		case err != nil && body.err != nil:
			// The client's body broke off: its fault, not a backing service's.
			err = bodyProblem(body.err, "image")
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, imageJSON{ID: img.ID, URL: imageURL(img.ID), ContentType: img.ContentType, Size: img.Size})
		return
	}
}

// readErr remembers the error that reading r failed with, other than io.EOF.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

func (s *Server) handleDeleteImage(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	imageID, ok := pathID(c, "image_id")
	if !ok {
		return
	}
	if err := s.catalogue.DeleteImage(c.Request.Context(), id, imageID, currentUserID(c)); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleImage serves an image's bytes. Its content never changes under its ID, so it may
// be cached for a year; the ETag is the SHA-256 of the bytes.
func (s *Server) handleImage(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	img, f, err := s.catalogue.Image(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer f.Close()
	h := c.Writer.Header()
	h.Set("Content-Type", img.ContentType)
	h.Set("ETag", strconv.Quote(img.ETag))
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(c.Writer, c.Request, "", img.CreatedAt, f)
}
