package api

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gin-gonic/gin"
)

// problemType is the base of the problem `type` URIs; the code completes it.
const problemType = "https://gavel.dev/problems/"

// Problem is an RFC 9457 problem details body with Gavel's stable code.
type Problem struct {
	Type      string               `json:"type"`
	Title     string               `json:"title"`
	Status    int                  `json:"status"`
	Detail    string               `json:"detail,omitempty"`
	Code      string               `json:"code"`
	Errors    []auction.FieldError `json:"errors,omitempty"`
	RequestID string               `json:"request_id,omitempty"`
	Checks    map[string]string    `json:"checks,omitempty"`
	// MinNextBid, on bid_too_low, is the least amount a bid may have now.
	MinNextBid *int64 `json:"min_next_bid,omitempty"`
	// StartAt, on auction_not_started, is when bidding opens.
	StartAt *string `json:"start_at,omitempty"`
	// retryAfter, in seconds, becomes a Retry-After header when positive.
	retryAfter int
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

func newProblem(status int, code, detail string) *Problem {
	return &Problem{Type: problemType + code, Title: http.StatusText(status), Status: status, Code: code, Detail: detail}
}

// invalid is a 400 validation_failed naming one field.
func invalid(field, message string) *Problem {
	p := newProblem(http.StatusBadRequest, "validation_failed", "The request is not valid.")
	p.Errors = []auction.FieldError{{Field: field, Message: message}}
	return p
}

// badParams collects every bad parameter of a request, so that one answer names them all.
type badParams struct{ fields []auction.FieldError }

// add records one bad parameter.
func (b *badParams) add(field, message string) {
	b.fields = append(b.fields, auction.FieldError{Field: field, Message: message})
}

// merge records the fields of a validation problem (nil adds nothing).
func (b *badParams) merge(p *Problem) {
	if p != nil {
		b.fields = append(b.fields, p.Errors...)
	}
}

// problem is the 400 naming every bad parameter, or nil when there is none.
func (b *badParams) problem() *Problem {
	if len(b.fields) == 0 {
		return nil
	}
	p := newProblem(http.StatusBadRequest, "validation_failed", "The request is not valid.")
	p.Errors = b.fields
	return p
}

// domainErrors maps the domain's sentinel errors to a status and a stable code.
var domainErrors = []struct {
	err    error
	status int
	code   string
}{
	{auction.ErrNotFound, http.StatusNotFound, "not_found"},
	{auction.ErrEmailTaken, http.StatusConflict, "email_taken"},
	{auction.ErrInvalidCredentials, http.StatusUnauthorized, "invalid_credentials"},
	{auction.ErrIdempotencyConflict, http.StatusUnprocessableEntity, "idempotency_key_reused"},
	{auction.ErrInsufficientPoints, http.StatusUnprocessableEntity, "insufficient_points"},
	{auction.ErrForbidden, http.StatusForbidden, "forbidden"},
	{auction.ErrOwnAuction, http.StatusForbidden, "own_auction"},
	{auction.ErrAuctionNotStarted, http.StatusConflict, "auction_not_started"},
	{auction.ErrAuctionClosed, http.StatusConflict, "auction_closed"},
	{auction.ErrBidTooLow, http.StatusUnprocessableEntity, "bid_too_low"},
	{auction.ErrBuyNowUnavailable, http.StatusConflict, "buy_now_unavailable"},
	{auction.ErrNotEditable, http.StatusConflict, "auction_not_editable"},
	{auction.ErrImageLimit, http.StatusConflict, "image_limit_reached"},
	{auction.ErrUnsupportedImage, http.StatusUnsupportedMediaType, "unsupported_media_type"},
	{auction.ErrImageTooLarge, http.StatusRequestEntityTooLarge, "payload_too_large"},
	{auction.ErrImageDimensions, http.StatusUnprocessableEntity, "image_dimensions_too_large"},
	{auction.ErrTooManyAuctions, http.StatusConflict, "too_many_auctions"},
}

// problemFor turns any error into the problem to answer. Unknown errors are 500s,
// logged with the request ID and answered without internals.
func problemFor(c *gin.Context, log *slog.Logger, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var ve *auction.ValidationError
	if errors.As(err, &ve) {
		p = newProblem(http.StatusBadRequest, "validation_failed", "The request is not valid.")
		p.Errors = ve.Fields
		return p
	}
	if errors.Is(err, auction.ErrBusy) {
		p = newProblem(http.StatusServiceUnavailable, "busy", capitalize(auction.ErrBusy.Error())+".")
		p.retryAfter = 1
		return p
	}
	for _, m := range domainErrors {
		if errors.Is(err, m.err) {
			return newProblem(m.status, m.code, capitalize(m.err.Error())+".")
		}
	}
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		return newProblem(499, "client_closed_request", "The client closed the request.")
	}
	if unavailable(err) {
		log.WarnContext(c.Request.Context(), "request failed: a backing service is unreachable", "err", err,
			"request_id", c.GetString(requestIDKey), "route", c.FullPath())
		p = newProblem(http.StatusServiceUnavailable, "service_unavailable", "A service Gavel depends on is unreachable; try again shortly.")
		p.retryAfter = 5
		return p
	}
	log.ErrorContext(c.Request.Context(), "request failed", "err", err,
		"request_id", c.GetString(requestIDKey), "route", c.FullPath())
	return newProblem(http.StatusInternalServerError, "internal_error", "Something went wrong on our side.")
}

// unavailable reports an error that says the database or Redis cannot be reached (refused,
// reset, timed out, or a connection lost mid-query), as opposed to a bug.
func unavailable(err error) bool {
	var op *net.OpError
	return db.Unreachable(err) || errors.As(err, &op) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// writeProblem answers with the problem as application/problem+json.
func writeProblem(c *gin.Context, p *Problem) {
	p.RequestID = c.GetString(requestIDKey)
	if p.retryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(p.retryAfter))
	}
	c.Header("Content-Type", "application/problem+json")
	c.Status(p.Status)
	c.Abort()
	body, err := jsonMarshal(p)
	if err != nil {
		panic(fmt.Sprintf("marshal problem: %v", err))
	}
	_, _ = c.Writer.Write(body)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
