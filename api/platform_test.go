package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEveryServedRouteIsDocumented(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	router, err := openAPI()
	require.NoError(t, err)
	param := regexp.MustCompile(`:([a-z_]+)`)
	for _, r := range h.api.Routes() {
		path := param.ReplaceAllString(r.Path, "{$1}")
		if strings.Contains(path, "*") {
			path = path[:strings.Index(path, "*")] + "any" // a catch-all is documented as {path}
		}
		req, _ := http.NewRequest(r.Method, "http://gavel.test"+path, nil)
		if _, _, err := router.FindRoute(req); err != nil {
			t.Errorf("%s %s is served but not in the OpenAPI document: %v", r.Method, r.Path, err)
		}
	}
}

func TestOperationsEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.client()
	assert.Equal(t, http.StatusOK, c.do("GET", "/healthz", nil).status)
	assert.Equal(t, http.StatusOK, c.do("GET", "/readyz", nil).status)

	res := c.do("GET", "/openapi.json", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, string(res.body), `"openapi":"3.0.3"`)
	res = c.do("GET", "/docs", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, res.header.Get("Content-Type"), "text/html")
	assert.NotRegexp(t, `(?i)(src|href)="https?://`, string(res.body), "the docs page works offline")

	c.do("GET", "/api/v1/me", nil)
	res = c.do("GET", "/metrics", nil)
	require.Equal(t, http.StatusNotFound, res.status, "/metrics is served on GAVEL_METRICS_ADDR, not on the API listener")
	body := h.metrics()
	assert.Contains(t, body, `gavel_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1`)
	assert.Contains(t, body, "gavel_http_request_duration_seconds_bucket")
	assert.Contains(t, body, `go_sql_max_open_connections{db_name="gavel"}`, "database pool metrics")
}

func TestDashboardIsForAdminsOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	assert.Equal(t, http.StatusUnauthorized, h.client().do("GET", "/ops/asynq/", nil).status)
	assert.Equal(t, http.StatusForbidden, h.login("plain").do("GET", "/ops/asynq/", nil).status)
	res := h.loginAdmin().do("GET", "/ops/asynq/", nil)
	assert.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, string(res.body), "<html")
}

func TestReadyzFailsWhenADependencyIsDown(t *testing.T) {
	t.Parallel()
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		require.NoError(t, h.redis.Close())
		res := h.client().do("GET", "/readyz", nil)
		assert.Equal(t, http.StatusServiceUnavailable, res.status)
		assert.Equal(t, "not_ready", res.problemCode(t))
		assert.Equal(t, http.StatusOK, h.client().do("GET", "/healthz", nil).status)
	})
	t.Run("database", func(t *testing.T) {
		t.Parallel()
		d := testenv.DB(t)
		rdb := testenv.Redis(t)
		h := startServer(t, d, rdb)
		require.NoError(t, d.Close())
		res := h.client().do("GET", "/readyz", nil)
		assert.Equal(t, http.StatusServiceUnavailable, res.status)
	})
}

// TestOpenAPICheckCatchesDrift makes sure the response checker every API test relies on
// does fail on a response that drifted from the document.
func TestOpenAPICheckCatchesDrift(t *testing.T) {
	t.Parallel()
	var reports []string
	h := &harness{t: t, report: func(format string, args ...any) { reports = append(reports, fmt.Sprintf(format, args...)) }}
	drifted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status": 5}`)) // status must be a string
		case "/api/v1/me":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("boom")) // not problem+json
		default:
			w.WriteHeader(http.StatusOK) // a route the document does not have
		}
	})
	srv := httptest.NewServer(h.checkAgainstOpenAPI(drifted))
	defer srv.Close()
	for _, p := range []string{"/healthz", "/api/v1/me", "/api/v1/undocumented"} {
		res, err := http.Get(srv.URL + p)
		require.NoError(t, err)
		res.Body.Close()
	}
	require.Len(t, reports, 4, "%v", reports)
	assert.Contains(t, reports[0], "/healthz")
	assert.Contains(t, strings.Join(reports[1:3], "\n"), "problem+json")
	assert.Contains(t, reports[3], "not in the OpenAPI document")
}
