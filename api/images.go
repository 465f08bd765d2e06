package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/gavelhq/gavel/auction"
	"github.com/gin-gonic/gin"
)

type imageJSON struct {
	ID          int64  `json:"id"`
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// maxUploadBody leaves room for the multipart framing around a 5 MiB image.
const maxUploadBody = auction.MaxImageSize + 64<<10

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
		img, err := s.catalogue.AddImage(c.Request.Context(), id, currentUserID(c), part)
		if errors.As(err, &tooBig) {
			err = auction.ErrImageTooLarge
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, imageJSON{ID: img.ID, URL: imageURL(img.ID), ContentType: img.ContentType, Size: img.Size})
		return
	}
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
