package api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// cursorCodec makes opaque page cursors: the position as JSON, signed, so a cursor the
// server did not make is refused rather than trusted.
type cursorCodec struct{ key []byte }

const macLen = 12

func (cc cursorCodec) encode(v any) string {
	b, _ := json.Marshal(v)
	m := hmac.New(sha256.New, cc.key)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:macLen])
}

// decode fills v from the cursor; any cursor it did not make is a 400.
func (cc cursorCodec) decode(s string, v any) *Problem {
	bad := invalid("cursor", "is not a cursor this server made")
	body, sig, ok := strings.Cut(s, ".")
	if !ok {
		return bad
	}
	b, err1 := base64.RawURLEncoding.DecodeString(body)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return bad
	}
	m := hmac.New(sha256.New, cc.key)
	m.Write(b)
	if !hmac.Equal(mac, m.Sum(nil)[:macLen]) {
		return bad
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if dec.Decode(v) != nil {
		return bad
	}
	return nil
}

// pageParams reads ?limit= (1..100, default 20) and ?cursor= into v when present; the
// problem names both when both are bad.
func (s *Server) pageParams(c *gin.Context, v any) (limit int64, hasCursor bool, p *Problem) {
	var bad badParams
	limit = 20
	if raw, ok := c.GetQuery("limit"); ok {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 1 || n > 100 {
			bad.add("limit", "must be an integer from 1 to 100")
		}
		limit = n
	}
	if raw, ok := c.GetQuery("cursor"); ok && raw != "" {
		p := s.cursors.decode(raw, v)
		bad.merge(p)
		hasCursor = p == nil
	}
	if p := bad.problem(); p != nil {
		return 0, false, p
	}
	return limit, hasCursor, nil
}

// idCursor is the position of pages ordered by id, newest first.
type idCursor struct {
	Before int64 `json:"b"`
}

// idPage reads ?limit= and an id cursor; it answers the problem itself when they, or the
// bad parameters the caller found already, are bad.
func (s *Server) idPage(c *gin.Context, bad *badParams) (before, limit int64, ok bool) {
	var cur idCursor
	limit, _, p := s.pageParams(c, &cur)
	bad.merge(p)
	if p := bad.problem(); p != nil {
		writeProblem(c, p)
		return 0, 0, false
	}
	return cur.Before, limit, true
}

// Page is a page of items in every list answer.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}
