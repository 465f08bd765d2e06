package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gin-gonic/gin"
)

const (
	requestIDKey = "request_id"
	userKey      = "user_id"
)

// securityHeaders sets the headers every answer carries: no MIME sniffing, no framing,
// no referrer leaks, and a content policy that lets only the API's own pages run.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !strings.HasPrefix(c.Request.URL.Path, "/ops/") && c.Request.URL.Path != "/docs" {
		// The dashboard and the docs page bring their own scripts and styles.
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	}
	c.Next()
}

// requestID takes a sane X-Request-ID from the client or makes one, and echoes it.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !validRequestID(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(requestIDKey, id)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// recoverer turns a panic into a logged 500 problem.
func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "err", fmt.Sprint(v), "request_id", c.GetString(requestIDKey), "path", c.Request.URL.Path)
				if !c.Writer.Written() {
					writeProblem(c, newProblem(http.StatusInternalServerError, "internal_error", "Something went wrong on our side."))
				}
			}
		}()
		c.Next()
	}
}

// observe records every request's metrics and writes one log line for it.
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		took := time.Since(start)
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		method := methodLabel(c)
		s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues(method, route).Observe(took.Seconds())
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case route == "/healthz" || route == "/readyz":
			level = slog.LevelDebug
		}
		s.log.LogAttrs(c.Request.Context(), level, "http request",
			slog.String("method", method), slog.String("route", route),
			slog.Int("status", status), slog.Duration("took", took),
			slog.String("request_id", c.GetString(requestIDKey)), slog.Int64("user_id", c.GetInt64(userKey)))
	}
}

// fail answers the request with the problem that err maps to.
func (s *Server) fail(c *gin.Context, err error) {
	writeProblem(c, problemFor(c, s.log, err))
}

// requireUser refuses requests without a session (401).
func (s *Server) requireUser(c *gin.Context) {
	id := sessionUserID(c)
	if id == 0 {
		writeProblem(c, newProblem(http.StatusUnauthorized, "unauthenticated", "Sign in first."))
		return
	}
	c.Set(userKey, id)
	c.Next()
}

// requireAdmin refuses anonymous requests (401) and users who are not admins (403).
func (s *Server) requireAdmin(c *gin.Context) {
	id := sessionUserID(c)
	if id == 0 {
		writeProblem(c, newProblem(http.StatusUnauthorized, "unauthenticated", "Sign in first."))
		return
	}
	c.Set(userKey, id)
	u, err := s.accounts.User(c.Request.Context(), id)
	if err != nil {
		if errors.Is(err, auction.ErrNotFound) {
			writeProblem(c, newProblem(http.StatusUnauthorized, "unauthenticated", "Sign in first."))
			return
		}
		s.fail(c, err)
		return
	}
	if u.Role != auction.RoleAdmin {
		writeProblem(c, newProblem(http.StatusForbidden, "forbidden", "This page is for admins."))
		return
	}
	c.Next()
}

// currentUserID is the signed-in user's ID, set by requireUser.
func currentUserID(c *gin.Context) int64 { return c.GetInt64(userKey) }
