package api

import (
	"errors"
	"math"
	"net/http"
	"time"

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
	u, err := s.accounts.SignUp(c.Request.Context(), auction.SignUp(req))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, toUserJSON(u))
}

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
	case req.Password == "":
		writeProblem(c, invalid("password", "is required"))
		return
	}
	ctx := c.Request.Context()
	key, ip := auction.EmailKey(req.Email), c.ClientIP()
	wait, err := s.throttle.blocked(ctx, key, ip)
	if err != nil {
		s.fail(c, err)
		return
	}
	if wait > 0 {
		p := newProblem(http.StatusTooManyRequests, "rate_limited", "Too many failed logins; try again later.")
		p.retryAfter = int(math.Ceil(wait.Seconds()))
		writeProblem(c, p)
		return
	}
	u, err := s.accounts.Authenticate(ctx, req.Email, req.Password)
	if errors.Is(err, auction.ErrInvalidCredentials) {
		if err := s.throttle.failed(ctx, key, ip); err != nil {
			s.log.Warn("login throttle: count failure", "err", err)
		}
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.throttle.succeeded(ctx, key); err != nil {
		s.log.Warn("login throttle: reset", "err", err)
	}
	if err := startSession(c, u.ID); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toUserJSON(u))
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
