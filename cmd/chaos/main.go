// Command chaos is the chaos run (`make chaos`): it starts Gavel's roles as separate
// processes on PostgreSQL and a Redis of its own (two APIs, worker, scheduler,
// recommender), drives mixed load (bids on a hot auction and on spread ones that end
// during the run, browsing, charges, likes, SSE clients), and meanwhile kills the worker,
// the scheduler, Redis (restarted empty), PostgreSQL (when told how to restart it), the
// recommender and one API. Then it lets the system settle and checks from the database
// that nothing was lost (chaos.Check). It prints a report and exits 1 on any violation.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/chaos"
	"github.com/gavelhq/gavel/db"
	"github.com/redis/go-redis/v9"
)

func main() {
	duration := flag.Duration("duration", 60*time.Second, "how long the load and the faults last")
	gavel := flag.String("gavel", "bin/gavel", "the gavel binary")
	adminURL := flag.String("database", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "a PostgreSQL URL allowed to create databases")
	redisServer := flag.String("redis-server", "redis-server", "the redis-server binary")
	pgRestart := flag.String("pg-restart", "", "a shell command that restarts PostgreSQL (empty: that fault is skipped)")
	bidders := flag.Int("bidders", 20, "bidders")
	keep := flag.Bool("keep", false, "keep the database and the logs")
	soak := flag.Duration("soak", 0, "a soak instead: no faults, and the APIs' and worker's memory, goroutines and DB connections and Redis's memory sampled at this interval")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	code, err := run(*duration, *gavel, *adminURL, *redisServer, *pgRestart, *bidders, *keep, *soak, log)
	if err != nil {
		log.Error("chaos", "err", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is one role or server process.
type proc struct {
	name string
	args []string
	env  []string
	logf *os.File
	mu   sync.Mutex
	cmd  *exec.Cmd
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = p.logf, p.logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd = cmd
	go func() { _ = cmd.Wait() }()
	return nil
}

func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

type stats struct {
	mu       sync.Mutex
	byKind   map[string]map[string]int // request kind -> status or error kind -> count
	accepted int
	rec      *chaos.Recorder
	events   atomic.Int64
}

func (s *stats) note(kind, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKind[kind] == nil {
		s.byKind[kind] = map[string]int{}
	}
	s.byKind[kind][outcome]++
}

// user is a signed-in client that signs in again when its session is gone.
type user struct {
	c     *http.Client
	id    int64
	email string
	apis  []string
	r     *rand.Rand
}

func (u *user) call(method, path string, body any, out any) (int, error) {
	for attempt := 0; ; attempt++ {
		st, err := u.once(method, path, body, out)
		if st == http.StatusUnauthorized && attempt == 0 && path != "/api/v1/sessions" {
			if s, err := u.once("POST", "/api/v1/sessions", map[string]string{"email": u.email, "password": "chaos-password"}, nil); err != nil || s != http.StatusOK {
				return st, err
			}
			continue
		}
		return st, err
	}
}

func (u *user) once(method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u.apis[u.r.IntN(len(u.apis))]+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := u.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		_ = json.NewDecoder(res.Body).Decode(out)
	} else {
		_, _ = io.Copy(io.Discard, res.Body)
	}
	return res.StatusCode, nil
}

func outcome(st int, err error) string {
	switch {
	case err != nil && strings.Contains(err.Error(), "refused"):
		return "connection refused"
	case err != nil && strings.Contains(err.Error(), "Timeout"):
		return "timeout"
	case err != nil:
		return "transport error"
	}
	return fmt.Sprint(st)
}

func run(duration time.Duration, gavel, adminURL, redisServer, pgRestart string, nBidders int, keep bool, soak time.Duration, log *slog.Logger) (int, error) {
	ctx := context.Background()
	admin, err := db.Open(ctx, adminURL, "")
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	name := fmt.Sprintf("chaos_%d", time.Now().Unix())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return 0, err
	}
	dbURL := strings.Replace(adminURL, "/postgres?", "/"+name+"?", 1)
	if !keep {
		defer func() {
			_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		}()
	}
	logDir, _ := os.MkdirTemp("", "gavel-chaos-")
	log.Info("chaos: logs", "dir", logDir, "database", name)

	redisAddr := freePort()
	_, redisPort, _ := net.SplitHostPort(redisAddr)
	mk := func(name string, args []string, env ...string) *proc {
		f, _ := os.Create(logDir + "/" + name + ".log")
		return &proc{name: name, args: args, env: env, logf: f}
	}
	redis := mk("redis", []string{redisServer, "--port", redisPort, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"})
	if err := redis.start(); err != nil {
		return 0, err
	}
	defer redis.signal(syscall.SIGKILL)
	time.Sleep(300 * time.Millisecond)

	api1, api2, rec, workerMetrics := freePort(), freePort(), freePort(), freePort()
	env := []string{"DATABASE_URL=" + dbURL, "REDIS_URL=redis://" + redisAddr + "/0",
		"GAVEL_SESSION_SECRET=chaos-secret-chaos-secret-chaos-secret", "GAVEL_LOG_LEVEL=warn", "GAVEL_BATCH_EVERY=2s",
		"GAVEL_RECOMMENDER_URL=http://" + rec, "GAVEL_DATA_DIR=" + logDir + "/data"}
	migrate := exec.Command(gavel, "migrate")
	migrate.Env = append(os.Environ(), env...)
	if out, err := migrate.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("migrate: %v: %s", err, out)
	}
	roles := map[string]*proc{
		"api1":        mk("api1", []string{gavel, "api"}, append(env, "GAVEL_HTTP_ADDR="+api1)...),
		"api2":        mk("api2", []string{gavel, "api"}, append(env, "GAVEL_HTTP_ADDR="+api2)...),
		"worker":      mk("worker", []string{gavel, "worker"}, append(env, "GAVEL_METRICS_ADDR="+workerMetrics)...),
		"scheduler":   mk("scheduler", []string{gavel, "scheduler"}, env...),
		"recommender": mk("recommender", []string{gavel, "recommender"}, append(env, "GAVEL_HTTP_ADDR="+rec)...),
	}
	for _, p := range roles {
		if err := p.start(); err != nil {
			return 0, err
		}
	}
	defer func() {
		for _, p := range roles {
			p.signal(syscall.SIGTERM)
		}
		time.Sleep(500 * time.Millisecond)
	}()
	apis := []string{"http://" + api1, "http://" + api2}
	for _, a := range apis {
		deadline := time.Now().Add(30 * time.Second)
		for {
			res, err := http.Get(a + "/readyz")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("%s never became ready", a)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	st := &stats{byKind: map[string]map[string]int{}, rec: chaos.NewRecorder()}
	newUser := func(i int, role string) (*user, error) {
		jar, _ := cookiejar.New(nil)
		u := &user{c: &http.Client{Jar: jar, Timeout: 10 * time.Second}, email: fmt.Sprintf("chaos-%s-%d@example.com", role, i),
			apis: apis, r: rand.New(rand.NewPCG(uint64(i), 9))}
		var me struct {
			ID int64 `json:"id"`
		}
		if s, err := u.once("POST", "/api/v1/users", map[string]string{"email": u.email, "password": "chaos-password",
			"nickname": fmt.Sprintf("%s%d", role, i), "birth_date": "1990-01-01", "gender": "female"}, &me); err != nil || s != http.StatusCreated {
			return nil, fmt.Errorf("sign up: %d %v", s, err)
		}
		u.id = me.ID
		if s, err := u.call("POST", "/api/v1/sessions", map[string]string{"email": u.email, "password": "chaos-password"}, nil); err != nil || s != http.StatusOK {
			return nil, fmt.Errorf("log in: %d %v", s, err)
		}
		return u, nil
	}
	seller, err := newUser(0, "seller")
	if err != nil {
		return 0, err
	}
	start := time.Now()
	var auctions []int64
	for i := range 31 {
		end := start.Add(duration * 6 / 10) // the hot one
		if i > 0 {
			end = start.Add(duration*3/10 + time.Duration(i)*duration/60)
		}
		var a struct {
			ID int64 `json:"id"`
		}
		if s, err := seller.call("POST", "/api/v1/auctions", map[string]any{"name": fmt.Sprintf("Chaos lot %d", i), "start_price": 100,
			"start_at": start.UTC().Format(time.RFC3339), "end_at": end.UTC().Format(time.RFC3339)}, &a); err != nil || s != http.StatusCreated {
			return 0, fmt.Errorf("create auction: %d %v", s, err)
		}
		auctions = append(auctions, a.ID)
	}
	bidderUsers := make([]*user, nBidders)
	for i := range bidderUsers {
		if bidderUsers[i], err = newUser(i, "bidder"); err != nil {
			return 0, err
		}
		if s, err := bidderUsers[i].call("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 1_000_000}, nil); err != nil || s != http.StatusCreated {
			return 0, fmt.Errorf("charge: %d %v", s, err)
		}
		st.rec.Charge(chaos.Charge{UserID: bidderUsers[i].id, Amount: 1_000_000})
	}
	log.Info("chaos: load and faults", "duration", duration, "bidders", nBidders, "auctions", len(auctions))

	loadCtx, stopLoad := context.WithTimeout(ctx, duration)
	defer stopLoad()
	var lastWipe atomic.Int64 // unix nanos of the last Redis loss
	var highest sync.Map
	var wg sync.WaitGroup
	for _, u := range bidderUsers {
		wg.Go(func() {
			for loadCtx.Err() == nil {
				switch n := u.r.IntN(20); {
				case n < 14: // bid, half of the time on the hot auction
					k := auctions[0]
					if u.r.IntN(2) == 1 {
						k = auctions[1+u.r.IntN(len(auctions)-1)]
					}
					h, _ := highest.LoadOrStore(k, int64(90))
					amount := h.(int64) + auction.Increment(h.(int64)) + int64(u.r.IntN(3))*10
					var b struct {
						ID int64 `json:"id"`
					}
					s, err := u.call("POST", fmt.Sprintf("/api/v1/auctions/%d/bids", k), map[string]int64{"amount": amount}, &b)
					st.note("bid", outcome(s, err))
					if err == nil && (s == http.StatusAccepted || s == http.StatusCreated) && b.ID > 0 {
						st.rec.Bid(chaos.AcceptedBid{ID: b.ID, UserID: u.id, AuctionID: k, Amount: amount})
						st.mu.Lock()
						st.accepted++
						st.mu.Unlock()
					}
					if err == nil && s < 500 && s != http.StatusUnauthorized {
						highest.Store(k, max(h.(int64), amount))
					}
				case n < 16: // like or unlike
					k := auctions[u.r.IntN(len(auctions))]
					liked := u.r.IntN(2) == 0
					method := map[bool]string{true: "PUT", false: "DELETE"}[liked]
					before := time.Now().UnixNano()
					s, err := u.call(method, fmt.Sprintf("/api/v1/auctions/%d/like", k), nil, nil)
					st.note("like", outcome(s, err))
					if err == nil && s == http.StatusNoContent && before > lastWipe.Load() {
						st.rec.Like(k, u.id, liked)
					}
				case n < 17:
					s, err := u.call("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 1000}, nil)
					st.note("charge", outcome(s, err))
					if err == nil && s == http.StatusCreated {
						st.rec.Charge(chaos.Charge{UserID: u.id, Amount: 1000})
					}
				case n < 19:
					s, err := u.call("GET", "/api/v1/auctions?sort=ending_soon", nil, nil)
					st.note("browse", outcome(s, err))
				default:
					s, err := u.call("GET", "/api/v1/me/recommendations", nil, nil)
					st.note("recommendations", outcome(s, err))
				}
			}
		})
	}
	for i := range 10 { // SSE clients on the hot auction, reconnecting
		wg.Go(func() {
			for loadCtx.Err() == nil {
				req, _ := http.NewRequestWithContext(loadCtx, "GET", fmt.Sprintf("%s/api/v1/auctions/%d/stream", apis[i%2], auctions[0]), nil)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					st.note("sse", outcome(0, err))
					time.Sleep(200 * time.Millisecond)
					continue
				}
				st.note("sse", fmt.Sprint(res.StatusCode))
				buf := make([]byte, 4096)
				for {
					n, err := res.Body.Read(buf)
					st.events.Add(int64(bytes.Count(buf[:n], []byte("\nevent: "))))
					if err != nil {
						break
					}
				}
				res.Body.Close()
				time.Sleep(100 * time.Millisecond)
			}
		})
	}

	var faults []string
	fault := func(at float64, what string, do func() error) {
		wg.Go(func() {
			select {
			case <-time.After(time.Duration(float64(duration) * at)):
			case <-loadCtx.Done():
				return
			}
			err := do()
			st.mu.Lock()
			defer st.mu.Unlock()
			line := fmt.Sprintf("%5.1fs  %s", time.Since(start).Seconds(), what)
			if err != nil {
				line += "  FAILED: " + err.Error()
			}
			faults = append(faults, line)
		})
	}
	killAndRestart := func(p *proc, after time.Duration) func() error {
		return func() error {
			p.signal(syscall.SIGKILL)
			time.Sleep(after)
			return p.start()
		}
	}
	var samples []sample
	if soak > 0 {
		wg.Go(func() {
			t := time.NewTicker(soak)
			defer t.Stop()
			for {
				samples = append(samples, takeSample(time.Since(start), "http://"+api1, "http://"+workerMetrics, "redis://"+redisAddr))
				select {
				case <-loadCtx.Done():
					return
				case <-t.C:
				}
			}
		})
	} else {
		fault(0.15, "SIGKILL worker, restarted 2 s later", killAndRestart(roles["worker"], 2*time.Second))
		fault(0.30, "SIGKILL scheduler, restarted 2 s later", killAndRestart(roles["scheduler"], 2*time.Second))
		fault(0.45, "SIGKILL Redis, restarted empty 1 s later", func() error {
			redis.signal(syscall.SIGKILL)
			lastWipe.Store(time.Now().UnixNano())
			st.rec.ForgetLikes() // likes not flushed before the loss may be gone, by design
			time.Sleep(time.Second)
			lastWipe.Store(time.Now().UnixNano())
			return redis.start()
		})
		if pgRestart != "" {
			fault(0.60, "PostgreSQL restarted ("+pgRestart+")", func() error {
				out, err := exec.Command("sh", "-c", pgRestart).CombinedOutput()
				if err != nil {
					return fmt.Errorf("%v: %s", err, out)
				}
				return nil
			})
		}
		fault(0.70, "SIGKILL recommender, restarted 3 s later", killAndRestart(roles["recommender"], 3*time.Second))
		fault(0.80, "SIGKILL api2, restarted 3 s later", killAndRestart(roles["api2"], 3*time.Second))
	}
	wg.Wait()
	log.Info("chaos: load over; letting the system settle")

	// Every auction has ended by now (the last at 0.8 of the run); the scheduler's next
	// runs settle and reconcile, and --once hurries them.
	d, err := db.Open(ctx, dbURL, "")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	var problems []string
	deadline := time.Now().Add(90 * time.Second)
	for {
		cmd := exec.Command(gavel, "scheduler", "--once")
		cmd.Env = append(os.Environ(), env...)
		_ = cmd.Run()
		problems, err = chaos.Check(ctx, d, st.rec.Snapshot())
		if err != nil {
			return 0, err
		}
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}

	fmt.Printf("\nchaos run: %s of load on two APIs, worker, scheduler, recommender, PostgreSQL and Redis\n\n", duration)
	fmt.Println("requests by kind and outcome:")
	kinds := make([]string, 0, len(st.byKind))
	for k := range st.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		outs := make([]string, 0)
		for o, n := range st.byKind[k] {
			outs = append(outs, fmt.Sprintf("%s=%d", o, n))
		}
		sort.Strings(outs)
		fmt.Printf("  %-16s %s\n", k, strings.Join(outs, " "))
	}
	fmt.Printf("  accepted bids %d, SSE events received %d\n\nfaults injected:\n", st.accepted, st.events.Load())
	for _, f := range faults {
		fmt.Println("  " + f)
	}
	if pgRestart == "" {
		fmt.Println("  (PostgreSQL restart skipped: no -pg-restart)")
	}
	if soak > 0 {
		fmt.Println("soak samples (API 1, worker, Redis):")
		fmt.Printf("  %8s %10s %10s %8s %8s %10s %10s %8s %12s\n", "t", "api RSS", "api heap", "api gor", "api db",
			"wrk RSS", "wrk heap", "wrk gor", "redis mem")
		for _, x := range samples {
			fmt.Printf("  %7.0fs %9.1fM %9.1fM %8.0f %8.0f %9.1fM %9.1fM %8.0f %11.1fM\n", x.at.Seconds(),
				x.api["process_resident_memory_bytes"]/1e6, x.api["go_memstats_heap_inuse_bytes"]/1e6, x.api["go_goroutines"],
				x.api["go_sql_open_connections"], x.worker["process_resident_memory_bytes"]/1e6,
				x.worker["go_memstats_heap_inuse_bytes"]/1e6, x.worker["go_goroutines"], x.redisMem/1e6)
		}
	}
	fmt.Println("\ninvariants (chaos.Check):")
	if len(problems) == 0 {
		fmt.Println("  all hold: every accepted bid decided, every ended auction settled once by a bid above every earlier leader,")
		fmt.Println("  every outbid or rejected bid released, every balance explained by the ledger, conserved and held by leading bids,")
		fmt.Printf("  and every like made after the last loss of Redis in the database (%d checked)\n", len(st.rec.Snapshot().Likes))
		return 0, nil
	}
	for _, p := range problems {
		fmt.Println("  VIOLATED: " + p)
	}
	return 1, nil
}

// sample is one reading of the processes' resources during a soak.
type sample struct {
	at          time.Duration
	api, worker map[string]float64
	redisMem    float64
}

var sampled = []string{"process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "go_goroutines", "go_sql_open_connections"}

func takeSample(at time.Duration, api, worker, redisURL string) sample {
	x := sample{at: at, api: scrape(api + "/metrics"), worker: scrape(worker + "/metrics")}
	if opt, err := redis.ParseURL(redisURL); err == nil {
		c := redis.NewClient(opt)
		if info, err := c.Info(context.Background(), "memory").Result(); err == nil {
			for _, line := range strings.Split(info, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
					x.redisMem, _ = strconv.ParseFloat(v, 64)
				}
			}
		}
		_ = c.Close()
	}
	return x
}

// scrape reads the sampled metrics from a /metrics page (summed over their labels).
func scrape(url string) map[string]float64 {
	out := map[string]float64{}
	res, err := http.Get(url)
	if err != nil {
		return out
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		for _, name := range sampled {
			if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
				if i := strings.LastIndexByte(rest, ' '); i >= 0 {
					v, _ := strconv.ParseFloat(rest[i+1:], 64)
					out[name] += v
				}
			}
		}
	}
	return out
}
