package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/config"
	"github.com/gavelhq/gavel/imagestore"
	"github.com/gavelhq/gavel/redisconn"
	"github.com/gavelhq/gavel/scheduler"
	"github.com/gavelhq/gavel/seed"
	"github.com/redis/go-redis/v9"
)

const usage = `usage: gavel COMMAND [ARGS]

commands:
  dev                        API, worker and scheduler in one process (embedded SQLite and
                             Redis unless DATABASE_URL / REDIS_URL are set)
  api                        the HTTP API
  worker                     the Asynq worker
  scheduler [--once [JOB...]] the batch jobs on a schedule, or once (exit 1 on failure)
  migrate                    apply the database migrations
  seed [--auctions N] [--users M] [--images-per-auction F] [--seed S]
                             load demo and benchmark data (migrates first)
  bench list|bids [flags]    load-test the listing or bidding API of a running Gavel (see -h)
  bench settle [flags]       time one scheduler settling many auctions that end together
  bench sse [flags]          hold many auction streams open on a running Gavel while bids change prices
  user promote EMAIL         make the user an admin
  recommender                the recommendation service on GAVEL_HTTP_ADDR (in-process in dev)

configuration comes from the environment: see README.md.
`

// commandUsage is what `gavel COMMAND --help` prints for the commands without flags of
// their own (those with flags list them too).
var commandUsage = map[string]string{
	"dev": `usage: gavel dev

API, worker, scheduler and recommender in one process, on an embedded SQLite database in
GAVEL_DATA_DIR and an in-process Redis unless DATABASE_URL / REDIS_URL are set. It migrates
the database on start.
`,
	"api": `usage: gavel api

The HTTP API on GAVEL_HTTP_ADDR. Needs DATABASE_URL (migrated), REDIS_URL and
GAVEL_SESSION_SECRET (the same on every instance); /metrics on GAVEL_METRICS_ADDR.
`,
	"worker": `usage: gavel worker

The Asynq worker (queues critical, default, low). Needs DATABASE_URL (migrated) and
REDIS_URL; /metrics on GAVEL_METRICS_ADDR.
`,
	"migrate": `usage: gavel migrate

Applies the embedded migrations to DATABASE_URL (or the SQLite file in GAVEL_DATA_DIR);
safe to run from several processes at once.
`,
	"user": `usage: gavel user promote EMAIL

Makes the user with that e-mail an admin (the Asynq dashboard at /ops/asynq/).
`,
	"recommender": `usage: gavel recommender

The recommendation service on GAVEL_HTTP_ADDR, /metrics included. Needs DATABASE_URL
(migrated).
`,
	"bench": `usage: gavel bench list|bids|settle|sse|logins [flags]

  list     load-test the listing API of a running Gavel
  bids     bidders with real sessions bid through the API of a running Gavel
  settle   time one scheduler closing and settling many auctions that end together
  sse      hold many auction streams open while bids change prices
  logins   fire a burst of signups and failed logins, then time a normal login

gavel bench SUBCOMMAND -h lists its flags.
`,
}

// isHelp reports an argument that asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// parseFlags parses args into fs. On -h or --help it prints the command's usage and flags
// to stdout and reports help, which the caller answers by exiting 0.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (help bool, err error) {
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: gavel %s [flags]\n\nflags:\n", fs.Name())
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: %v (gavel %s -h lists the flags)", errUsage, err, fs.Name())
	}
	return false, nil
}

// errUsage marks a command line that makes no sense; it exits with status 2.
var errUsage = errors.New("bad command line")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// run is the whole program: it parses args, loads the configuration through getenv and
// runs one command until it ends or ctx is cancelled (or SIGINT / SIGTERM arrives).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(cfg, stderr)
	cmd, rest := args[0], args[1:]
	if text, ok := commandUsage[cmd]; ok && len(rest) > 0 && isHelp(rest[0]) {
		fmt.Fprint(stdout, text)
		return nil
	}
	log.Debug("starting", "command", cmd, "config", cfg)

	switch cmd {
	case "dev":
		return runDev(ctx, cfg, log, stdout)
	case "api":
		if cfg.SessionSecret == "" {
			return errNoSessionSecret
		}
		return runRole(ctx, cfg, log, stdout, roleAPI)
	case "worker":
		return runRole(ctx, cfg, log, stdout, roleWorker)
	case "scheduler":
		return runScheduler(ctx, cfg, log, stdout, rest)
	case "migrate":
		return runMigrate(ctx, cfg, log, stdout)
	case "user":
		return runUser(ctx, cfg, log, stdout, rest)
	case "seed":
		return runSeed(ctx, cfg, log, stdout, rest)
	case "bench":
		return runBench(ctx, cfg, log, stdout, rest)
	case "recommender":
		return runRecommender(ctx, cfg, log)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runMigrate(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	d, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	applied, err := d.Migrate(ctx, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrations applied: %d\n", len(applied))
	return nil
}

func runSeed(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	var o seed.Options
	fs.Int64Var(&o.Auctions, "auctions", 1000, "how many auctions")
	fs.Int64Var(&o.Users, "users", 0, "how many users (default: auctions/1000, at least 10)")
	fs.Float64Var(&o.ImagesPerAuction, "images-per-auction", 2, "average image rows per auction (0-4)")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed")
	fs.StringVar(&o.Password, "password", "gavel-demo", "password of every seeded user")
	fs.Int64Var(&o.Points, "points", seed.DefaultPoints, "points every seeded user holds (-1: none)")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if o.Auctions < 0 || o.Users < 0 || o.ImagesPerAuction < 0 || o.ImagesPerAuction > 2 {
		return fmt.Errorf("%w: counts must be >= 0 and --images-per-auction at most 2", errUsage)
	}
	d, err := openAndMigrateDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	images, err := imagestore.NewDir(filepath.Join(cfg.DataDir, "images"))
	if err != nil {
		return err
	}
	res, err := seed.Run(ctx, log, d, images, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d users, %d auctions, %d images in %s\n",
		res.Users, res.Auctions, res.Images, res.Took.Round(time.Millisecond))
	if res.Users > 0 {
		fmt.Fprintf(stdout, "log in as %s ... %s with password %q; each holds %d points\n",
			seed.Email(res.FirstUserID), seed.Email(res.LastUserID), o.Password, res.Points)
	}
	return nil
}

func runUser(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, args []string) error {
	if len(args) != 2 || args[0] != "promote" {
		return fmt.Errorf("%w: usage: gavel user promote EMAIL", errUsage)
	}
	d, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := (&auction.Accounts{DB: d}).Promote(ctx, args[1]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is now an admin\n", strings.TrimSpace(args[1]))
	return nil
}

func runScheduler(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("scheduler", flag.ContinueOnError)
	once := fs.Bool("once", false, "run the jobs once, print a summary line per job, and exit; non-zero on failure")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if !*once {
		if fs.NArg() > 0 {
			return fmt.Errorf("%w: job names go with --once", errUsage)
		}
		return runRole(ctx, cfg, log, stdout, roleScheduler)
	}
	d, err := openMigratedDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	// From cron or Jenkins, settling must not wait for Redis: without it the settlements
	// queue no follow-ups, and reconcile-bids and log-decided-bids do their work.
	var rdb redis.UniversalClient
	if cfg.RedisURL == "" {
		log.Warn("REDIS_URL is not set: no follow-up tasks are queued")
	} else if c, err := redisconn.Open(ctx, cfg.RedisURL); err != nil {
		log.Warn("Redis unavailable: no follow-up tasks are queued", "err", err)
	} else {
		defer c.Close()
		rdb = c
	}
	js, err := scheduler.Select(scheduler.Jobs(scheduler.Deps{Log: log, DB: d, Redis: rdb, BatchSize: cfg.BatchSize}), fs.Args())
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return scheduler.RunOnce(ctx, log, js, stdout, nil)
}
