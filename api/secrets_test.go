package api_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// No answer and no log line, at debug level, carries a password, a password hash, the
// session secret or a session ID, whatever the request.
func TestNoSecretInAnswersOrLogs(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	d := testenv.DB(t)
	rdb := testenv.Redis(t)
	t.Cleanup(func() { rdb.Close() })
	h := startServerWith(t, d, rdb, func(deps *api.Deps) {
		deps.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	const password = "a-very-particular-password"
	c := h.client()
	var bodies []string
	keep := func(r response) response {
		bodies = append(bodies, string(r.body))
		for k, v := range r.header {
			if k != "Set-Cookie" { // the cookie carries the session ID, as it must
				bodies = append(bodies, k+": "+strings.Join(v, ","))
			}
		}
		return r
	}
	keep(c.do("POST", "/api/v1/users", map[string]string{"email": "sam@example.com", "password": password,
		"nickname": "sam", "birth_date": "1990-01-01", "gender": "male"}))
	keep(c.do("POST", "/api/v1/users", map[string]string{"email": "sam@example.com", "password": password,
		"nickname": "sam", "birth_date": "1990-01-01", "gender": "male"})) // taken
	keep(c.do("POST", "/api/v1/sessions", map[string]string{"email": "sam@example.com", "password": password + "x"}))
	require.Equal(t, http.StatusOK, keep(c.do("POST", "/api/v1/sessions", map[string]string{"email": "sam@example.com", "password": password})).status)
	keep(c.do("GET", "/api/v1/me", nil))
	keep(c.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 500}))
	res := keep(c.do("POST", "/api/v1/auctions", map[string]any{"name": "Lamp", "start_price": 10,
		"start_at": rfc(time.Now().Add(time.Hour)), "end_at": rfc(time.Now().Add(2 * time.Hour))}))
	var a auctionOut
	res.decode(t, &a)
	keep(c.do("GET", fmt.Sprintf("/api/v1/auctions/%d", a.ID), nil))
	keep(c.do("GET", "/api/v1/auctions", nil))
	keep(c.do("GET", "/api/v1/me/points/ledger", nil))
	keep(c.do("POST", "/api/v1/me/points/charges", `{"amount": "lots"`))
	keep(c.do("GET", "/api/v1/nowhere", nil))
	u, _ := url.Parse(h.srv.URL)
	var sessionID string
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "gavel_session" {
			sessionID = ck.Value
		}
	}
	require.NotEmpty(t, sessionID)
	keep(c.do("DELETE", "/api/v1/sessions/current", nil))

	secrets := map[string]string{"password": password, "password hash": "$argon2id$", "session secret": testSecret,
		"session ID": sessionID}
	for what, secret := range secrets {
		for _, b := range bodies {
			assert.NotContains(t, b, secret, "an answer carries the %s", what)
		}
		assert.NotContains(t, logs.String(), secret, "the logs carry the %s", what)
	}
	assert.Contains(t, logs.String(), "/api/v1/sessions", "the requests were logged at all")
}
