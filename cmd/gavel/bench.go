package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gavelhq/gavel/bench"
	"github.com/gavelhq/gavel/config"
	"github.com/gavelhq/gavel/db"
)

// runBench is `gavel bench list|bids|settle|sse|logins`: it loads the API of a running Gavel.
func runBench(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, args []string) error {
	if len(args) > 0 && args[0] == "bids" {
		return runBenchBids(ctx, cfg, log, stdout, args[1:])
	}
	if len(args) > 0 && args[0] == "settle" {
		return runBenchSettle(ctx, cfg, log, stdout, args[1:])
	}
	if len(args) > 0 && args[0] == "sse" {
		return runBenchSSE(ctx, cfg, log, stdout, args[1:])
	}
	if len(args) > 0 && args[0] == "logins" {
		return runBenchLogins(ctx, log, stdout, args[1:])
	}
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, commandUsage["bench"])
		return nil
	}
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("%w: usage: gavel bench list|bids|settle|sse|logins [flags] (-h for the flags)", errUsage)
	}
	fs := flag.NewFlagSet("bench list", flag.ContinueOnError)
	base := fs.String("url", "http://localhost:8080", "the API's base URL")
	clients := fs.Int("clients", 100, "concurrent clients")
	duration := fs.Duration("duration", 30*time.Second, "how long each scenario runs")
	only := fs.String("scenario", "", "comma-separated scenarios (newest, deep-5000, ending-soon, search, search-mix); all by default")
	warmup := fs.Duration("warmup", 3*time.Second, "unmeasured load before each scenario")
	cache := fs.String("cache", "", "the target's GAVEL_LIST_CACHE_TTL, to label the figures (0: off); the client cannot tell")
	rounds := fs.Int("rounds", 1, "how many times to run the scenarios in turn; with more than one, each scenario's runs are also summed and compared with newest's: rounds spread the machine's drift over every scenario alike")
	if help, err := parseFlags(fs, args[1:], stdout); help || err != nil {
		return err
	}
	cacheLine, err := listCacheLine(*cache)
	if err != nil {
		return err
	}
	if *clients < 1 || *duration <= 0 || *rounds < 1 {
		return fmt.Errorf("%w: --clients, --duration and --rounds must be positive", errUsage)
	}
	client := bench.NewClient(*clients)
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	fmt.Fprintf(stdout, "%d clients, %s per scenario, against %s\n", *clients, *duration, *base)
	fmt.Fprintln(stdout, cacheLine)
	fmt.Fprintln(stdout, "clock: per request, from sending it to reading its whole answer (a closed loop: each client sends its next request when its answer is read)")
	type scenario struct {
		name string
		urls []string
		runs []bench.Report
	}
	var ran []*scenario
	for _, sc := range bench.ListScenarios {
		if len(want) > 0 && !want[sc.Name] {
			continue
		}
		urls, err := sc.URLs(ctx, client, strings.TrimRight(*base, "/"))
		if err != nil {
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
		ran = append(ran, &scenario{name: sc.Name, urls: urls})
	}
	if len(ran) == 0 {
		return fmt.Errorf("%w: no scenario named %q", errUsage, *only)
	}
	for i := range *rounds {
		if *rounds > 1 {
			fmt.Fprintf(stdout, "round %d of %d\n", i+1, *rounds)
		}
		for _, sc := range ran {
			if *warmup > 0 {
				bench.Load(ctx, client, sc.name, sc.urls, *clients, *warmup)
			}
			r := bench.Load(ctx, client, sc.name, sc.urls, *clients, *duration)
			sc.runs = append(sc.runs, r)
			fmt.Fprintln(stdout, r)
		}
	}
	if *rounds > 1 {
		fmt.Fprintf(stdout, "the %d rounds summed (requests over measured time; %% of newest's rate summed alike):\n", *rounds)
		sums := make([]bench.Report, len(ran))
		var newest float64
		for i, sc := range ran {
			sums[i] = bench.Sum(sc.runs)
			if sc.name == "newest" {
				newest = sums[i].RPS()
			}
		}
		for _, sum := range sums {
			line := sum.Brief()
			if newest > 0 {
				line += fmt.Sprintf("  %.1f %% of newest", 100*sum.RPS()/newest)
			}
			fmt.Fprintln(stdout, line)
		}
	}
	return nil
}

// runBenchBids is `gavel bench bids`: bidders with real sessions bid through the HTTP API;
// with DATABASE_URL set to the same database, it then measures the decisions and checks
// the invariants, and fails when one is broken.
func runBenchBids(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("bench bids", flag.ContinueOnError)
	base := fs.String("url", "http://localhost:8080", "the API's base URL")
	mode := fs.String("mode", "hot", "hot (every bidder on one auction) or spread (over --auctions)")
	bidders := fs.Int("bidders", 100, "concurrent bidders, each with its own session")
	auctions := fs.Int("auctions", 10_000, "auctions for the spread mode")
	duration := fs.Duration("duration", 20*time.Second, "how long to bid")
	proxies := fs.Float64("proxy-share", 0, "the share of bids sent as proxy bids (0..1), each with a maximum a few increments above its amount")
	metrics := fs.String("metrics-url", "http://"+devMetricsAddr+"/metrics", "comma-separated /metrics of the processes running the worker, for its decision histogram (default: gavel dev's GAVEL_METRICS_ADDR, which has the worker's)")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	baseURL := strings.TrimRight(*base, "/")
	var metricsURLs []string
	for _, u := range strings.Split(*metrics, ",") {
		if u = strings.TrimSpace(u); u != "" {
			metricsURLs = append(metricsURLs, u)
		}
	}
	n := 1
	switch *mode {
	case "hot":
	case "spread":
		n = *auctions
	default:
		return fmt.Errorf("%w: --mode is hot or spread", errUsage)
	}
	if *bidders < 1 || n < 1 || *duration <= 0 || *proxies < 0 || *proxies > 1 {
		return fmt.Errorf("%w: --bidders, --auctions and --duration must be positive, --proxy-share from 0 to 1", errUsage)
	}
	run, err := bench.RunBids(ctx, bench.BidOptions{BaseURL: baseURL, Bidders: *bidders,
		Auctions: n, Duration: *duration, Log: log, MetricsURLs: metricsURLs, ProxyShare: *proxies})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d bidders on %d auction(s) for %s, %.0f%% of the bids proxy bids\n", *mode, *bidders, n,
		run.Elapsed.Round(time.Millisecond), 100**proxies)
	fmt.Fprintf(stdout, "accepted %8.0f bids/s  (%d accepted, refused %v, errors %d)  answer p50 %s p99 %s\n",
		float64(run.Accepted)/run.Elapsed.Seconds(), run.Accepted, run.Refused, run.Errors,
		run.P50.Round(10*time.Microsecond), run.P99.Round(10*time.Microsecond))
	fmt.Fprintln(stdout, "  answer: client clock, from sending POST .../bids to reading its answer; accepted/s over the bidding time")
	if cfg.DatabaseURL == "" {
		fmt.Fprintln(stdout, "set DATABASE_URL to the API's database to measure decisions and check the invariants")
		return nil
	}
	d, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintln(stdout, "database:", describeDB(ctx, d, cfg.DatabaseURL))
	check, err := bench.VerifyBids(ctx, d, run)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "decided  %8.0f bids/s  (%d decided)\n", check.DecidedPerSec, check.Decided)
	fmt.Fprintln(stdout, "  decided/s: database clock, from the first bid's created_at to the last decision's decided_at (its transaction's start)")
	lat, err := bench.MeasureDecisionLatency(ctx, run, check.Decided)
	if err != nil {
		return err
	}
	if lat == nil {
		fmt.Fprintf(stdout, "acceptance to decision commit: not measured (%s has no %s; pass --metrics-url with the worker's GAVEL_METRICS_ADDR)\n",
			strings.Join(metricsURLs, ","), bench.DecisionHistogram)
	} else {
		fmt.Fprintf(stdout, "acceptance to decision commit p50 %s p99 %s  (%.0f decisions observed of %d)\n",
			quantile(lat.P50, lat.P50Above), quantile(lat.P99, lat.P99Above), lat.Observed, check.Decided)
		fmt.Fprintf(stdout, "  from the worker's histogram %s (its help: %q): the worker observes time.Since(bid created_at) once the decision's commit has returned, so the clock starts at the bid's placing statement (before the bid's commit, database clock) and stops after the decision's commit (worker clock); interpolated in buckets %s (p50) and %s (p99) wide\n",
			bench.DecisionHistogram, lat.Help, lat.P50Width.Round(10*time.Microsecond), lat.P99Width.Round(10*time.Microsecond))
	}
	if len(check.Problems) > 0 {
		for _, p := range check.Problems[:min(len(check.Problems), 20)] {
			fmt.Fprintln(stdout, "INVARIANT BROKEN:", p)
		}
		return fmt.Errorf("%d invariant violations", len(check.Problems))
	}
	fmt.Fprintf(stdout, "accepted equals decided: %d bids answered 202/201, %d decided, each accepted ID decided\n", len(run.AcceptedIDs), check.Decided)
	fmt.Fprintln(stdout, "invariants hold: nothing pending, one leader per auction, points conserved and held by leading bids, ledger matches")
	return nil
}

// quantile prints a quantile from a histogram, "> X" when it is past the last bucket.
func quantile(d time.Duration, above bool) string {
	s := d.Round(10 * time.Microsecond).String()
	if above {
		return "> " + s
	}
	return s
}

// listCacheLine labels the listing figures with the target's list cache, as the command
// line states it.
func listCacheLine(ttl string) (string, error) {
	if ttl == "" {
		return "list cache: not stated (pass --cache with the target's GAVEL_LIST_CACHE_TTL)", nil
	}
	d, err := time.ParseDuration(ttl)
	if err != nil || d < 0 {
		return "", fmt.Errorf("%w: --cache is a duration (0 for off), as GAVEL_LIST_CACHE_TTL", errUsage)
	}
	if d == 0 {
		return "list cache OFF (GAVEL_LIST_CACHE_TTL=0): every request runs its query", nil
	}
	return fmt.Sprintf("list cache ON (GAVEL_LIST_CACHE_TTL=%s): a page may be served from memory for that long; not query speed", d), nil
}

// describeDB names the database a benchmark checks, without credentials.
func describeDB(ctx context.Context, d *db.DB, dsn string) string {
	where := "embedded SQLite"
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		where = u.Scheme + "://" + u.Host + u.Path
		if u.Scheme == "sqlite" {
			where = dsn
		}
	}
	var version string
	if d.Kind == db.Postgres {
		if err := d.NewRaw("SHOW server_version").Scan(ctx, &version); err == nil {
			return "PostgreSQL " + version + " at " + where
		}
	}
	return string(d.Kind) + " at " + where
}

// runBenchSettle times one scheduler closing and settling many auctions that end together.
func runBenchSettle(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("bench settle", flag.ContinueOnError)
	auctions := fs.Int("auctions", 50_000, "auctions ending together, each with two bids")
	bidders := fs.Int("bidders", 1_000, "bidders")
	sellers := fs.Int("sellers", 1_000, "sellers the auctions are spread over (1: every settlement pays the same seller)")
	parallel := fs.Int("parallel", 8, "auctions closed at a time")
	proxy := fs.Bool("proxy", false, "make every winner a proxy bid holding more than its price (settling releases the rest)")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if *auctions < 1 || *bidders < 2 || *parallel < 1 || *sellers < 1 {
		return fmt.Errorf("%w: --auctions, --sellers, --parallel >= 1 and --bidders >= 2", errUsage)
	}
	d, err := openAndMigrateDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	run, err := bench.RunSettle(ctx, bench.SettleOptions{DB: d, Log: log, Auctions: *auctions, Bidders: *bidders, Sellers: *sellers,
		Batch: cfg.BatchSize, Parallel: *parallel, Proxy: *proxy})
	if run != nil {
		winners := map[bool]string{false: "straight", true: "proxy"}[*proxy]
		fmt.Fprintf(stdout, "settled %d of %d auctions (%s winners) in %s: %.0f auctions/s (skipped %d, failed %d; %d at a time, chunks of %d)\n",
			run.Result.Processed, run.Auctions, winners, run.Took.Round(time.Millisecond), run.PerSecond(),
			run.Result.Skipped, run.Result.Failed, *parallel, cfg.BatchSize)
	}
	fmt.Fprintln(stdout, "  clock: in this process, from the start to the return of one close-ended-auctions batch (auction.Bidding.CloseEnded, no follow-up tasks queued)")
	fmt.Fprintln(stdout, "database:", describeDB(ctx, d, cfg.DatabaseURL))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "invariants hold: every auction DONE and won by its leading bid, one winner, payment and payout each, nothing held, points conserved")
	return nil
}

// runBenchSSE holds many auction streams open on a running Gavel while bids change prices;
// with DATABASE_URL set to the API's database it counts lost events against the price
// changes the database recorded.
func runBenchSSE(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("bench sse", flag.ContinueOnError)
	base := fs.String("url", "http://localhost:8080", "the API's base URL")
	clients := fs.Int("clients", 10_000, "event streams to hold open")
	auctions := fs.Int("auctions", 100, "auctions the streams are spread over")
	bidders := fs.Int("bidders", 20, "bidders")
	rate := fs.Int("rate", 50, "bids per second")
	duration := fs.Duration("duration", 20*time.Second, "how long to bid")
	debug := fs.String("debug-url", "", "the API's GAVEL_DEBUG_ADDR listener, to collect garbage before reading memory")
	metricsURL := fs.String("metrics-url", "http://"+devMetricsAddr+"/metrics", "the API's /metrics (on its GAVEL_METRICS_ADDR), for its memory")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if *clients < 1 || *auctions < 1 || *bidders < 1 || *rate < 1 || *duration <= 0 {
		return fmt.Errorf("%w: every number must be positive", errUsage)
	}
	o := bench.SSEOptions{BaseURL: strings.TrimRight(*base, "/"), Clients: *clients, Auctions: *auctions,
		Bidders: *bidders, BidRate: *rate, Duration: *duration, DebugURL: strings.TrimRight(*debug, "/"), MetricsURL: *metricsURL, Log: log}
	dbLine := "database: not given (set DATABASE_URL to the API's database to count lost events against its decisions)"
	if cfg.DatabaseURL != "" {
		d, err := openDB(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer d.Close()
		o.DB = d
		dbLine = "database: " + describeDB(ctx, d, cfg.DatabaseURL)
	}
	run, err := bench.RunSSE(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d streams over %d auctions, %d bids accepted in %s\n", run.Connected, *auctions, run.Bids, *duration)
	fmt.Fprintln(stdout, dbLine)
	fmt.Fprintf(stdout, "delivered %d price events: decision to delivery p50 %s p99 %s max %s\n", run.Events,
		run.P50.Round(time.Millisecond), run.P99.Round(time.Millisecond), run.Max.Round(time.Millisecond))
	fmt.Fprintln(stdout, "  decision to delivery: from the event's at (the decision transaction's now(), its start, database clock) to the stream's reader reading it (client clock)")
	fmt.Fprintf(stdout, "memory per stream: %.1f KiB resident, %.1f KiB Go heap\n", run.BytesPerConn/1024, run.HeapPerConn/1024)
	var problems []string
	if run.Checked {
		fmt.Fprintf(stdout, "the database recorded %d price changes on these auctions (one per decision round that changed the leading bid; %d bids led only within their round and have no event of their own)\n",
			run.Changes, run.Superseded)
		fmt.Fprintf(stdout, "lost %d (price changes of its auction a connected stream did not receive, summed over streams; %d of the changes reached no stream), %d received prices the database has no change for\n",
			run.Lost, run.Unpublished, run.Unexpected)
		if run.Lost > 0 || run.Unexpected > 0 {
			problems = append(problems, fmt.Sprintf("%d events lost, %d unexpected", run.Lost, run.Unexpected))
		}
		if run.Pending > 0 {
			problems = append(problems, fmt.Sprintf("%d bids still pending after a minute", run.Pending))
		}
	}
	if run.OutOfOrder > 0 || run.Connected < *clients {
		problems = append(problems, fmt.Sprintf("%d out of order, %d of %d streams open", run.OutOfOrder, run.Connected, *clients))
	}
	if len(problems) > 0 {
		return fmt.Errorf("bench sse: %s", strings.Join(problems, "; "))
	}
	if run.Checked {
		fmt.Fprintln(stdout, "every connected stream received every price change the database recorded, in order")
	} else {
		fmt.Fprintln(stdout, "no event out of order; losses not checked (no database)")
	}
	return nil
}
