package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// api is one API instance: clients pick one at random for each request, as a load
// balancer would, and a transport error is judged against the faults of that instance.
type api struct {
	name, url string
}

// exchange is a request that failed in transport, kept to be judged at the end against
// the fault windows of the instance it went to.
type exchange struct {
	kind, target string
	from, to     time.Time
	err          string
}

// stats counts requests by kind and outcome, and keeps what fails the run: 5xx answers
// other than a 503 with Retry-After, and the transport errors to judge.
type stats struct {
	mu        sync.Mutex
	byKind    map[string]map[string]int
	transport []exchange
	bad5xx    []string
	accepted  int
}

func newStats() *stats { return &stats{byKind: map[string]map[string]int{}} }

func (s *stats) note(kind, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKind[kind] == nil {
		s.byKind[kind] = map[string]int{}
	}
	s.byKind[kind][outcome]++
}

// answered judges an answer: a 5xx is a bug or an outage, and an outage is a 503 that
// says when to come back.
func (s *stats) answered(kind string, a api, res *http.Response, body []byte) {
	s.note(kind, fmt.Sprint(res.StatusCode))
	if res.StatusCode < 500 || (res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bad5xx = append(s.bad5xx, fmt.Sprintf("%s %s %s: %d Retry-After=%q %s", time.Now().Format("15:04:05.000"), a.name, kind,
		res.StatusCode, res.Header.Get("Retry-After"), strings.TrimSpace(string(body))))
}

func (s *stats) failed(kind string, a api, from time.Time, err error) {
	s.note(kind, "transport error")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transport = append(s.transport, exchange{kind: kind, target: a.name, from: from, to: time.Now(), err: err.Error()})
}

func (s *stats) table() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []string
	for k, outs := range s.byKind {
		parts := make([]string, 0, len(outs))
		for o, n := range outs {
			parts = append(parts, fmt.Sprintf("%s=%d", o, n))
		}
		sort.Strings(parts)
		lines = append(lines, fmt.Sprintf("%-16s %s", k, strings.Join(parts, " ")))
	}
	sort.Strings(lines)
	return lines
}

// user is a signed-in client that signs in again when its session is gone (Redis lost).
type user struct {
	c     *http.Client
	id    int64
	email string
	apis  []api
	r     *rand.Rand
	st    *stats
	// bids are the user's accepted bids, for reading their status back.
	bids []int64
	n    int // requests made, for idempotency keys
}

// reply is an answer read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(out any) { _ = json.Unmarshal(r.body, out) }

// call makes the request on a random API instance, signing in again once on a 401. err is
// a transport error.
func (u *user) call(kind, method, path string, body any, header map[string]string) (reply, error) {
	for attempt := 0; ; attempt++ {
		r, err := u.once(kind, method, path, body, header)
		if err == nil && r.status == http.StatusUnauthorized && attempt == 0 {
			if err := u.login(); err != nil {
				return r, err
			}
			continue
		}
		return r, err
	}
}

func (u *user) login() error {
	r, err := u.once("login", "POST", "/api/v1/sessions", map[string]string{"email": u.email, "password": password}, nil)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("log in: %d", r.status)
	}
	return nil
}

const password = "chaos-password"

func (u *user) once(kind, method, path string, body any, header map[string]string) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	a := u.apis[u.r.IntN(len(u.apis))]
	req, _ := http.NewRequest(method, a.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	from := time.Now()
	res, err := u.c.Do(req)
	if err != nil {
		u.st.failed(kind, a, from, err)
		return reply{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		u.st.failed(kind, a, from, err)
		return reply{}, err
	}
	u.st.answered(kind, a, res, b)
	return reply{status: res.StatusCode, header: res.Header, body: b}, nil
}

// key is a fresh idempotency key of the user's.
func (u *user) key(what string) string {
	u.n++
	return fmt.Sprintf("%s-%d-%d", what, u.id, u.n)
}

// clone is a client of the same user (same session cookies) for another goroutine.
func (u *user) clone(seed uint64) *user {
	return &user{c: u.c, id: u.id, email: u.email, apis: u.apis, r: rand.New(rand.NewPCG(seed, uint64(u.id))), st: u.st}
}
