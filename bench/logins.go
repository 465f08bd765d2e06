package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LoginStormOptions configure `gavel bench logins`.
type LoginStormOptions struct {
	BaseURL string
	// Requests are fired at once from one client: half signups with new e-mails, half
	// logins with unknown e-mails and wrong passwords.
	Requests int
	// Timeout bounds each request of the storm.
	Timeout time.Duration
	// Recover bounds how long the prepared user's login is retried after the storm.
	Recover time.Duration
	// ProbeFrom is the local IP the prepared user's requests are sent from ("" for any),
	// so that they come from another client than the storm: per-IP limits the storm runs
	// into are then not what delays them.
	ProbeFrom string
	Log       *slog.Logger
}

// LoginStormRun is what the storm got and how long a normal login took to answer again.
type LoginStormRun struct {
	Run string // the e-mail tag of this run
	// Signups and Logins count the storm's answers by status; 0 counts requests that got
	// no answer (Errors has them by message).
	Signups, Logins map[int]int
	// RetryAfter counts the 503 answers that had a Retry-After header.
	RetryAfter int
	Errors     map[string]int
	// Storm is from the first request sent to the last answer read.
	Storm time.Duration
	// Baseline is the prepared user's login before the storm.
	Baseline time.Duration
	// During is from the storm's start to the first 200 of the prepared user's login,
	// retried (every 100 ms, or as Retry-After says) from the storm's start; DuringTries
	// counts its attempts and DuringStatus their answers.
	During       time.Duration
	DuringOK     bool
	DuringTries  int
	DuringStatus map[int]int
	// After is from the storm's end (its last answer) to the first 200 of the prepared
	// user's login, retried the same way; AfterTries and AfterStatus likewise.
	After       time.Duration
	AfterOK     bool
	AfterTries  int
	AfterStatus map[int]int
	// StormP50 and StormMax are of the storm's answers, client clock.
	StormP50, StormMax time.Duration
}

// RunLoginStorm prepares a user, fires the storm and measures how long the prepared user's
// login takes to answer 200 again, during and after the storm.
func RunLoginStorm(ctx context.Context, o LoginStormOptions) (*LoginStormRun, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	run := &LoginStormRun{
		Run:     strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36),
		Signups: map[int]int{}, Logins: map[int]int{}, Errors: map[string]int{},
		DuringStatus: map[int]int{}, AfterStatus: map[int]int{},
	}
	probe, err := probeClient(o.ProbeFrom)
	if err != nil {
		return nil, err
	}
	email := "prepared-" + run.Run + "@example.com"
	const password = "prepared-password"
	st, _, err := o.post(ctx, probe, "/api/v1/users", map[string]string{
		"email": email, "password": password, "nickname": "prepared", "birth_date": "1990-01-01", "gender": "other",
	})
	if err != nil || st != http.StatusCreated {
		return nil, fmt.Errorf("sign up the prepared user: %d %v", st, err)
	}
	creds := map[string]string{"email": email, "password": password}
	t0 := time.Now()
	if st, _, err := o.post(ctx, probe, "/api/v1/sessions", creds); err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("log in the prepared user before the storm: %d %v", st, err)
	}
	run.Baseline = time.Since(t0)
	o.Log.Info("prepared user logged in", "email", email, "took", run.Baseline)

	// One client for the whole storm, with a connection per request.
	storm := &http.Client{Timeout: o.Timeout, Transport: &http.Transport{
		MaxIdleConns: o.Requests, MaxIdleConnsPerHost: o.Requests, MaxConnsPerHost: o.Requests,
		IdleConnTimeout: time.Minute,
	}}
	defer storm.CloseIdleConnections()
	var (
		mu    sync.Mutex
		took  []time.Duration
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range o.Requests {
		wg.Go(func() {
			<-start
			path, body := "/api/v1/sessions", map[string]string{
				"email": fmt.Sprintf("unknown-%s-%d@example.com", run.Run, i), "password": fmt.Sprintf("wrong-password-%d", i),
			}
			if i%2 == 0 {
				path, body = "/api/v1/users", map[string]string{
					"email": fmt.Sprintf("storm-%s-%d@example.com", run.Run, i), "password": "storm-password",
					"nickname": "storm", "birth_date": "1990-01-01", "gender": "other",
				}
			}
			t := time.Now()
			st, h, err := o.post(ctx, storm, path, body)
			d := time.Since(t)
			mu.Lock()
			defer mu.Unlock()
			took = append(took, d)
			counts := run.Logins
			if i%2 == 0 {
				counts = run.Signups
			}
			counts[st]++
			if err != nil {
				run.Errors[errorKind(err)]++
			}
			if st == http.StatusServiceUnavailable && h.Get("Retry-After") != "" {
				run.RetryAfter++
			}
		})
	}
	stormStart := time.Now()
	close(start)
	stormDone := make(chan struct{})
	go func() { wg.Wait(); close(stormDone) }()

	// A normal login from the storm's start on, until it answers 200.
	deadline := stormStart.Add(o.Timeout + o.Recover)
	run.DuringOK, run.DuringTries = o.loginUntilOK(ctx, probe, creds, deadline, run.DuringStatus)
	run.During = time.Since(stormStart)
	<-stormDone
	stormEnd := time.Now()
	run.Storm = stormEnd.Sub(stormStart)
	// And once more from the storm's end.
	run.AfterOK, run.AfterTries = o.loginUntilOK(ctx, probe, creds, stormEnd.Add(o.Recover), run.AfterStatus)
	run.After = time.Since(stormEnd)
	slices.Sort(took)
	if len(took) > 0 {
		run.StormP50, run.StormMax = took[len(took)/2], took[len(took)-1]
	}
	return run, nil
}

// loginUntilOK logs in until an answer is 200 or the deadline passes, pausing 100 ms
// between attempts (or what a Retry-After says, up to a second).
func (o LoginStormOptions) loginUntilOK(ctx context.Context, c *http.Client, creds map[string]string, deadline time.Time, statuses map[int]int) (ok bool, tries int) {
	for time.Now().Before(deadline) && ctx.Err() == nil {
		tries++
		st, h, err := o.post(ctx, c, "/api/v1/sessions", creds)
		statuses[st]++
		if err == nil && st == http.StatusOK {
			return true, tries
		}
		pause := 100 * time.Millisecond
		if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
			pause = min(time.Duration(s)*time.Second, time.Second)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
	return false, tries
}

// post sends JSON and returns the status (0 when there was no answer) and the headers.
func (o LoginStormOptions) post(ctx context.Context, c *http.Client, path string, body any) (int, http.Header, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, http.Header{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		return 0, http.Header{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0, http.Header{}, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header, nil
}

// probeClient is the prepared user's client: its own connections, from `from` if given.
func probeClient(from string) (*http.Client, error) {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if from != "" {
		ip := net.ParseIP(from)
		if ip == nil {
			return nil, fmt.Errorf("bench logins: %q is not an IP", from)
		}
		dialer.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext}}, nil
}

// errorKind names a transport error without what varies (addresses, ports).
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Op + ": " + oe.Err.Error()
	}
	return err.Error()
}

// DefaultProbeFrom is the local address the prepared user's login comes from by default:
// another loopback address when the target is on loopback (so it is another client IP),
// else the system's choice.
func DefaultProbeFrom(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	host := u.Hostname()
	if host == "localhost" {
		return "127.0.0.2"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() && ip.To4() != nil {
		return "127.0.0.2"
	}
	return ""
}

// Counts prints status counts in order of status, "none" when empty.
func Counts(m map[int]int) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		name := strconv.Itoa(c)
		if c == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s x%d", name, m[c]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
