package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Outcomes of a request in the authorization matrix.
const (
	allowed = 0   // anything but 401, 403 and 404: the request got through to its handler
	unauth  = 401 // no session
	denied  = 403
	hidden  = 404 // someone else's private resource does not exist for the caller
	reached = -1  // past the authorization: even a 404 is the handler's own answer
)

// TestAuthorizationMatrix sends every route to an anonymous caller, the owner of the
// resources, another user and an admin, and fails on any access it should not allow. A
// route the server serves that the matrix does not list fails the test too, so a new
// endpoint must be classified here.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	anon, owner, other := h.client(), h.login("owner"), h.login("other")
	admin := h.loginAdmin()
	other.charge(t, 10_000)
	ready := owner.createAuction(t, "Ready", 100, time.Hour)
	doomed := owner.createAuction(t, "Doomed", 100, time.Hour)
	started := owner.createAuction(t, "Started", 100, -time.Second)
	res := owner.upload(t, ready.ID, "image", "a.png", "image/png", pngBytes)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var img struct {
		ID int64 `json:"id"`
	}
	res.decode(t, &img)
	res = other.do("POST", fmt.Sprintf("/api/v1/auctions/%d/bids", started.ID), map[string]int64{"amount": 100})
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	var bid bidOut
	res.decode(t, &bid)

	type row struct {
		method, route, path string
		body                any
		anon, owner, other  int
		admin               int
	}
	a, d, s := ready.ID, doomed.ID, started.ID
	rows := []row{
		{"GET", "/healthz", "/healthz", nil, allowed, allowed, allowed, allowed},
		{"GET", "/readyz", "/readyz", nil, allowed, allowed, allowed, allowed},
		{"GET", "/openapi.json", "/openapi.json", nil, allowed, allowed, allowed, allowed},
		{"GET", "/docs", "/docs", nil, allowed, allowed, allowed, allowed},
		{"GET", "/ops/asynq/*path", "/ops/asynq/", nil, unauth, denied, denied, allowed},
		{"POST", "/ops/asynq/*path", "/ops/asynq/api/queues/default:pause", nil, unauth, denied, denied, reached},
		{"DELETE", "/ops/asynq/*path", "/ops/asynq/api/queues/nothing", nil, unauth, denied, denied, reached},
		{"POST", "/api/v1/users", "/api/v1/users", map[string]string{}, allowed, allowed, allowed, allowed},
		{"POST", "/api/v1/sessions", "/api/v1/sessions", map[string]string{}, allowed, allowed, allowed, allowed},
		{"GET", "/api/v1/auctions", "/api/v1/auctions", nil, allowed, allowed, allowed, allowed},
		{"GET", "/api/v1/auctions/:id", fmt.Sprintf("/api/v1/auctions/%d", a), nil, allowed, allowed, allowed, allowed},
		{"GET", "/api/v1/images/:id", fmt.Sprintf("/api/v1/images/%d", img.ID), nil, allowed, allowed, allowed, allowed},
		{"GET", "/api/v1/auctions/:id/bids", fmt.Sprintf("/api/v1/auctions/%d/bids", s), nil, allowed, allowed, allowed, allowed},
		{"GET", "/api/v1/me", "/api/v1/me", nil, unauth, allowed, allowed, allowed},
		{"POST", "/api/v1/me/points/charges", "/api/v1/me/points/charges", map[string]int64{"amount": 1}, unauth, allowed, allowed, allowed},
		{"GET", "/api/v1/me/points/ledger", "/api/v1/me/points/ledger", nil, unauth, allowed, allowed, allowed},
		{"GET", "/api/v1/me/auctions", "/api/v1/me/auctions", nil, unauth, allowed, allowed, allowed},
		{"POST", "/api/v1/auctions", "/api/v1/auctions", map[string]string{}, unauth, allowed, allowed, allowed},
		{"PATCH", "/api/v1/auctions/:id", fmt.Sprintf("/api/v1/auctions/%d", a), map[string]string{"name": "Renamed"}, unauth, allowed, denied, denied},
		{"POST", "/api/v1/auctions/:id/images", fmt.Sprintf("/api/v1/auctions/%d/images", a), "", unauth, allowed, denied, denied},
		{"POST", "/api/v1/auctions/:id/bids", fmt.Sprintf("/api/v1/auctions/%d/bids", s), map[string]int64{"amount": 1}, unauth, denied, allowed, allowed},
		{"POST", "/api/v1/auctions/:id/buy", fmt.Sprintf("/api/v1/auctions/%d/buy", s), nil, unauth, denied, allowed, allowed},
		{"GET", "/api/v1/bids/:id", fmt.Sprintf("/api/v1/bids/%d", bid.ID), nil, unauth, hidden, allowed, hidden},
		{"GET", "/api/v1/me/bids", "/api/v1/me/bids", nil, unauth, allowed, allowed, allowed},
		{"PUT", "/api/v1/auctions/:id/like", fmt.Sprintf("/api/v1/auctions/%d/like", a), nil, unauth, allowed, allowed, allowed},
		{"DELETE", "/api/v1/auctions/:id/like", fmt.Sprintf("/api/v1/auctions/%d/like", a), nil, unauth, allowed, allowed, allowed},
		{"PUT", "/api/v1/auctions/:id/subscription", fmt.Sprintf("/api/v1/auctions/%d/subscription", a), nil, unauth, allowed, allowed, allowed},
		{"DELETE", "/api/v1/auctions/:id/subscription", fmt.Sprintf("/api/v1/auctions/%d/subscription", a), nil, unauth, allowed, allowed, allowed},
		{"GET", "/api/v1/me/subscriptions", "/api/v1/me/subscriptions", nil, unauth, allowed, allowed, allowed},
		{"GET", "/api/v1/me/recommendations", "/api/v1/me/recommendations", nil, unauth, allowed, allowed, allowed},
		{"GET", "/api/v1/me/notifications", "/api/v1/me/notifications", nil, unauth, allowed, allowed, allowed},
		{"POST", "/api/v1/me/notifications/read", "/api/v1/me/notifications/read", map[string]int64{"up_to_id": 1}, unauth, allowed, allowed, allowed},
		{"GET", "/api/v1/auctions/:id/stream", fmt.Sprintf("/api/v1/auctions/%d/stream", a), nil, allowed, allowed, allowed, allowed},
		{"GET", "/api/v1/me/notifications/stream", "/api/v1/me/notifications/stream", nil, unauth, allowed, allowed, allowed},
		// Destructive ones last; the owner goes last in each row.
		{"DELETE", "/api/v1/auctions/:id/images/:image_id", fmt.Sprintf("/api/v1/auctions/%d/images/%d", a, img.ID), nil, unauth, allowed, denied, denied},
		{"DELETE", "/api/v1/auctions/:id", fmt.Sprintf("/api/v1/auctions/%d", d), nil, unauth, allowed, denied, denied},
		{"DELETE", "/api/v1/sessions/current", "/api/v1/sessions/current", nil, unauth, allowed, allowed, allowed},
	}
	listed := map[string]bool{}
	for _, r := range rows {
		listed[r.method+" "+r.route] = true
	}
	for _, rt := range h.api.Routes() {
		assert.True(t, listed[rt.Method+" "+rt.Path], "%s %s is served but not in the authorization matrix", rt.Method, rt.Path)
	}

	send := func(c *client, r row) int {
		if strings.HasPrefix(r.path, "/ops/") {
			// asynqmon's own API: multi-segment paths and plain-text answers that the
			// OpenAPI entry for /ops/asynq/{path} cannot describe, so straight to the server.
			req := httptest.NewRequest(r.method, r.path, nil)
			u, _ := url.Parse(h.srv.URL)
			for _, ck := range c.http.Jar.Cookies(u) {
				req.AddCookie(ck)
			}
			rec := httptest.NewRecorder()
			h.api.ServeHTTP(rec, req)
			return rec.Code
		}
		if strings.HasSuffix(r.path, "/stream") {
			return c.streamStatus(t, r.path)
		}
		if r.route == "/api/v1/auctions/:id/images" {
			return c.upload(t, a, "image", "b.png", "image/png", pngBytes).status
		}
		return c.do(r.method, r.path, r.body).status
	}
	check := func(who string, want, got int, r row) {
		switch want {
		case reached:
			assert.NotContains(t, []int{401, 403}, got, "%s %s as %s: %d", r.method, r.path, who, got)
		case allowed:
			assert.NotContains(t, []int{401, 403, 404}, got, "%s %s as %s: %d", r.method, r.path, who, got)
			assert.Less(t, got, 500, "%s %s as %s", r.method, r.path, who)
		default:
			assert.Equal(t, want, got, "%s %s as %s", r.method, r.path, who)
		}
	}
	for _, r := range rows {
		check("anonymous", r.anon, send(anon, r), r)
		check("another user", r.other, send(other, r), r)
		check("an admin", r.admin, send(admin, r), r)
		check("the owner", r.owner, send(owner, r), r)
	}
	// Logged out: the owner's session is gone.
	assert.Equal(t, http.StatusUnauthorized, owner.do("GET", "/api/v1/me", nil).status)
}

// streamStatus opens an event stream and returns its status without reading the events.
func (c *client) streamStatus(t *testing.T, path string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.h.srv.URL+path, nil)
	require.NoError(t, err)
	res, err := c.http.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// Every answer, error or not, carries the security headers.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, path := range []string{"/api/v1/auctions", "/api/v1/me", "/nowhere", "/healthz"} {
		res := h.client().do("GET", path, nil)
		assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"), path)
		assert.Equal(t, "DENY", res.header.Get("X-Frame-Options"), path)
		assert.Equal(t, "no-referrer", res.header.Get("Referrer-Policy"), path)
		assert.Contains(t, res.header.Get("Content-Security-Policy"), "default-src 'none'", path)
	}
	res := h.client().do("GET", "/docs", nil)
	assert.Equal(t, "DENY", res.header.Get("X-Frame-Options"))
}
