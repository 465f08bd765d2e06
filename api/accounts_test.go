package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignUpLoginMe(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.client()

	res := c.do("POST", "/api/v1/users", map[string]string{
		"email": "Nell@Example.com", "password": "open sesame", "nickname": "nell", "birth_date": "1985-12-31", "gender": "other",
	})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var u struct {
		ID        int64  `json:"id"`
		Email     string `json:"email"`
		BirthDate string `json:"birth_date"`
	}
	res.decode(t, &u)
	assert.Equal(t, "Nell@Example.com", u.Email)
	assert.Equal(t, "1985-12-31", u.BirthDate)
	assert.Empty(t, res.header.Get("Set-Cookie"), "signing up does not log in")

	// The same email in another case is taken.
	res = c.do("POST", "/api/v1/users", map[string]string{
		"email": "nell@example.COM", "password": "open sesame", "nickname": "x", "birth_date": "1985-12-31", "gender": "male",
	})
	assert.Equal(t, http.StatusConflict, res.status)
	assert.Equal(t, "email_taken", res.problemCode(t))

	assert.Equal(t, http.StatusUnauthorized, c.do("GET", "/api/v1/me", nil).status)

	res = c.do("POST", "/api/v1/sessions", map[string]string{"email": "nell@example.com", "password": "wrong password"})
	assert.Equal(t, http.StatusUnauthorized, res.status)
	assert.Equal(t, "invalid_credentials", res.problemCode(t))
	res = c.do("POST", "/api/v1/sessions", map[string]string{"email": "nobody@example.com", "password": "open sesame"})
	assert.Equal(t, "invalid_credentials", res.problemCode(t), "an unknown email looks like a wrong password")

	res = c.do("POST", "/api/v1/sessions", map[string]string{"email": "NELL@example.com", "password": "open sesame"})
	require.Equal(t, http.StatusOK, res.status)
	cookie := res.header.Get("Set-Cookie")
	assert.Contains(t, cookie, "gavel_session=")
	assert.Contains(t, cookie, "HttpOnly")
	assert.Contains(t, cookie, "SameSite=Lax")
	assert.NotContains(t, cookie, "Secure", "not Secure unless GAVEL_COOKIE_SECURE")

	res = c.do("GET", "/api/v1/me", nil)
	require.Equal(t, http.StatusOK, res.status)
	var me struct {
		ID     int64  `json:"id"`
		Role   string `json:"role"`
		Points struct {
			Available, Held int64
		} `json:"points"`
	}
	res.decode(t, &me)
	assert.Equal(t, u.ID, me.ID)
	assert.Equal(t, "user", me.Role)

	require.Equal(t, http.StatusNoContent, c.do("DELETE", "/api/v1/sessions/current", nil).status)
	assert.Equal(t, http.StatusUnauthorized, c.do("GET", "/api/v1/me", nil).status)
}

func TestLoginIssuesNewSessionAndLogoutDeletesIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	email, password := h.signUp("rota")
	creds := map[string]string{"email": email, "password": password}

	login := func(cookie string) (response, string) {
		c := h.client()
		res := c.do("POST", "/api/v1/sessions", creds, "Cookie", cookie)
		require.Equal(t, http.StatusOK, res.status)
		return res, strings.Split(res.header.Get("Set-Cookie"), ";")[0]
	}
	withCookie := func(cookie, method, path string) int {
		return h.client().do(method, path, nil, "Cookie", cookie).status
	}

	_, first := login("")
	_, second := login(first)
	assert.NotEqual(t, first, second, "a login gets a new session ID")
	assert.Equal(t, http.StatusUnauthorized, withCookie(first, "GET", "/api/v1/me"), "the session presented at login is replaced")
	assert.Equal(t, http.StatusOK, withCookie(second, "GET", "/api/v1/me"))

	// Another device keeps its session when this one logs in again.
	_, other := login("")
	_, third := login(second)
	assert.Equal(t, http.StatusOK, withCookie(other, "GET", "/api/v1/me"))
	assert.Equal(t, http.StatusOK, withCookie(third, "GET", "/api/v1/me"))

	assert.Equal(t, http.StatusNoContent, withCookie(third, "DELETE", "/api/v1/sessions/current"))
	assert.Equal(t, http.StatusUnauthorized, withCookie(third, "GET", "/api/v1/me"), "logout deletes the server-side session")
	assert.Equal(t, http.StatusOK, withCookie(other, "GET", "/api/v1/me"))

	// A forged cookie is no session.
	assert.Equal(t, http.StatusUnauthorized, withCookie("gavel_session=forged", "GET", "/api/v1/me"))
}

func TestSessionsWorkAcrossInstances(t *testing.T) {
	t.Parallel()
	a := newHarness(t)
	b := startServer(t, a.db, a.redis)
	email, password := a.signUp("multi")

	c := a.client()
	res := c.do("POST", "/api/v1/sessions", map[string]string{"email": email, "password": password})
	require.Equal(t, http.StatusOK, res.status)
	cookie := strings.Split(res.header.Get("Set-Cookie"), ";")[0]

	res = b.client().do("GET", "/api/v1/me", nil, "Cookie", cookie)
	require.Equal(t, http.StatusOK, res.status, "instance B accepts a session made by A")
	assert.Equal(t, http.StatusNoContent, b.client().do("DELETE", "/api/v1/sessions/current", nil, "Cookie", cookie).status)
	assert.Equal(t, http.StatusUnauthorized, a.client().do("GET", "/api/v1/me", nil, "Cookie", cookie).status,
		"a logout on B ends the session on A")
}

func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	email, password := h.signUp("thr")
	c := h.client()
	for i := range 10 {
		res := c.do("POST", "/api/v1/sessions", map[string]string{"email": email, "password": "wrong-password"},
			"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		require.Equal(t, http.StatusUnauthorized, res.status, "failure %d", i+1)
	}
	res := c.do("POST", "/api/v1/sessions", map[string]string{"email": email, "password": password}, "X-Forwarded-For", "198.51.100.200")
	require.Equal(t, http.StatusTooManyRequests, res.status, "the 11th try is refused even with the right password")
	assert.Equal(t, "rate_limited", res.problemCode(t))
	assert.NotEmpty(t, res.header.Get("Retry-After"))

	// Per IP: 50 failures from one address over many emails block that address only.
	for i := range 50 {
		res := c.do("POST", "/api/v1/sessions", map[string]string{"email": fmt.Sprintf("nobody%d@example.com", i), "password": "x-password"},
			"X-Forwarded-For", "203.0.113.7")
		require.Equal(t, http.StatusUnauthorized, res.status, "failure %d", i+1)
	}
	other, otherPassword := h.signUp("ipok")
	res = c.do("POST", "/api/v1/sessions", map[string]string{"email": other, "password": otherPassword}, "X-Forwarded-For", "203.0.113.7")
	assert.Equal(t, http.StatusTooManyRequests, res.status)
	res = c.do("POST", "/api/v1/sessions", map[string]string{"email": other, "password": otherPassword}, "X-Forwarded-For", "203.0.113.8")
	assert.Equal(t, http.StatusOK, res.status)
}
