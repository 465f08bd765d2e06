package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gin-gonic/gin"
)

// userJSON is the public shape of a user.
type userJSON struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	Nickname  string `json:"nickname"`
	BirthDate string `json:"birth_date"`
	Gender    string `json:"gender"`
	CreatedAt string `json:"created_at"`
}

type meJSON struct {
	userJSON
	Role   string         `json:"role"`
	Points auction.Points `json:"points"`
}

func toUserJSON(u *db.User) userJSON {
	return userJSON{
		ID: u.ID, Email: u.Email, Nickname: u.Nickname, BirthDate: u.BirthDate.UTC().Format(time.DateOnly),
		Gender: u.Gender, CreatedAt: timestamp(u.CreatedAt),
	}
}

// timestamp formats a time as api/openapi.yaml says: RFC 3339 in UTC, whole seconds.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Server) handleSignUp(c *gin.Context) {
	var req struct {
		Email     string `json:"email"`
		Password  string `json:"password"`
		Nickname  string `json:"nickname"`
		BirthDate string `json:"birth_date"`
		Gender    string `json:"gender"`
	}
	if p := decodeJSON(c.Request, &req); p != nil {
		writeProblem(c, p)
		return
	}
	ctx, ip := c.Request.Context(), c.ClientIP()
	wait, err := s.signups.attempt(ctx, ip)
	if err != nil {
		s.fail(c, err)
		return
	}
	if wait > 0 {
		writeProblem(c, rateLimited("Too many sign-ups from this address; try again later.", wait))
		return
	}
	u, err := s.accounts.SignUp(ctx, auction.SignUp(req))
	var ve *auction.ValidationError
	if errors.As(err, &ve) || errors.Is(err, auction.ErrBusy) {
		// Not a sign-up: a typo or a busy moment does not use up the address's allowance.
		if err := s.signups.takeBack(ctx, ip); err != nil {
			s.log.Warn("sign-up limit: take back", "err", err)
		}
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, toUserJSON(u))
}

// maxEmailLen is the longest email address (RFC 5321's path limit).
const maxEmailLen = 254

func (s *Server) handleLogin(c *gin.Context) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if p := decodeJSON(c.Request, &req); p != nil {
		writeProblem(c, p)
		return
	}
	switch {
	case req.Email == "":
		writeProblem(c, invalid("email", "is required"))
		return
	case utf8.RuneCountInString(req.Email) > maxEmailLen:
		writeProblem(c, invalid("email", fmt.Sprintf("must be at most %d characters", maxEmailLen)))
		return
	case req.Password == "":
		writeProblem(c, invalid("password", "is required"))
		return
	}
	ctx := c.Request.Context()
	key, ip := auction.EmailKey(req.Email), c.ClientIP()
	wait, err := s.throttle.attempt(ctx, key, ip)
	if err != nil {
		s.fail(c, err)
		return
	}
	if wait > 0 {
		writeProblem(c, rateLimited("Too many failed logins; try again later.", wait))
		return
	}
	u, err := s.accounts.Authenticate(ctx, req.Email, req.Password)
	if err == nil || !errors.Is(err, auction.ErrInvalidCredentials) {
		// Only a wrong password or unknown email counts against the limits.
		if err := s.throttle.takeBack(ctx, key, ip, err == nil); err != nil {
			s.log.Warn("login throttle: take back", "err", err)
		}
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := startSession(c, u.ID); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toUserJSON(u))
}

// rateLimited is a 429 rate_limited with a Retry-After of wait (at least a second).
func rateLimited(detail string, wait time.Duration) *Problem {
	p := newProblem(http.StatusTooManyRequests, "rate_limited", detail)
	p.retryAfter = max(1, int(math.Ceil(wait.Seconds())))
	return p
}

func (s *Server) handleLogout(c *gin.Context) {
	if err := endSession(c); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) handleMe(c *gin.Context) {
	u, err := s.accounts.User(c.Request.Context(), currentUserID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, meJSON{
		userJSON: toUserJSON(u), Role: u.Role,
		Points: auction.Points{Available: u.PointsAvailable, Held: u.PointsHeld},
	})
}
