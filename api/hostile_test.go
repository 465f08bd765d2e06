package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
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

// Hostile clients (api/openapi.yaml, "Hostile clients"): every test here failed before
// its defence existed.

// A NUL or other control character in a query parameter, a header or a JSON string is a
// 400 naming the field, never a 500 from the database (bun turned such strings into an
// error marker). A description keeps its tabs and newlines.
func TestControlCharactersAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.login("Nul")
	anon := h.client()

	fieldOf := func(res response) string {
		t.Helper()
		var p struct {
			Code   string `json:"code"`
			Errors []struct {
				Field string `json:"field"`
			} `json:"errors"`
		}
		res.decode(t, &p)
		require.Equal(t, "validation_failed", p.Code, "%s", res.body)
		require.NotEmpty(t, p.Errors)
		return p.Errors[0].Field
	}
	res := anon.do("GET", "/api/v1/auctions?q=bike%00", nil)
	require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
	assert.Equal(t, "q", fieldOf(res))
	res = anon.do("GET", "/api/v1/auctions?q=a%07b", nil)
	require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)

	res = anon.do("POST", "/api/v1/users", `{"email":"nul@example.com","password":"secret-password","nickname":"a\u0000b","birth_date":"1990-01-01","gender":"other"}`)
	require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
	assert.Equal(t, "nickname", fieldOf(res))
	res = anon.do("POST", "/api/v1/sessions", `{"email":"a\u0000@example.com","password":"secret-password"}`)
	require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
	assert.Equal(t, "email", fieldOf(res))

	start := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	end := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	for field, body := range map[string]string{
		"name":        fmt.Sprintf(`{"name":"Lamp\u0000","description":"ok","start_price":10,"start_at":%q,"end_at":%q}`, start, end),
		"description": fmt.Sprintf(`{"name":"Lamp","description":"bad\u0001","start_price":10,"start_at":%q,"end_at":%q}`, start, end),
	} {
		res = c.do("POST", "/api/v1/auctions", body)
		require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", field, res.body)
		assert.Equal(t, field, fieldOf(res))
	}
	res = c.do("POST", "/api/v1/auctions", fmt.Sprintf(`{"name":"Lamp","description":"line one\n\tline two","start_price":10,"start_at":%q,"end_at":%q}`, start, end))
	require.Equal(t, http.StatusCreated, res.status, "a description keeps tabs and newlines: %s", res.body)

	// Go's client will not send such a header, and its server refuses some such bytes
	// itself: the request goes to the handler directly.
	rec := direct(h, anon, "GET", "/api/v1/auctions", "X-Client-Note", "a\x01b")
	require.Equal(t, http.StatusBadRequest, rec.Code, "%s", rec.Body)
	assert.Equal(t, "X-Client-Note", fieldOf(response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}))
}

// A body that does not arrive within the body timeout of its headers is answered 408 and
// the connection closed; before, it stayed open for as long as the client liked.
func TestSlowBodyIsCutOff(t *testing.T) {
	t.Parallel()
	h := startServerWith(t, testenv.DB(t), testenv.Redis(t), func(d *api.Deps) { d.BodyTimeout = 300 * time.Millisecond })
	// Straight to the server: the harness's OpenAPI check reads the whole body first.
	srv := httptest.NewServer(h.api)
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"email\":")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	started := time.Now()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no answer: the request was left hanging")
	defer res.Body.Close()
	assert.Equal(t, http.StatusRequestTimeout, res.StatusCode)
	assert.Less(t, time.Since(started), 5*time.Second)
}

// An event stream's connection is not cut by the body deadline: streams carry no body.
func TestStreamOutlivesTheBodyTimeout(t *testing.T) {
	t.Parallel()
	h := startServerWith(t, testenv.DB(t), testenv.Redis(t), func(d *api.Deps) { d.BodyTimeout = 200 * time.Millisecond })
	c := h.login("Streamer")
	a := c.createAuction(t, "Slow clock", 10, time.Hour)
	events, stop := c.stream(t, fmt.Sprintf("/api/v1/auctions/%d/stream", a.ID), "")
	defer stop()
	next(t, events)
	time.Sleep(600 * time.Millisecond)
	select {
	case _, ok := <-events:
		assert.True(t, ok, "the stream ended after the body timeout")
	default:
	}
}

// Concurrent wrong passwords for one email get no more than the limit's worth of checks:
// the attempt is counted before the password is. Not parallel: its 50 checked passwords
// hold the process's hashing slots for seconds, and the suite's parallel tests that sign
// up or log in would get 503 busy meanwhile (they run after it).
func TestConcurrentWrongPasswordsAreThrottled(t *testing.T) {
	h := newHarness(t)
	email, _ := h.signUp("Target")
	codes := storm(40, func(int) int {
		return h.client().do("POST", "/api/v1/sessions", map[string]string{"email": email, "password": "wrong-password"},
			"X-Forwarded-For", "198.51.100.40").status
	})
	assert.Equal(t, 30, codes[http.StatusTooManyRequests], "%v", codes)
	assert.Equal(t, 10, codes[http.StatusUnauthorized]+codes[http.StatusServiceUnavailable], "%v", codes)

	// One IP, many emails: 50 attempts are checked, the rest refused.
	codes = storm(80, func(i int) int {
		return h.client().do("POST", "/api/v1/sessions", map[string]string{"email": fmt.Sprintf("nobody%d@example.com", i), "password": "wrong-password"},
			"X-Forwarded-For", "198.51.100.41").status
	})
	assert.Equal(t, 30, codes[http.StatusTooManyRequests], "%v", codes)

	// A good login from the same IP is refused too (the limit holds for the window), but
	// from another IP it works, and a success does not count against its IP.
	good, password := h.signUp("Good")
	for range 60 {
		res := h.client().do("POST", "/api/v1/sessions", map[string]string{"email": good, "password": password}, "X-Forwarded-For", "198.51.100.42")
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	}
}

// direct sends a request as c straight to the server's handler, past the OpenAPI check
// and the HTTP client's own checks.
func direct(h *harness, c *client, method, path string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	u, _ := url.Parse(h.srv.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.api.ServeHTTP(rec, req)
	return rec
}

// storm runs n requests at once and counts their statuses.
func storm(n int, do func(i int) int) map[int]int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	codes := map[int]int{}
	for i := range n {
		wg.Go(func() {
			code := do(i)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return codes
}

// Sign-ups are limited per IP; an invalid one does not use up the allowance.
func TestSignUpsArePerIPLimited(t *testing.T) {
	t.Parallel()
	h := startServerWith(t, testenv.DB(t), testenv.Redis(t), func(d *api.Deps) { d.SignupsPerIPHour = 3 })
	// A 503 busy (every hashing slot taken by the suite's other tests) is retried, as a
	// client told Retry-After does; it does not use up the allowance.
	signUp := func(i int, ip string, nickname string) response {
		return h.retryBusy(func() response {
			return h.client().do("POST", "/api/v1/users", map[string]string{
				"email": fmt.Sprintf("limit%d@example.com", i), "password": "secret-password", "nickname": nickname,
				"birth_date": "1990-01-01", "gender": "other"}, "X-Forwarded-For", ip)
		})
	}
	require.Equal(t, http.StatusBadRequest, signUp(0, "198.51.100.1", "").status)
	for i := 1; i <= 3; i++ {
		res := signUp(i, "198.51.100.1", "Ok")
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	}
	res := signUp(4, "198.51.100.1", "Ok")
	require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
	assert.Equal(t, "rate_limited", res.problemCode(t))
	assert.NotEmpty(t, res.header.Get("Retry-After"))
	require.Equal(t, http.StatusCreated, signUp(5, "198.51.100.2", "Ok").status, "another IP")
}

// Streams are limited per IP and notification streams per user; a closed one frees its
// place.
func TestStreamsAreLimited(t *testing.T) {
	t.Parallel()
	h := startServerWith(t, testenv.DB(t), testenv.Redis(t), func(d *api.Deps) { d.StreamsPerIP = 2 })
	c := h.login("Watcher")
	a := c.createAuction(t, "Clock", 10, time.Hour)
	path := fmt.Sprintf("/api/v1/auctions/%d/stream", a.ID)
	_, stop1 := c.stream(t, path, "")
	_, stop2 := c.stream(t, path, "")
	defer stop2()
	// streamStatus first: were the stream let through, reading its body would never end.
	require.Equal(t, http.StatusTooManyRequests, c.streamStatus(t, path))
	res := c.do("GET", path, nil)
	require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
	assert.Equal(t, "rate_limited", res.problemCode(t))
	stop1()
	require.Eventually(t, func() bool { return c.streamStatus(t, path) == http.StatusOK },
		5*time.Second, 50*time.Millisecond, "a closed stream frees its place")

	u := startServerWith(t, testenv.DB(t), testenv.Redis(t), func(*api.Deps) {}).login("Reader")
	var stops []func()
	for range 10 {
		_, stop := u.stream(t, "/api/v1/me/notifications/stream", "")
		stops = append(stops, stop)
	}
	assert.Equal(t, http.StatusTooManyRequests, u.streamStatus(t, "/api/v1/me/notifications/stream"),
		"the 11th notification stream of one user")
	for _, stop := range stops {
		stop()
	}
}

// A state-changing request with a session from another site is refused, the dashboard's
// included; the API's own origin and an allowed one pass.
func TestCrossSiteRequestsWithASessionAreRefused(t *testing.T) {
	t.Parallel()
	h := startServerWith(t, testenv.DB(t), testenv.Redis(t), func(d *api.Deps) { d.CORSOrigins = []string{"https://app.example.com"} })
	admin := h.loginAdmin()
	// The dashboard's API is not in the OpenAPI document: straight to the server.
	rec := direct(h, admin, "POST", "/ops/asynq/api/queues/low:pause", "Origin", "https://evil.example",
		"Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusForbidden, rec.Code, "%s", rec.Body)
	assert.Contains(t, rec.Body.String(), `"code":"cross_origin"`)
	res := admin.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 10}, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
	res = admin.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 10}, "Origin", h.srv.URL)
	require.Equal(t, http.StatusCreated, res.status, "the API's own origin: %s", res.body)
	res = admin.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 10}, "Origin", "https://app.example.com")
	require.Equal(t, http.StatusCreated, res.status, "an allowed origin: %s", res.body)
	res = h.client().do("POST", "/api/v1/sessions", map[string]string{"email": "x@example.com", "password": "wrong-password"}, "Origin", "https://evil.example")
	assert.Equal(t, http.StatusUnauthorized, res.status, "no session cookie: nothing to forge")
}

// CORS is on for the allowed origins only, preflight included.
func TestCORSForAllowedOrigins(t *testing.T) {
	t.Parallel()
	h := startServerWith(t, testenv.DB(t), testenv.Redis(t), func(d *api.Deps) { d.CORSOrigins = []string{"https://app.example.com"} })
	c := h.client()
	res := c.do("OPTIONS", "/api/v1/auctions", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type")
	require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
	assert.Equal(t, "https://app.example.com", res.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.header.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, res.header.Get("Access-Control-Allow-Methods"), "POST")
	res = c.do("GET", "/api/v1/auctions", nil, "Origin", "https://app.example.com")
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "https://app.example.com", res.header.Get("Access-Control-Allow-Origin"))
	res = c.do("GET", "/api/v1/auctions", nil, "Origin", "https://evil.example")
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))

	off := newHarness(t).client().do("GET", "/api/v1/auctions", nil, "Origin", "https://app.example.com")
	assert.Empty(t, off.header.Get("Access-Control-Allow-Origin"), "CORS is off by default")
}

// HEAD works wherever GET does, streams included; invented methods are one OTHER series.
func TestHeadAndMethodLabels(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.login("Header")
	a := c.createAuction(t, "Bell", 10, time.Hour)
	for _, path := range []string{"/healthz", "/api/v1/auctions", fmt.Sprintf("/api/v1/auctions/%d", a.ID), "/api/v1/me",
		fmt.Sprintf("/api/v1/auctions/%d/stream", a.ID)} {
		get := response{status: http.StatusOK, header: http.Header{"Content-Type": {"text/event-stream"}}}
		if !strings.HasSuffix(path, "/stream") { // a stream's GET never ends
			get = c.do("GET", path, nil)
		}
		head := c.do("HEAD", path, nil)
		assert.Equal(t, get.status, head.status, path)
		assert.Equal(t, get.header.Get("Content-Type"), head.header.Get("Content-Type"), path)
		assert.Empty(t, head.body, path)
	}
	for i := range 20 {
		c.do(fmt.Sprintf("ZZTEST%d", i), "/healthz", nil)
	}
	m := h.metrics()
	assert.NotContains(t, m, "ZZTEST")
	assert.Contains(t, m, `method="OTHER"`)
	assert.Contains(t, m, `method="HEAD"`)
}

// Smaller ones: a login email's length, q's limit in characters, the logout cookie's
// Secure attribute.
func TestSmallLimits(t *testing.T) {
	t.Parallel()
	h := startServerWith(t, testenv.DB(t), testenv.Redis(t), func(d *api.Deps) { d.CookieSecure = true })
	anon := h.client()
	res := anon.do("POST", "/api/v1/sessions", map[string]string{"email": strings.Repeat("a", 60_000) + "@example.com", "password": "secret-password"})
	require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
	n, err := h.redis.Exists(t.Context(), "gavel:login:fail:email:"+strings.Repeat("a", 60_000)+"@example.com").Result()
	require.NoError(t, err)
	assert.Zero(t, n, "nothing kept for a refused email")

	res = anon.do("GET", "/api/v1/auctions?q="+strings.Repeat("é", 100), nil)
	assert.Equal(t, http.StatusOK, res.status, "100 characters (200 bytes): %s", res.body)
	res = anon.do("GET", "/api/v1/auctions?q="+strings.Repeat("é", 101), nil)
	assert.Equal(t, http.StatusBadRequest, res.status)

	// The client's jar would not send a Secure cookie over http: it is sent by hand.
	email, password := h.signUp("Leaver")
	res = anon.do("POST", "/api/v1/sessions", map[string]string{"email": email, "password": password})
	require.Equal(t, http.StatusOK, res.status)
	session, _, _ := strings.Cut(res.header.Get("Set-Cookie"), ";")
	res = anon.do("DELETE", "/api/v1/sessions/current", nil, "Cookie", session)
	require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
	cookie := res.header.Get("Set-Cookie")
	assert.Contains(t, cookie, "Max-Age=0")
	assert.Contains(t, cookie, "Secure", "the logout cookie replaces the Secure one")
}
