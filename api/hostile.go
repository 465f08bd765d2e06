package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gavelhq/gavel/limit"
	"github.com/gin-gonic/gin"
)

// Defences against hostile clients (api/openapi.yaml, "Hostile clients"): control characters,
// bodies that never arrive, cross-site forms, CORS, HEAD and bounded metric labels.

// controlChar reports whether s holds a NUL or other control character (C0, DEL or C1);
// allow lists those that are fine (a description's tab and newline).
func controlChar(s, allow string) bool {
	for _, r := range s {
		if (r < 0x20 || (r >= 0x7f && r < 0xa0)) && !strings.ContainsRune(allow, r) {
			return true
		}
	}
	return false
}

// noControlChars refuses a request whose path, query parameters or headers hold a
// control character (a tab is allowed in a header value, as HTTP allows it): 400
// validation_failed naming each one. The JSON bodies are checked where they are read
// (decodeJSON).
func noControlChars(c *gin.Context) {
	var bad badParams
	if controlChar(c.Request.URL.Path, "") {
		bad.add("path", "must not contain control characters")
	}
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		writeProblem(c, invalid("query", "is not a well-formed query string"))
		return
	}
	for _, name := range withControlChars(q, "") {
		bad.add(name, "must not contain control characters")
	}
	for _, name := range withControlChars(c.Request.Header, "\t") {
		bad.add(name, "must not contain control characters")
	}
	if p := bad.problem(); p != nil {
		writeProblem(c, p)
		return
	}
	c.Next()
}

// withControlChars names, sorted and printable, the keys of m whose name or a value holds
// a control character (values may hold those in allow). A clean request allocates nothing.
func withControlChars(m map[string][]string, allow string) []string {
	var bad []string
	for name, values := range m {
		if controlChar(name, "") || slices.ContainsFunc(values, func(v string) bool { return controlChar(v, allow) }) {
			bad = append(bad, printable(name))
		}
	}
	slices.Sort(bad)
	return bad
}

// printable makes a client's name safe to echo in a problem: control characters become
// U+FFFD and it is cut to 64 bytes.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if controlChar(string(r), "") {
			return '\uFFFD'
		}
		return r
	}, s)
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "")
	}
	return s
}

// stringsProblem walks v (a decoded request body) and names every string field that
// holds a control character; fields tagged json:"description" may hold tabs and newlines.
func stringsProblem(v any) *Problem {
	var bad badParams
	walkStrings(reflect.ValueOf(v), "", func(field, s string) {
		allow := ""
		if field == "description" || strings.HasSuffix(field, ".description") {
			allow = "\t\n"
		}
		if controlChar(s, allow) {
			bad.add(field, "must not contain control characters")
		}
	})
	return bad.problem()
}

func walkStrings(v reflect.Value, field string, fn func(field, s string)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), field, fn)
		}
	case reflect.String:
		fn(field, v.String())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" && !f.Anonymous {
				name = f.Name
			}
			if field != "" && name != "" {
				name = field + "." + name
			} else if name == "" {
				name = field
			}
			walkStrings(v.Field(i), name, fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), field, fn)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if iter.Key().Kind() == reflect.String {
				fn(field, iter.Key().String())
			}
			walkStrings(iter.Value(), field, fn)
		}
	}
}

// errBodyTimeout is what reading a request body returns once its time is up.
var errBodyTimeout = errors.New("the request body did not arrive in time")

// bodyDeadline gives a request's body `limit` from the end of its headers to arrive in
// full: the connection's read deadline is set for it and lifted once the body has been
// read to its end. A read past the deadline fails
// with errBodyTimeout, which the handlers answer with 408 request_timeout.
func bodyDeadline(limit time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
			c.Next()
			return
		}
		rc := http.NewResponseController(c.Writer)
		deadline := time.Now().Add(limit)
		if err := rc.SetReadDeadline(deadline); err != nil {
			// No connection to set it on (a test's recorder): the timer enforces it.
			rc = nil
		}
		// The deadline stays when the body was not read to its end: the server then reads
		// (to discard) the rest, which must not wait longer either. Every request on the
		// connection starts with deadlines of the server's own.
		r.Body = &timedBody{ReadCloser: r.Body, rc: rc, deadline: deadline}
		c.Next()
	}
}

type timedBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	deadline time.Time
	once     sync.Once
}

func (b *timedBody) Read(p []byte) (int, error) {
	if time.Now().After(b.deadline) {
		return 0, errBodyTimeout
	}
	n, err := b.ReadCloser.Read(p)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, errors.Join(errBodyTimeout, err)
	case err == io.EOF:
		b.lift()
	}
	return n, err
}

// lift removes the read deadline once the body is in.
func (b *timedBody) lift() {
	b.once.Do(func() {
		if b.rc != nil {
			_ = b.rc.SetReadDeadline(time.Time{})
		}
	})
}

// bodyProblem is the answer to a body that could not be read: 408 when its time ran out.
func bodyProblem(err error, field string) *Problem {
	if errors.Is(err, errBodyTimeout) {
		return newProblem(http.StatusRequestTimeout, "request_timeout", "The request body did not arrive in time.")
	}
	return invalid(field, "could not be read")
}

// unsafeMethod reports a method that changes state.
func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// origins is the CORS and cross-origin policy: the API's own origin (the request's host)
// and the allowed browser apps' origins.
type origins struct{ allowed []string }

func (o origins) allows(origin string) bool { return slices.Contains(o.allowed, origin) }

// sameHost reports whether origin (scheme://host[:port]) names the host the request was
// sent to.
func sameHost(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// crossOrigin refuses a state-changing request that carries a session cookie and comes
// from another site: an Origin that is neither the API's own nor an allowed one, or no
// Origin and Sec-Fetch-Site: cross-site. 403 cross_origin. SameSite=Lax cookies already
// stop most of these; this also covers same-site subdomains and old browsers.
func (o origins) crossOrigin(c *gin.Context) {
	r := c.Request
	if !unsafeMethod(r.Method) {
		c.Next()
		return
	}
	if _, err := r.Cookie(sessionCookie); err != nil {
		c.Next()
		return
	}
	origin := r.Header.Get("Origin")
	refuse := false
	switch {
	case origin != "":
		refuse = !sameHost(origin, r) && !o.allows(origin)
	default:
		refuse = r.Header.Get("Sec-Fetch-Site") == "cross-site"
	}
	if refuse {
		writeProblem(c, newProblem(http.StatusForbidden, "cross_origin",
			"A request that changes something must come from the API's own origin or an allowed one."))
		return
	}
	c.Next()
}

// corsHeaders are the request headers a browser app may send, and those it may read.
const (
	corsAllowHeaders  = "Content-Type, Idempotency-Key, Prefer, If-None-Match, Last-Event-ID, X-Request-ID"
	corsExposeHeaders = "Retry-After, X-Request-ID, ETag, Location, Preference-Applied"
	corsAllowMethods  = "GET, HEAD, POST, PUT, PATCH, DELETE"
)

// cors answers the allowed origins (GAVEL_CORS_ORIGINS) with CORS headers, credentials
// allowed, and their preflight requests with 204. Without allowed origins it does nothing:
// browsers then keep other origins out.
func (o origins) cors(c *gin.Context) {
	origin := c.Request.Header.Get("Origin")
	if len(o.allowed) == 0 || origin == "" {
		c.Next()
		return
	}
	h := c.Writer.Header()
	h.Add("Vary", "Origin")
	if !o.allows(origin) {
		c.Next()
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	if c.Request.Method == http.MethodOptions && c.Request.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", "600")
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	c.Next()
}

// headKey marks a HEAD request that is served as a GET.
type headKey struct{}

// serveHead serves HEAD as GET wherever GET is served: the server sends the answer's
// headers and drops its body. Streams answer their headers and end.
func serveHead(h http.Handler, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodHead {
		h.ServeHTTP(w, r)
		return
	}
	g := r.Clone(context.WithValue(r.Context(), headKey{}, true))
	g.Method = http.MethodGet
	h.ServeHTTP(headWriter{w}, g)
}

// isHead reports whether the request came as HEAD.
func isHead(c *gin.Context) bool { v, _ := c.Request.Context().Value(headKey{}).(bool); return v }

// headWriter drops the body of a HEAD answer (a real connection does so itself; a test's
// recorder does not).
type headWriter struct{ http.ResponseWriter }

func (w headWriter) Write(p []byte) (int, error) { return len(p), nil }

// Unwrap lets http.ResponseController reach the connection.
func (w headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a stream's flush on.
func (w headWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// knownMethods are the methods a metric label or log line names; any other is OTHER, so
// that invented methods cannot add series or fill the logs.
var knownMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

func methodLabel(c *gin.Context) string {
	if isHead(c) {
		return http.MethodHead
	}
	if slices.Contains(knownMethods, c.Request.Method) {
		return c.Request.Method
	}
	return "OTHER"
}

// streamLimits bounds the event streams open on this API instance: per client IP (0: no
// limit) and notification streams per user.
type streamLimits struct {
	perIP, perUser int
	ips            limit.PerKey[string]
	users          limit.PerKey[int64]
}

// open counts a stream of the IP (and, for a notification stream, of user > 0) and returns
// the function that ends its count, or a 429 problem when a limit is reached.
func (l *streamLimits) open(ip string, user int64) (func(), *Problem) {
	leaveIP, ok := l.ips.Take(ip, l.perIP)
	if !ok {
		return nil, rateLimited("Too many event streams are open from this address.", time.Second)
	}
	if user <= 0 {
		return leaveIP, nil
	}
	leaveUser, ok := l.users.Take(user, l.perUser)
	if !ok {
		leaveIP()
		return nil, rateLimited("Too many notification streams are open for this user.", time.Second)
	}
	return func() { leaveUser(); leaveIP() }, nil
}
