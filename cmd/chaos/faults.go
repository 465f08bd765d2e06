package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fault is one fault of the run: inject breaks something and brings it back; working
// then tells whether the role or server works again by itself (evidence, or an error
// while it does not yet).
type fault struct {
	name    string
	target  string // the API instance it takes down, whose transport errors it excuses
	at      time.Duration
	down    time.Duration
	inject  func(down time.Duration) error
	working func(ctx context.Context) (string, error)
}

// window is the time a fault on target lasted, from its injection to the target seen
// working again (open while to is zero).
type window struct {
	target   string
	from, to time.Time
}

// faultLog keeps what the faults did and what failed: a fault that does not inject and a
// role not seen working again within recoverWithin fail the run.
type faultLog struct {
	mu       sync.Mutex
	windows  []*window
	lines    []string
	failures []string
}

const recoverWithin = 45 * time.Second

func (f *faultLog) run(ctx context.Context, start time.Time, x fault) {
	select {
	case <-time.After(time.Until(start.Add(x.at))):
	case <-ctx.Done():
		f.fail("%s: not injected, the run ended first", x.name)
		return
	}
	w := &window{target: x.target, from: time.Now()}
	f.mu.Lock()
	f.windows = append(f.windows, w)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		w.to = time.Now()
		f.mu.Unlock()
	}()
	at := time.Since(start)
	if err := x.inject(x.down); err != nil {
		f.fail("%s at %.1fs: FAILED TO INJECT: %v", x.name, at.Seconds(), err)
		return
	}
	restarted := time.Now()
	deadline := restarted.Add(recoverWithin)
	var last error
	for time.Now().Before(deadline) {
		evidence, err := x.working(ctx)
		if err == nil {
			f.mu.Lock()
			f.lines = append(f.lines, fmt.Sprintf("%6.1fs  %s, down %.1fs; working again %.1fs after its restart: %s",
				at.Seconds(), x.name, x.down.Seconds(), time.Since(restarted).Seconds(), evidence))
			f.mu.Unlock()
			return
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	f.fail("%s at %.1fs: not seen working again within %v of its restart: %v", x.name, at.Seconds(), recoverWithin, last)
}

func (f *faultLog) fail(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fmt.Sprintf(format, args...))
}

// excused reports whether a transport error happened while a fault had its API
// instance down: only then may a client lose a request.
func (f *faultLog) excused(e exchange) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.windows {
		to := w.to
		if to.IsZero() {
			to = time.Now()
		}
		if w.target == e.target && !e.to.Before(w.from) && !e.from.After(to) {
			return true
		}
	}
	return false
}

// schedule places the faults at seeded random times between 8% and 65% of the run (so
// that bids still come after every restart), each down for 1 to 3 s; half of the seeds
// make two of them overlap.
func schedule(seed int64, duration time.Duration, faults []fault) []fault {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xfa17))
	for i := range faults {
		faults[i].at = time.Duration((0.08 + 0.57*rng.Float64()) * float64(duration))
		faults[i].down = time.Second + time.Duration(rng.Int64N(int64(2*time.Second)))
	}
	if rng.IntN(2) == 0 {
		i, j := rng.IntN(len(faults)), rng.IntN(len(faults)-1)
		if j >= i {
			j++
		}
		faults[j].at = faults[i].at + 500*time.Millisecond
	}
	sort.Slice(faults, func(a, b int) bool { return faults[a].at < faults[b].at })
	return faults
}

// killRestart SIGKILLs the process and starts it again after down.
func killRestart(p *proc) func(time.Duration) error {
	return func(down time.Duration) error {
		if err := p.kill(syscall.SIGKILL, 5*time.Second); err != nil {
			return err
		}
		time.Sleep(down)
		return p.start()
	}
}

// shell runs a command line and fails unless it exits 0.
func shell(line string) error {
	out, err := exec.Command("sh", "-c", line).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", line, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// pgCrash stops PostgreSQL with the stop command (an immediate shutdown: a crash, with
// recovery from WAL at the next start), checks that it refuses connections, and starts
// it again after down.
func pgCrash(stop, start, addr string) func(time.Duration) error {
	return func(down time.Duration) error {
		if err := shell(stop); err != nil {
			return err
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return fmt.Errorf("PostgreSQL still accepts connections on %s after %q", addr, stop)
		}
		time.Sleep(down)
		return shell(start)
	}
}

// ready is the evidence that an API instance works: /readyz answers 200 (the database
// and Redis answer it).
func ready(a api) (string, error) {
	res, err := http.Get(a.url + "/readyz")
	if err != nil {
		return "", err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s /readyz: %d", a.name, res.StatusCode)
	}
	return a.name + " /readyz 200", nil
}

// allReady is ready for every instance.
func allReady(apis []api) (string, error) {
	var ev []string
	for _, a := range apis {
		e, err := ready(a)
		if err != nil {
			return "", err
		}
		ev = append(ev, e)
	}
	return strings.Join(ev, ", "), nil
}

// metric sums the samples of a metric whose labels contain every one of labels, from a
// /metrics page: a counter of a restarted process starts again from zero, so a positive
// one shows that the new process did the work.
func metric(url, name string, labels ...string) (float64, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (!strings.HasPrefix(rest, " ") && !strings.HasPrefix(rest, "{")) {
			continue
		}
		matches := true
		for _, l := range labels {
			matches = matches && strings.Contains(rest, l)
		}
		if i := strings.LastIndexByte(rest, ' '); matches && i >= 0 {
			v, _ := strconv.ParseFloat(rest[i+1:], 64)
			sum += v
		}
	}
	return sum, nil
}
