package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// devEnv is the environment of a `gavel dev` for tests: the real servers when the test
// run has them, the embedded ones otherwise.
func devEnv(t testing.TB, empty bool) map[string]string {
	env := map[string]string{
		"GAVEL_DATA_DIR": t.TempDir(), "GAVEL_HTTP_ADDR": "127.0.0.1:0", "GAVEL_LOG_LEVEL": "warn",
		"GAVEL_METRICS_ADDR": "127.0.0.1:0",
	}
	if testenv.Postgres() {
		if empty {
			env["DATABASE_URL"] = testenv.EmptyDatabaseURL(t)
		} else {
			env["DATABASE_URL"] = testenv.DatabaseURL(t)
		}
	}
	if u := testenv.RedisURLIfReal(t); u != "" {
		env["REDIS_URL"] = u
	}
	return env
}

// startDev runs `gavel dev` and returns the API's base URL and a stop function that
// returns run's error.
func startDev(t testing.TB, env map[string]string) (string, func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev"}, func(k string) string { return env[k] }, pw, io.Discard)
		pw.Close()
	}()
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`Gavel API\s+(http://\S+)/api/v1`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
	}()
	select {
	case u := <-base:
		return u, func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("gavel dev stopped: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("gavel dev did not print its address in 30 s")
	}
	return "", nil
}

func waitReady(t testing.TB, base string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("not ready in 30 s")
}

func TestDevServesAndStopsCleanly(t *testing.T) {
	base, stop := startDev(t, devEnv(t, true))
	waitReady(t, base)
	res, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)

	body := `{"email":"dev@example.com","password":"password1","nickname":"dev","birth_date":"2000-01-01","gender":"other"}`
	res, err = http.Post(base+"/api/v1/users", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusCreated, res.StatusCode)

	// A 100 KB method (or any request head over 64 KiB) is refused by the server before it
	// reaches a handler, a log line or a metric (the default limit was 1 MB).
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	_, err = conn.Write([]byte(strings.Repeat("Z", 100<<10) + " /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	big, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	big.Body.Close()
	conn.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, big.StatusCode)
	require.NoError(t, stop(), "a cancelled dev shuts down without error")
}

// A restart of `gavel dev` logs nobody out: its secret and its sessions are kept in
// GAVEL_DATA_DIR (before, each start made a new secret and the in-process Redis forgot
// the sessions).
func TestDevRestartKeepsSessions(t *testing.T) {
	env := devEnv(t, true)
	base, stop := startDev(t, env)
	waitReady(t, base)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	body := `{"email":"stay@example.com","password":"password1","nickname":"stay","birth_date":"2000-01-01","gender":"other"}`
	res, err := hc.Post(base+"/api/v1/users", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	res.Body.Close()
	res, err = hc.Post(base+"/api/v1/sessions", "application/json", strings.NewReader(`{"email":"stay@example.com","password":"password1"}`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NoError(t, stop())

	env["GAVEL_HTTP_ADDR"] = strings.TrimPrefix(base, "http://") // the cookie's host
	base2, stop2 := startDev(t, env)
	defer func() { require.NoError(t, stop2()) }()
	waitReady(t, base2)
	res, err = hc.Get(base2 + "/api/v1/me")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "still logged in after the restart")
}

// `gavel api` does not start without a session secret: instances would reject each
// other's cookies and cursors, and every restart would log everyone out.
func TestAPINeedsASessionSecret(t *testing.T) {
	t.Parallel()
	env := devEnv(t, false)
	if env["REDIS_URL"] == "" {
		env["REDIS_URL"] = "redis://127.0.0.1:1/0" // never reached: the check comes first
	}
	require.NoError(t, run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, io.Discard))
	err := run(context.Background(), []string{"api"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "GAVEL_SESSION_SECRET")
}

func TestCommands(t *testing.T) {
	t.Parallel()
	env := devEnv(t, false)
	getenv := func(k string) string { return env[k] }
	exec := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, getenv, &out, io.Discard)
		return out.String(), err
	}
	out, err := exec("migrate")
	require.NoError(t, err)
	assert.Contains(t, out, "migrations applied")

	_, err = exec("user", "promote", "nobody@example.com")
	assert.Error(t, err, "promoting an unknown user fails")
	_, err = exec("user", "promote")
	assert.Equal(t, 2, exitCode(err))

	_, err = exec("scheduler", "--once")
	assert.NoError(t, err)
	_, err = exec("scheduler", "--once", "purge-idempotency-keys")
	assert.NoError(t, err)
	_, err = exec("scheduler", "--once", "no-such-job")
	assert.Equal(t, 2, exitCode(err))
	_, err = exec("launch-rockets")
	assert.Equal(t, 2, exitCode(err))
	noRedis := map[string]string{"DATABASE_URL": env["DATABASE_URL"], "GAVEL_DATA_DIR": env["GAVEL_DATA_DIR"]}
	err = run(context.Background(), []string{"worker"}, func(k string) string { return noRedis[k] }, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "REDIS_URL", "production roles need a real Redis")
	out, err = exec("help")
	assert.NoError(t, err)
	assert.Contains(t, out, "usage: gavel")

	badEnv := map[string]string{"GAVEL_BATCH_EVERY": "soon", "DATABASE_URL": "mysql://x"}
	err = run(context.Background(), []string{"dev"}, func(k string) string { return badEnv[k] }, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "GAVEL_BATCH_EVERY")
	assert.ErrorContains(t, err, "DATABASE_URL")
}

func TestDevPromotedAdminSeesDashboard(t *testing.T) {
	env := devEnv(t, false)
	env["GAVEL_DATA_DIR"] = t.TempDir()
	base, stop := startDev(t, env)
	defer func() { require.NoError(t, stop()) }()
	waitReady(t, base)
	post := func(path, body string, cookie string) *http.Response {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	res := post("/api/v1/users", `{"email":"boss@example.com","password":"password1","nickname":"boss","birth_date":"1970-01-01","gender":"male"}`, "")
	require.Equal(t, http.StatusCreated, res.StatusCode)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"user", "promote", "BOSS@example.com"}, func(k string) string { return env[k] }, &out, io.Discard))
	res = post("/api/v1/sessions", `{"email":"boss@example.com","password":"password1"}`, "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	cookie := strings.Split(res.Header.Get("Set-Cookie"), ";")[0]
	req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
	req.Header.Set("Cookie", cookie)
	r, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var me struct{ Role string }
	require.NoError(t, json.NewDecoder(r.Body).Decode(&me))
	r.Body.Close()
	assert.Equal(t, "admin", me.Role)
	req, _ = http.NewRequest("GET", base+"/ops/asynq/", nil)
	req.Header.Set("Cookie", cookie)
	r, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusOK, r.StatusCode)
}

// BenchmarkDevStartup measures `gavel dev` from start to a 200 on /readyz, on a fresh
// data directory each time (embedded defaults unless TEST_* point at real servers).
func BenchmarkDevStartup(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		env := devEnv(b, true)
		b.StartTimer()
		base, stop := startDev(b, env)
		waitReady(b, base)
		b.StopTimer()
		if err := stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Parallel()
	env := func(k string) string { return map[string]string{"GAVEL_DATA_DIR": t.TempDir()}[k] }
	for _, cmd := range [][]string{
		{"dev"}, {"api"}, {"worker"}, {"scheduler"}, {"migrate"}, {"seed"}, {"user"}, {"recommender"},
		{"bench"}, {"bench", "list"}, {"bench", "bids"}, {"bench", "settle"}, {"bench", "sse"}, {"bench", "logins"},
	} {
		for _, flag := range []string{"--help", "-h"} {
			var out bytes.Buffer
			args := append(append([]string{}, cmd...), flag)
			err := run(context.Background(), args, env, &out, io.Discard)
			require.NoError(t, err, "%v", args)
			assert.Contains(t, out.String(), "usage: gavel "+strings.Join(cmd, " "), "%v", args)
		}
	}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"seed", "-h"}, env, &out, io.Discard))
	assert.Contains(t, out.String(), "-auctions", "a command with flags lists them")
}

// TestBenchListRoundsAreSummed runs the listing benchmark in rounds against a stand-in
// API: every round runs each scenario, and the summary compares each with newest.
func TestBenchListRoundsAreSummed(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, `{"items":[]}`)
	}))
	defer srv.Close()
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "list", "--url", srv.URL, "--scenario", "newest,search",
		"--rounds", "2", "--duration", "100ms", "--warmup", "0", "--clients", "2"}, func(string) string { return "" }, &out, io.Discard)
	require.NoError(t, err)
	text := out.String()
	assert.Contains(t, text, "round 1 of 2")
	assert.Contains(t, text, "round 2 of 2")
	assert.Equal(t, 6, strings.Count(text, " req/s  mean "), "a line per scenario and round, then the two sums:\n%s", text)
	assert.Regexp(t, `(?m)^newest .* req/s .*errors 0  100\.0 % of newest$`, text)
	assert.Regexp(t, `(?m)^search .* req/s .*errors 0  \d+\.\d % of newest$`, text)
	assert.Positive(t, hits.Load())
	err = run(context.Background(), []string{"bench", "list", "--url", srv.URL, "--rounds", "0"}, func(string) string { return "" }, &out, io.Discard)
	assert.ErrorIs(t, err, errUsage)
}

func TestSeedSaysHowToLogIn(t *testing.T) {
	t.Parallel()
	env := devEnv(t, false)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"seed", "--auctions", "20", "--users", "3"},
		func(k string) string { return env[k] }, &out, io.Discard))
	m := regexp.MustCompile(`log in as (seed-(\d+)@example\.com) \.\.\. seed-(\d+)@example\.com with password "gavel-demo"; each holds 100000 points`).
		FindStringSubmatch(out.String())
	require.NotNil(t, m, "%s", out.String())
	first, last := m[2], m[3]
	assert.NotEqual(t, first, last)

	// The printed account logs in and holds the points.
	base, stop := startDev(t, env)
	defer func() { require.NoError(t, stop()) }()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	res, err := hc.Post(base+"/api/v1/sessions", "application/json",
		strings.NewReader(`{"email":"`+m[1]+`","password":"gavel-demo"}`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, err = hc.Get(base + "/api/v1/me")
	require.NoError(t, err)
	defer res.Body.Close()
	var me struct {
		Points struct {
			Available int64 `json:"available"`
		} `json:"points"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&me))
	assert.EqualValues(t, 100000, me.Points.Available)
}

func TestRecommenderServesMetrics(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = serveRecommender(ctx, testenv.Discard(), testenv.DB(t), ln) }()
	res, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	res, err = http.Get("http://" + ln.Addr().String() + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, _ := io.ReadAll(res.Body)
	assert.Contains(t, string(body), `gavel_recommender_requests_total{code="200"} 1`)
	assert.Contains(t, string(body), "go_goroutines")
}
