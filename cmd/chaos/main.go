// Command chaos is the chaos run (`make chaos`): it starts Gavel's roles as separate
// processes on PostgreSQL and a Redis of its own (two APIs, worker, scheduler,
// recommender), drives mixed load (bids on a hot auction and on spread ones that end
// during the run, bid reads, browsing, charges, likes, auction and notification
// streams), and meanwhile, at seeded random times, SIGKILLs the worker, the scheduler,
// an API and the recommender, kills Redis (restarted empty) and crashes PostgreSQL. Each
// restarted role must be seen working again by itself. Then it waits for the system to
// come to rest on its own and checks the database against what the clients were told
// (chaos.Check). It prints a report and exits 1 on any violation, any 5xx but a 503 with
// Retry-After, any transport error that no fault explains, or a fault that did not take.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gavelhq/gavel/chaos"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/likes"
	"github.com/redis/go-redis/v9"
)

// The default PostgreSQL fault: an immediate shutdown (a crash: the next start recovers
// from WAL) of the machine's cluster, then a start.
const (
	pgCluster     = `$(ls /etc/postgresql | head -1) main`
	defaultPGStop = `pg_ctlcluster --skip-systemctl-redirect ` + pgCluster + ` stop -m immediate`
	defaultPGStrt = `pg_ctlcluster --skip-systemctl-redirect ` + pgCluster + ` start`
)

type config struct {
	duration        time.Duration
	gavel, adminURL string
	redisServer     string
	pgStop, pgStart string
	bidders         int
	keep            bool
	soak            time.Duration
	seed            int64
	settleWithin    time.Duration
	strictExits     bool
	log             *slog.Logger
}

func main() {
	var c config
	flag.DurationVar(&c.duration, "duration", 60*time.Second, "how long the load and the faults last")
	flag.StringVar(&c.gavel, "gavel", "bin/gavel", "the gavel binary")
	flag.StringVar(&c.adminURL, "database", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "a PostgreSQL URL allowed to create databases")
	flag.StringVar(&c.redisServer, "redis-server", "redis-server", "the redis-server binary")
	flag.StringVar(&c.pgStop, "pg-stop", defaultPGStop, "a shell command that crashes PostgreSQL")
	flag.StringVar(&c.pgStart, "pg-start", defaultPGStrt, "a shell command that starts PostgreSQL again")
	flag.IntVar(&c.bidders, "bidders", 20, "bidders")
	flag.BoolVar(&c.keep, "keep", false, "keep the database and the logs")
	flag.DurationVar(&c.soak, "soak", 0, "a soak instead: no faults, and the APIs' and worker's memory, goroutines and DB connections and Redis's memory sampled at this interval")
	flag.Int64Var(&c.seed, "seed", 0, "the seed of the fault times and the clients' choices (0: random)")
	flag.DurationVar(&c.settleWithin, "settle", 2*time.Minute, "how long the system has to come to rest by itself after the load")
	flag.BoolVar(&c.strictExits, "strict-exits", false, "fail the run when a role exits by itself (by default it is restarted a second later, as docker compose does, and reported)")
	flag.Parse()
	closeInheritedOnExec()
	c.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	if c.seed == 0 {
		c.seed = time.Now().UnixNano() % 1_000_000_000
	}
	code, err := run(c)
	if err != nil {
		c.log.Error("chaos", "err", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// env is the run's processes and where they listen.
type env struct {
	c        config
	dbURL    string
	logDir   string
	redis    *proc
	redisURL string
	roles    map[string]*proc
	apis     []api
	rec      string // the recommender's address
	metrics  map[string]string
	pgAddr   string
}

func run(c config) (int, error) {
	ctx := context.Background()
	fmt.Printf("chaos run: seed %d (go run ./cmd/chaos -seed %d to repeat its choices)\n", c.seed, c.seed)
	admin, err := db.Open(ctx, c.adminURL, "")
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	e, cleanup, err := startEnv(ctx, c, admin)
	defer cleanup()
	if err != nil {
		return 0, err
	}

	st := newStats()
	l := &load{st: st, rec: chaos.NewRecorder(), lastWipe: &atomic.Int64{}}
	start := time.Now()
	w, err := setUp(c, e, l, start)
	if err != nil {
		return 0, err
	}
	c.log.Info("chaos: load and faults", "duration", c.duration, "bidders", len(w.bidders), "auctions", len(l.auctions))

	// Fault times count from the start of the load (the set-up's sign-ups take seconds).
	loadStart := time.Now()
	loadCtx, stopLoad := context.WithTimeout(ctx, c.duration)
	defer stopLoad()
	var wg sync.WaitGroup
	for i, u := range w.bidders {
		wg.Go(func() { l.bidder(loadCtx, u) })
		if i < 5 { // five bidders follow their notifications live
			wg.Go(func() { l.notificationStream(loadCtx, u.clone(uint64(c.seed)+100)) })
		}
	}
	for i := range 10 { // price streams: six on the hot auction, four on others
		k := l.auctions[0]
		if i >= 6 {
			k = l.auctions[1+i]
		}
		wg.Go(func() { l.priceStream(loadCtx, w.bidders[i%len(w.bidders)].clone(uint64(c.seed)+uint64(200+i)), k) })
	}
	fl := &faultLog{}
	var faultWG sync.WaitGroup
	var samples []sample
	if c.soak > 0 {
		wg.Go(func() { samples = soakSamples(loadCtx, c.soak, loadStart, e) })
	} else {
		faults := schedule(c.seed, c.duration, e.faults(l, w, start))
		for _, f := range faults {
			fmt.Printf("  fault planned at %5.1fs: %s, down %.1fs\n", f.at.Seconds(), f.name, f.down.Seconds())
			faultWG.Go(func() { fl.run(ctx, loadStart, f) })
		}
	}
	wg.Wait()
	c.log.Info("chaos: load over; waiting for the restarted roles and for the system to come to rest by itself")
	faultWG.Wait()

	var failures []string
	failures = append(failures, l.resolveCharges(30*time.Second)...)
	d, err := db.Open(ctx, e.dbURL, "")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	rc := e.redisClient()
	defer rc.Close()
	restAfter, unsettled, err := waitForRest(ctx, d, &likes.Service{DB: d, Redis: rc}, w.lastEnd, w.probeAuction, c.settleWithin)
	if err != nil {
		return 0, err
	}
	for _, u := range w.everyone() {
		if !l.listNotifications(u, "list at rest", 0) {
			failures = append(failures, fmt.Sprintf("user %d: notifications not readable at rest", u.id))
		}
	}
	seen := l.rec.Snapshot()
	problems, err := chaos.Check(ctx, d, seen)
	if err != nil {
		return 0, err
	}
	var exits []string
	for _, p := range e.procs() {
		exits = append(exits, p.unexpectedExits()...)
	}
	if c.strictExits {
		failures = append(failures, exits...)
	}
	failures = append(failures, fl.failures...)
	failures = append(failures, st.bad5xx...)
	excused, unexcused := judgeTransport(st, fl)
	failures = append(failures, unexcused...)
	for _, u := range unsettled {
		failures = append(failures, "not at rest "+c.settleWithin.String()+" after the load: "+u)
	}

	formats, err := chaos.Formats(ctx, d)
	if err != nil {
		formats = err.Error()
	}
	printReport(c, st, l, seen, fl, excused, restAfter, samples, formats)
	if len(exits) > 0 && !c.strictExits {
		fmt.Println("\nroles that exited by themselves and were restarted by the supervisor (-strict-exits fails the run on these):")
		for _, x := range exits {
			fmt.Println("  " + x)
		}
	}
	fmt.Println("\nchecks:")
	if len(problems) == 0 && len(failures) == 0 {
		fmt.Println("  all hold (see docs/RELIABILITY.md for the list)")
		return 0, nil
	}
	for _, f := range failures {
		fmt.Println("  FAILED: " + f)
	}
	for _, p := range problems {
		fmt.Println("  VIOLATED: " + p)
	}
	return 1, nil
}

// startEnv creates the run's database and starts Redis and the roles. cleanup stops
// them and, unless -keep, drops the database.
func startEnv(ctx context.Context, c config, admin *db.DB) (*env, func(), error) {
	var stops []func()
	cleanup := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	name := fmt.Sprintf("chaos_%d", time.Now().Unix())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, cleanup, err
	}
	u, err := url.Parse(c.adminURL)
	if err != nil {
		return nil, cleanup, err
	}
	pgAddr := u.Host
	u.Path = "/" + name
	if !c.keep {
		stops = append(stops, func() {
			_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		})
	}
	logDir, _ := os.MkdirTemp("", "gavel-chaos-")
	c.log.Info("chaos: logs", "dir", logDir, "database", name)
	e := &env{c: c, dbURL: u.String(), logDir: logDir, pgAddr: pgAddr, rec: freePort(),
		metrics: map[string]string{"worker": freePort(), "scheduler": freePort(), "api1": freePort(), "api2": freePort()}}

	redisAddr := freePort()
	e.redisURL = "redis://" + redisAddr + "/0"
	e.redis = e.proc("redis", c.redisServer, "--port", strings.Split(redisAddr, ":")[1], "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := e.redis.start(); err != nil {
		return nil, cleanup, err
	}
	stops = append(stops, e.redis.stop)
	time.Sleep(300 * time.Millisecond)

	env := e.roleEnv()
	migrate := exec.Command(c.gavel, "migrate")
	migrate.Env = append(os.Environ(), env...)
	if out, err := migrate.CombinedOutput(); err != nil {
		return nil, cleanup, fmt.Errorf("migrate: %v: %s", err, out)
	}
	api1, api2 := freePort(), freePort()
	e.apis = []api{{"api1", "http://" + api1}, {"api2", "http://" + api2}}
	e.roles = map[string]*proc{
		"api1":        e.proc("api1", c.gavel, "api").with("GAVEL_HTTP_ADDR="+api1, "GAVEL_METRICS_ADDR="+e.metrics["api1"]),
		"api2":        e.proc("api2", c.gavel, "api").with("GAVEL_HTTP_ADDR="+api2, "GAVEL_METRICS_ADDR="+e.metrics["api2"]),
		"worker":      e.proc("worker", c.gavel, "worker").with("GAVEL_METRICS_ADDR=" + e.metrics["worker"]),
		"scheduler":   e.proc("scheduler", c.gavel, "scheduler").with("GAVEL_METRICS_ADDR=" + e.metrics["scheduler"]),
		"recommender": e.proc("recommender", c.gavel, "recommender").with("GAVEL_HTTP_ADDR=" + e.rec),
	}
	for _, p := range e.roles {
		p.supervise = true
		if err := p.start(); err != nil {
			return nil, cleanup, err
		}
		stops = append(stops, p.stop)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := allReady(e.apis); err == nil {
			return e, cleanup, nil
		} else if time.Now().After(deadline) {
			return nil, cleanup, fmt.Errorf("the APIs never became ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) roleEnv() []string {
	return []string{"DATABASE_URL=" + e.dbURL, "REDIS_URL=" + e.redisURL,
		"GAVEL_SESSION_SECRET=chaos-secret-chaos-secret-chaos-secret", "GAVEL_LOG_LEVEL=warn", "GAVEL_BATCH_EVERY=2s",
		"GAVEL_RECOMMENDER_URL=http://" + e.rec, "GAVEL_DATA_DIR=" + e.logDir + "/data",
		// Every client of the run comes from 127.0.0.1: the per-IP limits would refuse most.
		"GAVEL_SIGNUP_PER_IP_HOUR=0", "GAVEL_STREAMS_PER_IP=0"}
}

func (e *env) proc(name string, args ...string) *proc {
	f, _ := os.Create(e.logDir + "/" + name + ".log")
	p := &proc{name: name, args: args, logf: f}
	if name != "redis" {
		p.env = e.roleEnv()
	}
	return p
}

func (p *proc) with(env ...string) *proc {
	p.env = append(p.env, env...)
	return p
}

func (e *env) procs() []*proc {
	out := []*proc{e.redis}
	for _, p := range e.roles {
		out = append(out, p)
	}
	return out
}

// world is the run's users and auctions.
type world struct {
	seller, prober *user
	bidders        []*user
	probeAuction   int64
	lastEnd        time.Time
}

func (w *world) everyone() []*user { return append([]*user{w.seller, w.prober}, w.bidders...) }

// setUp signs the users up, charges the bidders and the prober, subscribes five bidders
// to the hot auction (for price_changed notifications) and lists the auctions: the hot
// one ends at 60% of the run, 30 others between 30% and 80%, and the prober's just after
// the run, so that bids keep coming after every restart.
func setUp(c config, e *env, l *load, start time.Time) (*world, error) {
	newUser := func(i int, role string) (*user, error) {
		jar, _ := cookiejar.New(nil)
		u := &user{c: &http.Client{Jar: jar, Timeout: 10 * time.Second}, email: fmt.Sprintf("chaos-%s-%d@example.com", role, i),
			apis: e.apis, r: rand.New(rand.NewPCG(uint64(c.seed), uint64(i))), st: l.st}
		r, err := u.once("signup", "POST", "/api/v1/users", map[string]string{"email": u.email, "password": password,
			"nickname": fmt.Sprintf("%s%d", role, i), "birth_date": "1990-01-01", "gender": "female"}, nil)
		if err != nil || r.status != http.StatusCreated {
			return nil, fmt.Errorf("sign up: %d %v", r.status, err)
		}
		var me struct {
			ID int64 `json:"id"`
		}
		r.decode(&me)
		u.id = me.ID
		return u, u.login()
	}
	w := &world{}
	var err error
	if w.seller, err = newUser(0, "seller"); err != nil {
		return nil, err
	}
	if w.prober, err = newUser(0, "prober"); err != nil {
		return nil, err
	}
	// The formats, by lot: soft close on the hot lot and every third, a reserve on every
	// fourth and fifth, a buy-now price on every fifth.
	listing := func(name string, end time.Time, formats map[string]any) (int64, error) {
		body := map[string]any{"name": name, "start_price": 100,
			"start_at": start.UTC().Format(time.RFC3339), "end_at": end.UTC().Format(time.RFC3339)}
		for k, v := range formats {
			body[k] = v
		}
		if e, ok := formats["extension_seconds"].(int); ok {
			end = end.Add(time.Duration(e) * time.Second) // at least; bids in the last seconds move it further (waitForRest reads how far)
		}
		r, err := w.seller.call("auction", "POST", "/api/v1/auctions", body, nil)
		if err != nil || r.status != http.StatusCreated {
			return 0, fmt.Errorf("create auction: %d %v %s", r.status, err, r.body)
		}
		var a struct {
			ID int64 `json:"id"`
		}
		r.decode(&a)
		w.lastEnd = maxTime(w.lastEnd, end)
		return a.ID, nil
	}
	for i := range 31 {
		end := start.Add(c.duration * 6 / 10)
		if i > 0 {
			end = start.Add(c.duration*3/10 + time.Duration(i)*c.duration/60)
		}
		formats := map[string]any{}
		if i%3 == 0 {
			formats["extension_seconds"] = 2
		}
		if i%4 == 1 {
			formats["reserve_price"] = 2_000
		}
		if i%5 == 2 { // with a reserve, so that buy-it-now stays available a while, racing the bids
			formats["reserve_price"], formats["buy_now_price"] = 2_000, 3_000
		}
		id, err := listing(fmt.Sprintf("Chaos lot %d", i), end, formats)
		if err != nil {
			return nil, err
		}
		l.auctions = append(l.auctions, id)
		if _, ok := formats["buy_now_price"]; ok {
			l.buyNow = append(l.buyNow, id)
		}
	}
	// The probe lot stays open past the run, so that a probe after a late restart finds it
	// open (set-up time counts from start too); the run does not wait for its end: an open
	// auction with a leading bid is at rest.
	lastEnd := w.lastEnd
	if w.probeAuction, err = listing("Probe lot", start.Add(c.duration+5*time.Minute), nil); err != nil {
		return nil, err
	}
	w.lastEnd = lastEnd
	setupCharge := func(u *user, amount int64) error {
		key := u.key("setup")
		r, err := u.call("charge", "POST", "/api/v1/me/points/charges", map[string]int64{"amount": amount}, map[string]string{"Idempotency-Key": key})
		if err != nil || r.status != http.StatusCreated {
			return fmt.Errorf("charge: %d %v", r.status, err)
		}
		l.rec.Charge(chaos.Charge{UserID: u.id, Amount: amount})
		return nil
	}
	if err := setupCharge(w.prober, 10_000_000); err != nil {
		return nil, err
	}
	for i := range c.bidders {
		u, err := newUser(i, "bidder")
		if err != nil {
			return nil, err
		}
		if err := setupCharge(u, 1_000_000); err != nil {
			return nil, err
		}
		if i < 5 {
			if r, err := u.call("subscribe", "PUT", fmt.Sprintf("/api/v1/auctions/%d/subscription", l.auctions[0]), nil, nil); err != nil || r.status != http.StatusNoContent {
				return nil, fmt.Errorf("subscribe: %d %v", r.status, err)
			}
		}
		w.bidders = append(w.bidders, u)
	}
	return w, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// waitForRest waits, without doing any of the work, until every auction of the run but
// the probe lot has ended, chaos.Unsettled finds nothing and no like waits in Redis for
// the scheduler's flush, or within has passed. It returns how long rest took after the
// load, and what still kept the system from it. An auction's end is the later of lastEnd
// and its end_at now: soft close moves an end while bids still come in the last seconds,
// past what the lot's listing foresaw, and the checks after rest would otherwise find it
// ended and not DONE.
func waitForRest(ctx context.Context, d *db.DB, lk *likes.Service, lastEnd time.Time, probe int64, within time.Duration) (time.Duration, []string, error) {
	from := time.Now()
	deadline := from.Add(within)
	for {
		unsettled, err := chaos.Unsettled(ctx, d)
		if err == nil {
			var end time.Time
			if end, err = db.LatestEnd(ctx, d, probe); end.After(lastEnd) {
				lastEnd = end
			}
		}
		if err == nil {
			var n int64
			if n, err = lk.Waiting(ctx); n > 0 {
				unsettled = append(unsettled, fmt.Sprintf("likes waiting in Redis for their flush: %d", n))
			}
		}
		if err != nil && time.Now().Before(deadline) {
			time.Sleep(time.Second) // the database may be recovering still
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		if time.Now().Before(lastEnd) {
			unsettled = append(unsettled, "auctions still open")
		}
		if len(unsettled) == 0 || time.Now().After(deadline) {
			return time.Since(from), unsettled, nil
		}
		time.Sleep(time.Second)
	}
}

// redisClient is a client of the run's Redis.
func (e *env) redisClient() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(e.redisURL, "redis://"), "/0")})
}

// faults are the run's faults, with how each role shows it works again.
func (e *env) faults(l *load, w *world, start time.Time) []fault {
	victim := e.apis[rand.New(rand.NewPCG(uint64(e.c.seed), 7)).IntN(len(e.apis))]
	rc := e.redisClient()
	p := &prober{l: l, u: w.prober, auction: w.probeAuction}
	return []fault{
		{name: "SIGKILL worker", inject: killRestart(e.roles["worker"]), working: func(ctx context.Context) (string, error) {
			return p.workerDecides(e.metrics["worker"])
		}},
		{name: "SIGKILL scheduler", inject: killRestart(e.roles["scheduler"]), working: func(context.Context) (string, error) {
			n, err := metric("http://"+e.metrics["scheduler"]+"/metrics", "gavel_batch_runs_total", `result="ok"`)
			if err != nil || n == 0 {
				return "", fmt.Errorf("no batch job completed by the new scheduler yet (%v)", err)
			}
			return fmt.Sprintf("its /metrics counts %.0f completed batch job runs", n), nil
		}},
		{name: "SIGKILL " + victim.name, target: victim.name, inject: killRestart(e.roles[victim.name]), working: func(context.Context) (string, error) {
			return ready(victim)
		}},
		{name: "SIGKILL recommender", inject: killRestart(e.roles["recommender"]), working: func(context.Context) (string, error) {
			res, err := http.Get("http://" + e.rec + "/recommendations?age=30&gender=female&limit=5")
			if err != nil {
				return "", err
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return "", fmt.Errorf("recommender: %d", res.StatusCode)
			}
			return "GET /recommendations 200", nil
		}},
		{name: "SIGKILL Redis, restarted empty", inject: func(down time.Duration) error {
			l.lastWipe.Store(time.Now().UnixNano())
			l.rec.ForgetLikes() // likes not flushed before the loss may be gone, by design
			err := e.redis.kill(syscall.SIGKILL, 5*time.Second)
			time.Sleep(down)
			l.lastWipe.Store(time.Now().UnixNano())
			if err != nil {
				return err
			}
			return e.redis.start()
		}, working: func(ctx context.Context) (string, error) {
			if err := rc.Ping(ctx).Err(); err != nil {
				return "", err
			}
			ev, err := allReady(e.apis)
			return "PING, " + ev, err
		}},
		{name: "PostgreSQL crashed (" + e.c.pgStop + ")", inject: pgCrash(e.c.pgStop, e.c.pgStart, e.pgAddr), working: func(context.Context) (string, error) {
			return allReady(e.apis)
		}},
	}
}

// prober shows that a restarted worker decides bids: it bids on its own auction, after
// the restart, and waits for the decision.
type prober struct {
	l       *load
	u       *user
	auction int64
	mu      sync.Mutex
	amount  int64
	bid     int64 // the probe bid of the current restart, 0 before it is placed
}

func (p *prober) workerDecides(metricsAddr string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bid == 0 {
		p.amount += 1000
		r, err := p.u.call("probe bid", "POST", fmt.Sprintf("/api/v1/auctions/%d/bids", p.auction), map[string]int64{"amount": p.amount},
			map[string]string{"Prefer": "wait=5"})
		if err != nil || (r.status != http.StatusAccepted && r.status != http.StatusCreated) {
			return "", fmt.Errorf("probe bid not accepted: %d %v %.300s", r.status, err, r.body)
		}
		p.bid = p.l.accepted(p.u, r, "probe 201").ID
	}
	r, err := p.u.call("probe read", "GET", fmt.Sprintf("/api/v1/bids/%d", p.bid), nil, nil)
	if err != nil || r.status != http.StatusOK {
		return "", fmt.Errorf("probe bid %d not readable: %d %v", p.bid, r.status, err)
	}
	var b bidBody
	r.decode(&b)
	p.l.rec.Decision(chaos.ShownDecision{BidID: b.ID, Status: b.Status, Where: "probe read"})
	if b.Status == "pending" {
		return "", fmt.Errorf("probe bid %d still pending", p.bid)
	}
	n, err := metric("http://"+metricsAddr+"/metrics", "gavel_bids_decided_total")
	if err != nil || n == 0 {
		return "", fmt.Errorf("probe bid %d decided, but not by the new worker: its gavel_bids_decided_total is %.0f (%v)", p.bid, n, err)
	}
	evidence := fmt.Sprintf("probe bid %d placed after the restart decided %s, the new worker counts %.0f decisions", p.bid, b.Status, n)
	p.bid = 0
	return evidence, nil
}

// judgeTransport sorts the transport errors into those a fault on their API instance
// explains and the others, which fail the run.
func judgeTransport(st *stats, fl *faultLog) (excused int, unexcused []string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, x := range st.transport {
		if fl.excused(x) {
			excused++
			continue
		}
		unexcused = append(unexcused, fmt.Sprintf("transport error with no fault on %s: %s from %s to %s: %s",
			x.target, x.kind, x.from.Format("15:04:05.000"), x.to.Format("15:04:05.000"), x.err))
	}
	return excused, unexcused
}

func soakSamples(ctx context.Context, every time.Duration, start time.Time, e *env) []sample {
	var samples []sample
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		samples = append(samples, takeSample(time.Since(start), "http://"+e.metrics["api1"], "http://"+e.metrics["worker"], e.redisURL))
		select {
		case <-ctx.Done():
			return samples
		case <-t.C:
		}
	}
}

func printReport(c config, st *stats, l *load, seen chaos.Seen, fl *faultLog, excused int, rest time.Duration, samples []sample, formats string) {
	fmt.Printf("\nchaos run: seed %d, %s of load on two APIs, worker, scheduler, recommender, PostgreSQL and Redis\n\n", c.seed, c.duration)
	fmt.Println("requests by kind and outcome:")
	for _, line := range st.table() {
		fmt.Println("  " + line)
	}
	fmt.Printf("  transport errors during a fault on their API instance: %d\n", excused)
	fmt.Printf("\nwhat clients were told, checked against the database:\n")
	fmt.Printf("  %d bids accepted, %d decisions shown, %d stream prices, %d notifications received, %d charges acknowledged, %d likes\n",
		len(seen.Bids), len(seen.Decisions), len(seen.Prices), len(seen.Notifications), len(seen.Charges), len(seen.Likes))
	fmt.Printf("  %d stream events in all; at rest %.1fs after the load\n", l.events.Load(), rest.Seconds())
	fmt.Printf("  formats: %s\n", formats)
	fmt.Println("\nfaults:")
	for _, line := range fl.lines {
		fmt.Println("  " + line)
	}
	if len(samples) > 0 {
		fmt.Println("\nsoak samples (API 1, worker, Redis):")
		for _, line := range soakTable(samples) {
			fmt.Println("  " + line)
		}
	}
}
