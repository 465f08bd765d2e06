package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on GAVEL_DEBUG_ADDR
	"path/filepath"
	"sync"
	"time"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/config"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/imagestore"
	"github.com/gavelhq/gavel/jobs"
	"github.com/gavelhq/gavel/recommend"
	"github.com/gavelhq/gavel/redisconn"
	"github.com/gavelhq/gavel/scheduler"
	"github.com/gavelhq/gavel/worker"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// role is one long-running part of the program.
type role func(ctx context.Context, e *env) error

// env is what the roles share: the configuration and the open connections.
type env struct {
	cfg    config.Config
	log    *slog.Logger
	db     *db.DB
	redis  *redis.Client
	stdout io.Writer
	// metrics is the process's registry, served at /metrics on GAVEL_METRICS_ADDR by
	// every role (never on the public API listener).
	metrics     *prometheus.Registry
	metricsOnce sync.Once
	// pollInterval is the worker's (0: its default); `gavel dev` on the in-process Redis
	// sets devPollInterval.
	pollInterval time.Duration
}

// devPollInterval is how often the worker of `gavel dev` on its in-process Redis looks for
// tasks: each look runs Lua scripts in an interpreter written in Go, and at the worker's
// 10 ms an idle dev used 40 % of a core. A bid's decision waits up to this long more.
const devPollInterval = time.Second

// devMetricsAddr is where `gavel dev` serves /metrics when GAVEL_METRICS_ADDR is unset:
// loopback only.
const devMetricsAddr = "127.0.0.1:9464"

// serveMetrics serves the registry at GAVEL_METRICS_ADDR, once per process.
func (e *env) serveMetrics() {
	addr := e.cfg.MetricsAddr
	if addr == "" {
		return
	}
	e.metricsOnce.Do(func() {
		// The process's own resources (the API registers them too; once is enough).
		_ = e.metrics.Register(collectors.NewGoCollector())
		_ = e.metrics.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		go func() {
			e.log.Info("metrics listener", "addr", addr)
			mux := http.NewServeMux()
			mux.Handle("GET /metrics", promhttp.HandlerFor(e.metrics, promhttp.HandlerOpts{}))
			hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second}
			if err := hs.ListenAndServe(); err != nil {
				e.log.Error("metrics listener", "err", err)
			}
		}()
	})
}

func openDB(ctx context.Context, cfg config.Config, log *slog.Logger) (*db.DB, error) {
	d, err := db.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	log.Debug("database open", "dialect", d.Kind)
	return d, nil
}

// openAndMigrateDB opens the database and applies the pending migrations, for the
// commands that may change the schema themselves (dev, migrate, seed).
func openAndMigrateDB(ctx context.Context, cfg config.Config, log *slog.Logger) (*db.DB, error) {
	d, err := openDB(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if _, err := d.Migrate(ctx, log); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// openMigratedDB opens the database and refuses to go on with a schema older than the
// code: roles other than dev and migrate never migrate on their own.
func openMigratedDB(ctx context.Context, cfg config.Config, log *slog.Logger) (*db.DB, error) {
	d, err := openDB(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	ms, err := d.Migrations()
	if err != nil {
		d.Close()
		return nil, err
	}
	done, err := d.AppliedMigrations(ctx)
	if err != nil || len(done) < len(ms) {
		d.Close()
		return nil, errors.New("the database is not migrated: run `gavel migrate` first")
	}
	return d, nil
}

// runRole runs one role against the configured PostgreSQL (or SQLite) and Redis.
func runRole(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, r role) error {
	if cfg.RedisURL == "" {
		return errors.New("REDIS_URL is not set; only `gavel dev` runs an embedded Redis")
	}
	d, err := openMigratedDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	rdb, err := redisconn.Open(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	log.Info("starting", "config", cfg)
	return r(ctx, &env{cfg: cfg, log: log, db: d, redis: rdb, stdout: stdout, metrics: prometheus.NewRegistry()})
}

// runDev runs the API, the worker and the scheduler in one process, on an embedded SQLite
// file and an in-process Redis unless DATABASE_URL / REDIS_URL are set.
func runDev(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	start := time.Now()
	d, err := openAndMigrateDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	redisURL := cfg.RedisURL
	var poll time.Duration
	if redisURL == "" {
		poll = devPollInterval
		m, err := redisconn.StartEmbedded()
		if err != nil {
			return err
		}
		defer m.Close()
		// The sessions outlive a restart, as they would in a real Redis.
		if err := m.Keep(filepath.Join(cfg.DataDir, "sessions.json"), api.SessionKeyPrefix, 30*time.Second); err != nil {
			return err
		}
		redisURL = m.URL()
	}
	rdb, err := redisconn.Open(ctx, redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if cfg.SessionSecret == "" {
		if cfg.SessionSecret, err = config.DevSessionSecret(cfg.DataDir); err != nil {
			return err
		}
	}
	if cfg.MetricsAddr == "" {
		cfg.MetricsAddr = devMetricsAddr
	}
	log.Info("starting", "config", cfg)
	if cfg.RecommenderURL == "" {
		// The recommender in-process, on a loopback port: the API reaches it as it would
		// a separate one, breaker and all.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		cfg.RecommenderURL = "http://" + ln.Addr().String()
		go func() { _ = serveRecommender(ctx, log, d, ln) }()
	}
	e := &env{cfg: cfg, log: log, db: d, redis: rdb, stdout: stdout, metrics: prometheus.NewRegistry(), pollInterval: poll}
	err = together(ctx, e, roleAPI, roleWorker, roleScheduler)
	log.Debug("dev stopped", "uptime", time.Since(start))
	return err
}

// together runs roles until ctx ends or one of them fails, then stops them all.
func together(ctx context.Context, e *env, roles ...role) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(roles))
	var wg sync.WaitGroup
	for i, r := range roles {
		wg.Go(func() {
			errs[i] = r(ctx, e)
			cancel()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

var errNoSessionSecret = errors.New("GAVEL_SESSION_SECRET is not set: every API instance needs the same secret (32+ characters), or they reject each other's cookies and cursors and a restart logs everyone out")

func roleAPI(ctx context.Context, e *env) error {
	if e.cfg.SessionSecret == "" {
		return errNoSessionSecret
	}
	e.serveMetrics()
	images, err := imagestore.NewDir(filepath.Join(e.cfg.DataDir, "images"))
	if err != nil {
		return err
	}
	enqueuer := jobs.NewEnqueuer(e.redis, e.log, e.cfg.DecideOneByOne) // shares e.redis, which run closes
	srv, err := api.NewServer(api.Deps{
		Log: e.log, DB: e.db, Redis: e.redis,
		SessionSecret: e.cfg.SessionSecret, CookieSecure: e.cfg.CookieSecure,
		Dashboard: jobs.Dashboard(e.redis, "/ops/asynq"), TrustedProxies: e.cfg.TrustedProxies,
		Images: images, Decisions: enqueuer, Transitions: enqueuer,
		Recommender:  recommend.ClientConfig{URL: e.cfg.RecommenderURL},
		ListCacheTTL: e.cfg.ListCacheTTL, Registry: e.metrics,
		SignupsPerIPHour: e.cfg.SignupPerIPHour, StreamsPerIP: e.cfg.StreamsPerIP, CORSOrigins: e.cfg.CORSOrigins,
		MaxReadyAuctions: e.cfg.MaxReadyAuctions,
	})
	if err != nil {
		return err
	}
	if addr := e.cfg.DebugAddr; addr != "" {
		// pprof on its own listener, never on the public one.
		go func() {
			e.log.Info("debug listener (pprof)", "addr", addr)
			if err := http.ListenAndServe(addr, http.DefaultServeMux); err != nil {
				e.log.Error("debug listener", "err", err)
			}
		}()
	}
	ln, err := net.Listen("tcp", e.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("api: listen: %w", err)
	}
	// The body's own deadline (30 s after the headers) is set per request by the API, so
	// that event streams are not cut by a server-wide ReadTimeout.
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	base := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(e.stdout, "Gavel API  %s/api/v1\n     docs %s/docs\n     ops  %s/ops/asynq/ (admins)\n", base, base, base)
	if e.cfg.MetricsAddr != "" {
		fmt.Fprintf(e.stdout, "  metrics  http://%s/metrics (private)\n", e.cfg.MetricsAddr)
	}
	e.log.Info("api listening", "addr", ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	srv.Close() // end the event streams first: Shutdown waits for open requests
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	e.log.Info("api stopped")
	return nil
}

func roleWorker(ctx context.Context, e *env) error {
	e.serveMetrics()
	return worker.Run(ctx, e.log, e.db, e.redis, worker.Config{Metrics: e.metrics, OneBidPerDecision: e.cfg.DecideOneByOne, PollInterval: e.pollInterval})
}

func roleScheduler(ctx context.Context, e *env) error {
	e.serveMetrics()
	js := scheduler.Jobs(scheduler.Deps{Log: e.log, DB: e.db, Redis: e.redis, BatchSize: e.cfg.BatchSize})
	return scheduler.Run(ctx, e.log, js, e.cfg.BatchEvery, scheduler.NewMetrics(e.metrics))
}

// displayAddr turns a listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// recommenderRefresh is how often the recommender recomputes its ranking.
const recommenderRefresh = 30 * time.Second

// serveRecommender runs the recommender on ln until ctx is done.
func serveRecommender(ctx context.Context, log *slog.Logger, d *db.DB, ln net.Listener) error {
	r := &recommend.Ranker{DB: d, Log: log}
	go r.Run(ctx, recommenderRefresh)
	// Its own /metrics: the process, and its answers by status code.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	answers := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gavel_recommender_requests_total",
		Help: "Requests the recommender answered, by status code."}, []string{"code"})
	reg.MustRegister(answers)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", promhttp.InstrumentHandlerCounter(answers, r.Handler()))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdownCtx)
	}()
	log.Info("recommender listening", "addr", ln.Addr().String())
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("recommender: %w", err)
	}
	return nil
}

// runRecommender is `gavel recommender`: the ranking service on GAVEL_HTTP_ADDR.
func runRecommender(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	d, err := openMigratedDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("recommender: %w", err)
	}
	return serveRecommender(ctx, log, d, ln)
}
