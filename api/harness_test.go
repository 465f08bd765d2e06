package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/imagestore"
	"github.com/gavelhq/gavel/jobs"
	"github.com/gavelhq/gavel/testenv"
	"github.com/gavelhq/gavel/worker"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

const testSecret = "test-secret-that-is-long-enough-for-gavel"

var openAPI = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPIYAML())
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(doc)
})

// harness is a running API on a fresh database and Redis, whose every response is
// checked against the OpenAPI document.
type harness struct {
	t *testing.T
	// report fails the test; the test of the checker itself replaces it.
	report func(format string, args ...any)
	db     *db.DB
	redis  *redis.Client
	srv    *httptest.Server
	api    *api.Server
	// workerMetrics is the registry of the worker of newHarnessWithWorker.
	workerMetrics *prometheus.Registry
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	d := testenv.DB(t)
	rdb := testenv.Redis(t)
	t.Cleanup(func() { rdb.Close() })
	return startServer(t, d, rdb)
}

// newHarnessWithWorker is newHarness with an Asynq worker deciding bids from the queue.
func newHarnessWithWorker(t *testing.T) *harness {
	t.Helper()
	d := testenv.DB(t)
	rdb := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	reg := prometheus.NewRegistry()
	go func() {
		done <- worker.Run(ctx, testenv.Discard(), d, rdb, worker.Config{Concurrency: 4, ShutdownTimeout: time.Second, Metrics: reg})
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		rdb.Close()
	})
	h := startServer(t, d, rdb, jobs.NewEnqueuer(rdb, testenv.Discard(), false))
	h.workerMetrics = reg
	return h
}

// startServer starts one more API instance on d and rdb.
func startServer(t *testing.T, d *db.DB, rdb *redis.Client, decisions ...auction.DecisionQueue) *harness {
	t.Helper()
	return startServerWith(t, d, rdb, func(deps *api.Deps) {
		if len(decisions) > 0 {
			deps.Decisions = decisions[0]
			if tr, ok := decisions[0].(auction.Transitions); ok {
				deps.Transitions = tr
			}
		}
	})
}

// startServerWith starts an API instance on d and rdb with the Deps that tune sets.
func startServerWith(t *testing.T, d *db.DB, rdb *redis.Client, tune func(*api.Deps)) *harness {
	t.Helper()
	images, err := imagestore.NewDir(t.TempDir())
	require.NoError(t, err)
	deps := api.Deps{
		Log: testenv.Log(), DB: d, Redis: rdb, SessionSecret: testSecret,
		Dashboard: jobs.Dashboard(rdb, "/ops/asynq"), TrustedProxies: []string{"127.0.0.1"},
		Images: images, StreamWriteTimeout: 2 * time.Second, Heartbeat: 200 * time.Millisecond,
	}
	tune(&deps)
	s, err := api.NewServer(deps)
	require.NoError(t, err)
	h := &harness{t: t, report: t.Errorf, db: d, redis: rdb, api: s}
	h.srv = httptest.NewServer(h.checkAgainstOpenAPI(s))
	t.Cleanup(h.srv.Close)
	t.Cleanup(s.Close) // runs first: the streams end, so the server can close
	select {
	case <-s.LiveReady():
	case <-time.After(10 * time.Second):
		t.Fatal("the live hub did not subscribe")
	}
	return h
}

// checkAgainstOpenAPI fails the test when a response of a documented route does not match
// the OpenAPI document, and when a documented-looking request reaches an undocumented route.
func (h *harness) checkAgainstOpenAPI(next http.Handler) http.Handler {
	router, err := openAPI()
	require.NoError(h.t, err)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		rec := httptest.NewRecorder()
		streaming := strings.HasSuffix(r.URL.Path, "/stream")
		if streaming {
			// An event stream goes straight through; its status, headers and first bytes
			// are kept for the checks below.
			tee := &teeWriter{ResponseWriter: w, rec: rec}
			next.ServeHTTP(tee, r)
		} else {
			next.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		}

		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			return // a CORS preflight: answered before routing, for every path
		}
		probe := r.Clone(context.Background())
		probe.Body = io.NopCloser(bytes.NewReader(reqBody))
		head := r.Method == http.MethodHead
		if head {
			probe.Method = http.MethodGet // HEAD is GET without the body
		}
		route, params, err := router.FindRoute(probe)
		if err != nil {
			if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
				h.report("%s %s answered %d but is not in the OpenAPI document", r.Method, r.URL.Path, rec.Code)
			}
			checkProblem(h.report, r, rec)
			return
		}
		if rec.Code >= 400 {
			checkProblem(h.report, r, rec)
		}
		in := &openapi3filter.RequestValidationInput{
			Request: probe, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
			Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
			// An event stream's body is checked by the stream tests, event by event.
			Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: head || (streaming && rec.Code == http.StatusOK)},
		})
		if err != nil {
			h.report("%s %s -> %d does not match the OpenAPI document: %v\nbody: %s", r.Method, r.URL.Path, rec.Code, err, rec.Body.String())
		}
	})
}

// checkProblem fails the test unless an error answer is problem+json with a code.
func checkProblem(report func(string, ...any), r *http.Request, rec *httptest.ResponseRecorder) {
	if rec.Code < 400 {
		return
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		report("%s %s -> %d with Content-Type %q, want application/problem+json", r.Method, r.URL.Path, rec.Code, ct)
		return
	}
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code == "" || p.Status != rec.Code {
		report("%s %s -> %d: bad problem body %s", r.Method, r.URL.Path, rec.Code, rec.Body.String())
	}
}

// metrics is the server's /metrics page, as GAVEL_METRICS_ADDR serves it.
func (h *harness) metrics() string {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.api.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(h.t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// client is one browser: it keeps its cookies.
type client struct {
	h       *harness
	http    *http.Client
	headers map[string]string
}

func (h *harness) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{h: h, http: &http.Client{Jar: jar}, headers: map[string]string{}}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

func (r response) problemCode(t *testing.T) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	r.decode(t, &p)
	return p.Code
}

// do sends a request; a non-nil body that is not a string or []byte is sent as JSON.
// headers are name, value pairs.
func (c *client) do(method, path string, body any, headers ...string) response {
	c.h.t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, contentType = strings.NewReader(b), "application/json"
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		require.NoError(c.h.t, err)
		rd, contentType = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, c.h.srv.URL+path, rd)
	require.NoError(c.h.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := c.http.Do(req)
	require.NoError(c.h.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.h.t, err)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

var userSeq struct {
	sync.Mutex
	n int
}

// signUp creates a user with a unique email and returns the email and password.
func (h *harness) signUp(nickname string) (email, password string) {
	h.t.Helper()
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	email, password = fmt.Sprintf("%s%d@example.com", strings.ToLower(nickname), n), "secret-password"
	res := h.retryBusy(func() response {
		return h.client().do("POST", "/api/v1/users", map[string]string{
			"email": email, "password": password, "nickname": nickname, "birth_date": "1990-04-02", "gender": "female",
		})
	})
	require.Equal(h.t, http.StatusCreated, res.status, "sign up: %s", res.body)
	return email, password
}

// retryBusy sends a request that hashes a password again while it is answered 503 busy,
// as a client told Retry-After does: the suite's parallel tests sign up and log in at
// once, on a machine whose cores the race detector slows, and password hashing is bounded
// (one per core, a second's wait; TestPasswordHashingIsBounded tests that bound).
func (h *harness) retryBusy(send func() response) response {
	h.t.Helper()
	res := send()
	for range 20 {
		if res.status != http.StatusServiceUnavailable || res.problemCode(h.t) != "busy" {
			break
		}
		time.Sleep(200 * time.Millisecond)
		res = send()
	}
	return res
}

// login signs up a new user and returns a client that is logged in as them.
func (h *harness) login(nickname string) *client {
	h.t.Helper()
	email, password := h.signUp(nickname)
	c := h.client()
	res := h.retryBusy(func() response {
		return c.do("POST", "/api/v1/sessions", map[string]string{"email": email, "password": password})
	})
	require.Equal(h.t, http.StatusOK, res.status, "login: %s", res.body)
	return c
}

// loginAdmin returns a client logged in as a new admin.
func (h *harness) loginAdmin() *client {
	h.t.Helper()
	email, password := h.signUp("admin")
	require.NoError(h.t, (&auction.Accounts{DB: h.db}).Promote(context.Background(), email))
	c := h.client()
	res := h.retryBusy(func() response {
		return c.do("POST", "/api/v1/sessions", map[string]string{"email": email, "password": password})
	})
	require.Equal(h.t, http.StatusOK, res.status)
	return c
}

// teeWriter passes a response through while recording its status, headers and first
// 64 KiB.
type teeWriter struct {
	http.ResponseWriter
	rec   *httptest.ResponseRecorder
	wrote bool
}

func (t *teeWriter) WriteHeader(code int) {
	if t.wrote {
		return
	}
	t.wrote = true
	for k, v := range t.ResponseWriter.Header() {
		t.rec.Header()[k] = v
	}
	t.rec.WriteHeader(code)
	t.ResponseWriter.WriteHeader(code)
}

func (t *teeWriter) Write(b []byte) (int, error) {
	t.WriteHeader(http.StatusOK)
	if t.rec.Body.Len() < 64<<10 {
		t.rec.Body.Write(b)
	}
	return t.ResponseWriter.Write(b)
}

func (t *teeWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
