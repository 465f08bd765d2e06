package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/imagestore"
	"github.com/gavelhq/gavel/jobs"
	"github.com/gavelhq/gavel/testenv"
	"golang.org/x/net/http/httpguts"
)

// FuzzRouter sends random requests to the whole API, the way net/http would hand them
// over from a connection: random methods, paths, query strings, headers (Content-Type,
// Origin, Cookie, Range, odd bytes) and bodies, as nobody, a signed-in user, an admin or a
// forged session. It fails on any 5xx other than a 503 with Retry-After, and on any panic.
//
// One server on the embedded stack (SQLite and an in-process Redis) serves every input of a
// process; the requests go through ServeHTTP, no network. Paths may contain the
// placeholders {auction} (a started auction of the user's), {ready} (a READY one with an
// image), {image} and {bid} (the admin's bid on {auction}), which are replaced by the ids.
func FuzzRouter(f *testing.F) {
	fx := newRouterFixture(f)
	for _, s := range fx.seeds() {
		f.Add(s.method, s.path, s.query, s.contentType, s.origin, s.headers, s.auth, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, query, contentType, origin, headers string, auth uint8, body []byte) {
		fx.check(t, method, path, query, contentType, origin, headers, auth, body)
	})
}

// Who a fuzzed request is sent as (auth modulo 4).
const (
	asNobody uint8 = iota
	asUser
	asAdmin
	asForged
)

type routerSeed struct {
	method, path, query, contentType, origin, headers string
	auth                                              uint8
	body                                              []byte
}

// routerFixture is the server and what lives in it: two signed-in accounts, auctions, an
// image and a bid.
type routerFixture struct {
	tb     testing.TB
	srv    *api.Server
	accts  *auction.Accounts
	errors *lockedLog

	mu     sync.Mutex
	ids    map[string]string // placeholder -> id
	user   string            // session cookie values
	admin  string
	extras int // accounts made so far, for their e-mails and client IPs
}

// fuzzClientIP is where fuzzed requests come from; the fixture's own requests come from
// other addresses, so that the per-IP limits the fuzzer runs into do not stop them.
const fuzzClientIP = "203.0.113.7:40000"

// A 1x1 GIF.
var fuzzGIF, _ = base64.StdEncoding.DecodeString("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")

func newRouterFixture(tb testing.TB) *routerFixture {
	tb.Helper()
	d := testenv.DB(tb)
	rdb := testenv.Redis(tb)
	tb.Cleanup(func() { rdb.Close() })
	images, err := imagestore.NewDir(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	errs := &lockedLog{}
	s, err := api.NewServer(api.Deps{
		// Errors (a recovered panic, a failed query) are kept to explain a failure.
		Log: slog.New(slog.NewTextHandler(errs, &slog.HandlerOptions{Level: slog.LevelError})),
		DB:  d, Redis: rdb, SessionSecret: testSecret,
		Dashboard: jobs.Dashboard(rdb, "/ops/asynq"), Images: images,
		StreamWriteTimeout: time.Second, Heartbeat: time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	select {
	case <-s.LiveReady():
	case <-time.After(10 * time.Second):
		tb.Fatal("the live hub did not subscribe")
	}
	fx := &routerFixture{tb: tb, srv: s, accts: &auction.Accounts{DB: d}, errors: errs, ids: map[string]string{}}
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.user = fx.newAccount(false)
	fx.admin = fx.newAccount(true)
	fx.charge(fx.user)
	fx.charge(fx.admin)
	fx.ids["{auction}"] = fx.newAuction(0)
	fx.ids["{ready}"] = fx.newAuction(time.Hour)
	fx.ids["{image}"] = fx.newImage()
	fx.ids["{bid}"] = fx.newBid()
	return fx
}

// do sends one request of the fixture's own from a client IP of its own.
func (fx *routerFixture) do(method, target, cookie, contentType string, body []byte, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.RemoteAddr = fmt.Sprintf("198.18.%d.%d:1234", fx.extras/250, fx.extras%250+1)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "gavel_session", Value: cookie})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	fx.srv.ServeHTTP(rec, req)
	return rec
}

func (fx *routerFixture) must(rec *httptest.ResponseRecorder, want int, what string) {
	if rec.Code != want {
		fx.tb.Fatalf("fuzz fixture: %s: %d %s", what, rec.Code, rec.Body.String())
	}
}

func (fx *routerFixture) jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		fx.tb.Fatal(err)
	}
	return b
}

func (fx *routerFixture) idOf(rec *httptest.ResponseRecorder) string {
	var out struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.ID == 0 {
		fx.tb.Fatalf("fuzz fixture: no id in %s", rec.Body.String())
	}
	return strconv.FormatInt(out.ID, 10)
}

// newAccount signs up a new user, promoted to admin if asked, and returns its session.
func (fx *routerFixture) newAccount(admin bool) string {
	fx.extras++
	email := fmt.Sprintf("fuzz-%d@example.com", fx.extras)
	const password = "fuzz-password"
	fx.must(fx.do("POST", "/api/v1/users", "", "application/json", fx.jsonBody(map[string]string{
		"email": email, "password": password, "nickname": "fuzz", "birth_date": "1990-04-02", "gender": "female",
	})), http.StatusCreated, "sign up")
	if admin {
		if err := fx.accts.Promote(context.Background(), email); err != nil {
			fx.tb.Fatal(err)
		}
	}
	rec := fx.do("POST", "/api/v1/sessions", "", "application/json", fx.jsonBody(map[string]string{"email": email, "password": password}))
	fx.must(rec, http.StatusOK, "log in")
	for _, c := range rec.Result().Cookies() {
		if c.Name == "gavel_session" && c.Value != "" {
			return c.Value
		}
	}
	fx.tb.Fatal("fuzz fixture: login set no session cookie")
	return ""
}

func (fx *routerFixture) charge(cookie string) {
	fx.must(fx.do("POST", "/api/v1/me/points/charges", cookie, "application/json", []byte(`{"amount":100000}`),
		"Idempotency-Key", fmt.Sprintf("fuzz-charge-%d", fx.extras)), http.StatusCreated, "charge")
}

// newAuction lists an auction of the user's that starts `in` from now.
func (fx *routerFixture) newAuction(in time.Duration) string {
	start := time.Now().Add(in).UTC()
	rec := fx.do("POST", "/api/v1/auctions", fx.user, "application/json", fx.jsonBody(map[string]any{
		"name": "Fuzzed telescope", "description": "Brass,\nwith a case", "start_price": 100,
		"start_at": start.Format(time.RFC3339), "end_at": start.Add(24 * time.Hour).Format(time.RFC3339),
	}))
	fx.must(rec, http.StatusCreated, "create auction")
	return fx.idOf(rec)
}

func (fx *routerFixture) newImage() string {
	ct, body := multipartImage(fuzzGIF)
	rec := fx.do("POST", "/api/v1/auctions/"+fx.ids["{ready}"]+"/images", fx.user, ct, body)
	fx.must(rec, http.StatusCreated, "upload image")
	return fx.idOf(rec)
}

func (fx *routerFixture) newBid() string {
	rec := fx.do("POST", "/api/v1/auctions/"+fx.ids["{auction}"]+"/bids", fx.admin, "application/json", []byte(`{"amount":100}`))
	if rec.Code != http.StatusCreated && rec.Code != http.StatusAccepted {
		// The auction may not have been opened yet; /bids/{bid} then exercises a 404.
		return "1"
	}
	return fx.idOf(rec)
}

// repair puts back what a fuzzed request may have taken away (a session logged out, an
// auction or image deleted), so that later inputs still reach those routes.
func (fx *routerFixture) repair() {
	if fx.do("GET", "/api/v1/me", fx.user, "", nil).Code == http.StatusUnauthorized {
		fx.user = fx.newAccount(false)
		fx.charge(fx.user)
	}
	if fx.do("GET", "/api/v1/me", fx.admin, "", nil).Code == http.StatusUnauthorized {
		fx.admin = fx.newAccount(true)
		fx.charge(fx.admin)
	}
	if fx.do("GET", "/api/v1/auctions/"+fx.ids["{auction}"], "", "", nil).Code == http.StatusNotFound {
		fx.ids["{auction}"] = fx.newAuction(0)
		fx.ids["{bid}"] = fx.newBid()
	}
	if fx.do("GET", "/api/v1/auctions/"+fx.ids["{ready}"], "", "", nil).Code == http.StatusNotFound {
		fx.ids["{ready}"] = fx.newAuction(time.Hour)
		fx.ids["{image}"] = fx.newImage()
	} else if fx.do("GET", "/api/v1/images/"+fx.ids["{image}"], "", "", nil).Code == http.StatusNotFound {
		fx.ids["{image}"] = fx.newImage()
	}
}

func (fx *routerFixture) fill(s string) string {
	for k, v := range fx.ids {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// maxHead is how much of a request's head net/http reads before it answers 431 itself
// (http.DefaultMaxHeaderBytes plus its slack).
const maxHead = http.DefaultMaxHeaderBytes + 4096

// request builds the request net/http would hand to the handler for these bytes on a
// connection, or reports false when net/http would refuse them itself (a 400 or 431 of
// its own: an invalid method, request line, header name or value, or Host).
func (fx *routerFixture) request(method, path, query, contentType, origin, headers string, auth uint8, body []byte) (*http.Request, bool) {
	target := fx.fill(path)
	if query != "" {
		target += "?" + fx.fill(query)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: gavel.test\r\n", method, target)
	if contentType != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", contentType)
	}
	if origin != "" {
		fmt.Fprintf(&b, "Origin: %s\r\n", origin)
	}
	switch auth % 4 {
	case asUser:
		fmt.Fprintf(&b, "Cookie: gavel_session=%s\r\n", fx.user)
	case asAdmin:
		fmt.Fprintf(&b, "Cookie: gavel_session=%s\r\n", fx.admin)
	case asForged:
		b.WriteString("Cookie: gavel_session=MTcwMDAwMDAwMHxmb3JnZWR8AAAA; other=1\r\n")
	}
	framed := false
	for line := range strings.SplitSeq(headers, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		name, _, _ := strings.Cut(line, ":")
		if n := strings.ToLower(strings.TrimSpace(name)); n == "content-length" || n == "transfer-encoding" {
			framed = true
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	if !framed {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	if b.Len() > maxHead {
		return nil, false
	}
	b.Write(body)
	req, err := http.ReadRequest(bufio.NewReader(&b))
	if err != nil || req.ProtoMajor != 1 {
		return nil, false
	}
	// What net/http's server checks after parsing (http.ReadRequest has moved the one
	// Host header it allows to req.Host).
	if req.Host == "" || !httpguts.ValidHostHeader(req.Host) {
		return nil, false
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return nil, false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, false
			}
		}
	}
	req.RemoteAddr = fuzzClientIP
	return req, true
}

// fuzzRequestTimeout is how long a fuzzed request may take before its client is taken to
// have gone away (an answer written after that is not checked: no client would read it).
const fuzzRequestTimeout = 3 * time.Second

func (fx *routerFixture) check(t *testing.T, method, path, query, contentType, origin, headers string, auth uint8, body []byte) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	req, ok := fx.request(method, path, query, contentType, origin, headers, auth, body)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), fuzzRequestTimeout)
	defer cancel()
	w := &streamRecorder{ResponseRecorder: httptest.NewRecorder(), ctx: ctx, cancel: cancel}
	fx.errors.reset()
	start := time.Now()
	fx.srv.ServeHTTP(w, req.WithContext(ctx))
	took := time.Since(start)

	code := w.Code
	if !w.late {
		if code >= 500 && (code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "") {
			t.Fatalf("%.200q %.300q -> %d after %s\nrequest headers: %.500q\nbody: %.500q\nanswer: %.1000s\nserver errors: %.2000s",
				req.Method, req.RequestURI, code, took, req.Header, body, w.Body.String(), fx.errors.String())
		}
	}
	if took > fuzzHang {
		t.Fatalf("%.200q %.300q -> %d took %s, long after its client went away (%s)\nrequest headers: %.500q\nbody: %.500q",
			req.Method, req.RequestURI, code, took, fuzzRequestTimeout, req.Header, body)
	}
	// A logout, a deletion or a change may have taken a fixture away.
	if auth%4 == asUser || auth%4 == asAdmin {
		if m := req.Method; code < 300 && m != http.MethodGet && m != http.MethodHead && m != http.MethodPost {
			start := time.Now()
			fx.repair()
			if took := time.Since(start); took > fuzzHang {
				t.Fatalf("putting the fixture back after %.200q %.300q took %s", req.Method, req.RequestURI, took)
			}
		}
	}
}

// fuzzHang is how long an input may take at most: a request that goes on this long after
// its client's deadline does not notice that the client went away.
const fuzzHang = fuzzRequestTimeout + 7*time.Second

// streamRecorder records an answer; when the handler flushes (an event stream has sent its
// status), the request's context is cancelled as if the client had read enough and gone,
// so that the stream ends and the next input can run.
type streamRecorder struct {
	*httptest.ResponseRecorder
	ctx    context.Context
	cancel context.CancelFunc
	wrote  bool
	late   bool // the status was written after the client had gone
}

func (w *streamRecorder) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.late = w.ctx.Err() != nil
	}
	w.ResponseRecorder.WriteHeader(code)
}

func (w *streamRecorder) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseRecorder.Write(b)
}

func (w *streamRecorder) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.ResponseRecorder.Flush()
	w.cancel()
}

// lockedLog keeps what the server logged during one input.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 64<<10 {
		l.buf.Write(p)
	}
	return len(p), nil
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *lockedLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

func multipartImage(data []byte) (contentType string, body []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.SetBoundary("fuzzboundary")
	part, _ := mw.CreateFormFile("image", "photo.gif")
	_, _ = part.Write(data)
	_ = mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

// seeds are a request for every route of the router, with its ids and a body that works,
// and hostile ones.
func (fx *routerFixture) seeds() []routerSeed {
	future := time.Now().Add(time.Hour).UTC()
	times := fmt.Sprintf(`"start_at":%q,"end_at":%q`, future.Format(time.RFC3339), future.Add(24*time.Hour).Format(time.RFC3339))
	imageCT, imageBody := multipartImage(fuzzGIF)
	const jsonCT = "application/json"

	var out []routerSeed
	for _, rt := range fx.srv.Routes() {
		s := routerSeed{method: rt.Method, auth: asUser}
		path := rt.Path
		switch {
		case strings.HasPrefix(path, "/ops/"):
			s.auth = asAdmin
			path = strings.Replace(path, "*path", "api/queues", 1)
			if rt.Method == http.MethodPost {
				path = "/ops/asynq/api/queues/low:pause"
			}
		case strings.Contains(path, "/images/:image_id"), strings.Contains(path, "/:id/images"):
			path = strings.Replace(path, ":id", "{ready}", 1)
		case strings.HasPrefix(path, "/api/v1/images/"):
			path = strings.Replace(path, ":id", "{image}", 1)
		case strings.HasPrefix(path, "/api/v1/bids/"):
			path = strings.Replace(path, ":id", "{bid}", 1)
			s.auth = asAdmin
		}
		path = strings.Replace(path, ":image_id", "{image}", 1)
		path = strings.Replace(path, ":id", "{auction}", 1)
		s.path = path
		switch {
		case rt.Method == http.MethodPost && path == "/api/v1/users":
			s.auth, s.contentType = asNobody, jsonCT
			s.body = []byte(`{"email":"seed@example.com","password":"correct horse","nickname":"seed","birth_date":"1990-05-01","gender":"female"}`)
		case rt.Method == http.MethodPost && path == "/api/v1/sessions":
			s.auth, s.contentType = asNobody, jsonCT
			s.body = []byte(`{"email":"fuzz-1@example.com","password":"fuzz-password"}`)
		case rt.Method == http.MethodPost && path == "/api/v1/auctions":
			s.contentType = jsonCT
			s.body = []byte(`{"name":"Seed lamp","description":"Lights","start_price":10,` + times + `}`)
		case rt.Method == http.MethodPatch:
			s.contentType = jsonCT
			s.body = []byte(`{"name":"Renamed","description":"Still works"}`)
		case strings.HasSuffix(path, "/images") && rt.Method == http.MethodPost:
			s.contentType, s.body = imageCT, imageBody
		case strings.HasSuffix(path, "/bids") && rt.Method == http.MethodPost:
			s.auth, s.contentType, s.body = asAdmin, jsonCT, []byte(`{"amount":150}`)
			s.headers = "Prefer: wait=0\nIdempotency-Key: seed-bid"
		case strings.HasSuffix(path, "/charges"):
			s.contentType, s.body, s.headers = jsonCT, []byte(`{"amount":50}`), "Idempotency-Key: seed-charge"
		case strings.HasSuffix(path, "/notifications/read"):
			s.contentType, s.body = jsonCT, []byte(`{"up_to_id":1}`)
		case path == "/api/v1/sessions/current":
			s.auth = asForged // a logout of the fuzzer's session costs a new account
		}
		if rt.Method == http.MethodGet && strings.HasPrefix(path, "/api/v1/auctions") && !strings.Contains(path, "{") {
			s.query = "q=telescope&sort=ending_soon&status=READY&limit=10"
		}
		out = append(out, s)
	}

	huge := strings.Repeat("X", 64<<10)
	body := func(s string) []byte { return []byte(s) }
	out = append(out,
		// NUL and other control characters where the application sees them.
		routerSeed{method: "GET", path: "/api/v1/auctions", query: "q=%00"},
		routerSeed{method: "GET", path: "/api/v1/auctions", query: "q=a%01b&sort=%00&status=%1b"},
		routerSeed{method: "GET", path: "/api/v1/auctions/%00"},
		routerSeed{method: "POST", path: "/api/v1/users", contentType: jsonCT,
			body: body(`{"email":"nul@example.com","password":"correct horse","nickname":"a\u0000b","birth_date":"1990-05-01","gender":"female"}`)},
		routerSeed{method: "POST", path: "/api/v1/users", contentType: jsonCT,
			body: body(`{"email":"n\u0000l@example.com","password":"correct\u0000horse","nickname":"nul","birth_date":"1990-05-01\u0000","gender":"fe\u0000male"}`)},
		routerSeed{method: "POST", path: "/api/v1/sessions", contentType: jsonCT,
			body: body(`{"email":"fuzz-1\u0000@example.com","password":"fuzz-password"}`)},
		routerSeed{method: "POST", path: "/api/v1/auctions", auth: asUser, contentType: jsonCT,
			body: body(`{"name":"Lamp\u0000","description":"Lights","start_price":10,` + times + `}`)},
		routerSeed{method: "POST", path: "/api/v1/auctions", auth: asUser, contentType: jsonCT,
			body: body(`{"name":"Lamp","description":"Li\u0000ghts\u001b","start_price":10,` + times + `}`)},
		routerSeed{method: "PATCH", path: "/api/v1/auctions/{ready}", auth: asUser, contentType: jsonCT,
			body: body(`{"name":"\u0000","description":"\u0000"}`)},
		routerSeed{method: "POST", path: "/api/v1/me/points/charges", auth: asUser, contentType: jsonCT,
			body: body(`{"amount":5}`), headers: "Idempotency-Key: caf\xc3\xa9\xff"},
		// Bytes a header may carry past net/http, and headers the routes read.
		routerSeed{method: "GET", path: "/api/v1/images/{image}", headers: "Range: bytes=0-\nIf-None-Match: \"\xff\"\nIf-Modified-Since: yesterday"},
		routerSeed{method: "GET", path: "/api/v1/images/{image}", headers: "Range: bytes=99999999999999999999-1,-0,5-3"},
		routerSeed{method: "GET", path: "/api/v1/auctions/{auction}/stream", headers: "Last-Event-ID: \xff\xfe\nAccept: text/event-stream"},
		routerSeed{method: "GET", path: "/api/v1/me/notifications/stream", auth: asUser, headers: "Last-Event-ID: 99999999999999999999999"},
		routerSeed{method: "GET", path: "/healthz", headers: "X-Request-ID: \xff" + huge[:100] + "\nX-Forwarded-For: 1.2.3.4, \xff"},
		// Cross-origin and CORS.
		routerSeed{method: "POST", path: "/api/v1/auctions", auth: asUser, origin: "https://evil.example", contentType: jsonCT,
			body: body(`{"name":"Lamp","description":"x","start_price":10,` + times + `}`)},
		routerSeed{method: "POST", path: "/ops/asynq/api/queues/low:pause", auth: asAdmin, origin: "null",
			contentType: "application/x-www-form-urlencoded", headers: "Sec-Fetch-Site: cross-site"},
		routerSeed{method: "OPTIONS", path: "/api/v1/auctions", origin: "https://app.example",
			headers: "Access-Control-Request-Method: POST\nAccess-Control-Request-Headers: content-type, \xff"},
		routerSeed{method: "HEAD", path: "/api/v1/auctions/{auction}"},
		routerSeed{method: "HEAD", path: "/api/v1/images/{image}", headers: "Range: bytes=1-2"},
		// Odd methods and request targets.
		routerSeed{method: "ZZTEST1", path: "/healthz"},
		routerSeed{method: huge, path: "/api/v1/auctions"},
		routerSeed{method: "get", path: "/API/V1/AUCTIONS/"},
		routerSeed{method: "GET", path: "/api/v1/auctions/", query: "%zz=1&q=%"},
		routerSeed{method: "GET", path: "/api/v1//auctions/../me", auth: asUser},
		routerSeed{method: "GET", path: "/api/v1/auctions/99999999999999999999999/bids", query: "limit=-1&cursor=%ff%fe"},
		routerSeed{method: "GET", path: "/api/v1/auctions", query: "limit=9223372036854775808&cursor=" + huge[:2000]},
		routerSeed{method: "GET", path: "*"},
		routerSeed{method: "GET", path: "http://other.example/api/v1/me", auth: asUser},
		// Bodies that lie or do not parse.
		routerSeed{method: "POST", path: "/api/v1/sessions", contentType: jsonCT, headers: "Content-Length: 1000", body: body(`{"email":`)},
		routerSeed{method: "POST", path: "/api/v1/users", contentType: jsonCT, headers: "Transfer-Encoding: chunked", body: body("5\r\n{\"a\":\r\n0\r\n\r\n")},
		routerSeed{method: "POST", path: "/api/v1/auctions/{ready}/images", auth: asUser, contentType: "multipart/form-data; boundary=x",
			body: body("--x\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nGIF89a<html>\r\n--x--")},
		routerSeed{method: "POST", path: "/api/v1/auctions/{ready}/images", auth: asUser, contentType: "multipart/form-data", body: body("--")},
		routerSeed{method: "POST", path: "/api/v1/auctions/{auction}/bids", auth: asAdmin, contentType: "application/json; charset=latin1", body: body(`{"amount":1e400}`)},
		routerSeed{method: "PUT", path: "/api/v1/auctions/{auction}/like", auth: asForged, contentType: "text/plain", body: body("\x00\xff")},
	)
	return out
}
