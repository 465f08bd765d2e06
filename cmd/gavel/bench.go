package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/gavelhq/gavel/bench"
	"github.com/gavelhq/gavel/config"
)

// runBench is `gavel bench list|bids`: it loads the API of a running Gavel.
func runBench(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, args []string) error {
	if len(args) > 0 && args[0] == "bids" {
		return runBenchBids(ctx, cfg, log, stdout, args[1:])
	}
	if len(args) > 0 && args[0] == "settle" {
		return runBenchSettle(ctx, cfg, log, stdout, args[1:])
	}
	if len(args) > 0 && args[0] == "sse" {
		return runBenchSSE(ctx, log, stdout, args[1:])
	}
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("%w: usage: gavel bench list|bids|settle|sse [flags] (-h for the flags)", errUsage)
	}
	fs := flag.NewFlagSet("bench list", flag.ContinueOnError)
	base := fs.String("url", "http://localhost:8080", "the API's base URL")
	clients := fs.Int("clients", 100, "concurrent clients")
	duration := fs.Duration("duration", 30*time.Second, "how long each scenario runs")
	only := fs.String("scenario", "", "comma-separated scenarios (newest, deep-5000, ending-soon, search); all by default")
	warmup := fs.Duration("warmup", 3*time.Second, "unmeasured load before each scenario")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *clients < 1 || *duration <= 0 {
		return fmt.Errorf("%w: --clients and --duration must be positive", errUsage)
	}
	client := bench.NewClient(*clients)
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	fmt.Fprintf(stdout, "%d clients, %s per scenario, against %s\n", *clients, *duration, *base)
	ran := 0
	for _, sc := range bench.ListScenarios {
		if len(want) > 0 && !want[sc.Name] {
			continue
		}
		ran++
		urls, err := sc.URLs(ctx, client, strings.TrimRight(*base, "/"))
		if err != nil {
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
		if *warmup > 0 {
			bench.Load(ctx, client, sc.Name, urls, *clients, *warmup)
		}
		fmt.Fprintln(stdout, bench.Load(ctx, client, sc.Name, urls, *clients, *duration))
	}
	if ran == 0 {
		return fmt.Errorf("%w: no scenario named %q", errUsage, *only)
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
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	n := 1
	switch *mode {
	case "hot":
	case "spread":
		n = *auctions
	default:
		return fmt.Errorf("%w: --mode is hot or spread", errUsage)
	}
	if *bidders < 1 || n < 1 || *duration <= 0 {
		return fmt.Errorf("%w: --bidders, --auctions and --duration must be positive", errUsage)
	}
	run, err := bench.RunBids(ctx, bench.BidOptions{BaseURL: strings.TrimRight(*base, "/"), Bidders: *bidders,
		Auctions: n, Duration: *duration, Log: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d bidders on %d auction(s) for %s\n", *mode, *bidders, n, run.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "accepted %8.0f bids/s  (%d accepted, refused %v, errors %d)  answer p50 %s p99 %s\n",
		float64(run.Accepted)/run.Elapsed.Seconds(), run.Accepted, run.Refused, run.Errors,
		run.P50.Round(10*time.Microsecond), run.P99.Round(10*time.Microsecond))
	if cfg.DatabaseURL == "" {
		fmt.Fprintln(stdout, "set DATABASE_URL to the API's database to measure decisions and check the invariants")
		return nil
	}
	d, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	check, err := bench.VerifyBids(ctx, d, run)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "decided %8.0f bids/s  (%d decided)  acceptance to decision p50 %s p99 %s\n",
		check.DecidedPerSec, check.Decided, check.P50.Round(10*time.Microsecond), check.P99.Round(10*time.Microsecond))
	if len(check.Problems) > 0 {
		for _, p := range check.Problems[:min(len(check.Problems), 20)] {
			fmt.Fprintln(stdout, "INVARIANT BROKEN:", p)
		}
		return fmt.Errorf("%d invariant violations", len(check.Problems))
	}
	fmt.Fprintln(stdout, "invariants hold: nothing pending, one leader per auction, points conserved and held by leading bids, ledger matches")
	return nil
}

// runBenchSettle times one scheduler closing and settling many auctions that end together.
func runBenchSettle(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("bench settle", flag.ContinueOnError)
	auctions := fs.Int("auctions", 50_000, "auctions ending together, each with two bids")
	bidders := fs.Int("bidders", 1_000, "bidders")
	sellers := fs.Int("sellers", 1_000, "sellers the auctions are spread over (1: every settlement pays the same seller)")
	parallel := fs.Int("parallel", 8, "auctions closed at a time")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
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
		Batch: cfg.BatchSize, Parallel: *parallel})
	if run != nil {
		fmt.Fprintf(stdout, "settled %d of %d auctions in %s: %.0f auctions/s (skipped %d, failed %d; %d at a time, chunks of %d)\n",
			run.Result.Processed, run.Auctions, run.Took.Round(time.Millisecond), run.PerSecond(),
			run.Result.Skipped, run.Result.Failed, *parallel, cfg.BatchSize)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "invariants hold: every auction DONE and won by its leading bid, one winner, payment and payout each, nothing held, points conserved")
	return nil
}

// runBenchSSE holds many auction streams open on a running Gavel while bids change prices.
func runBenchSSE(ctx context.Context, log *slog.Logger, stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("bench sse", flag.ContinueOnError)
	base := fs.String("url", "http://localhost:8080", "the API's base URL")
	clients := fs.Int("clients", 10_000, "event streams to hold open")
	auctions := fs.Int("auctions", 100, "auctions the streams are spread over")
	bidders := fs.Int("bidders", 20, "bidders")
	rate := fs.Int("rate", 50, "bids per second")
	duration := fs.Duration("duration", 20*time.Second, "how long to bid")
	debug := fs.String("debug-url", "", "the API's GAVEL_DEBUG_ADDR listener, to collect garbage before reading memory")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *clients < 1 || *auctions < 1 || *bidders < 1 || *rate < 1 || *duration <= 0 {
		return fmt.Errorf("%w: every number must be positive", errUsage)
	}
	run, err := bench.RunSSE(ctx, bench.SSEOptions{BaseURL: strings.TrimRight(*base, "/"), Clients: *clients, Auctions: *auctions,
		Bidders: *bidders, BidRate: *rate, Duration: *duration, DebugURL: strings.TrimRight(*debug, "/"), Log: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d streams over %d auctions, %d bids accepted in %s\n", run.Connected, *auctions, run.Bids, *duration)
	fmt.Fprintf(stdout, "delivered %d price events: decision to delivery p50 %s p99 %s max %s\n", run.Events,
		run.P50.Round(time.Millisecond), run.P99.Round(time.Millisecond), run.Max.Round(time.Millisecond))
	fmt.Fprintf(stdout, "memory per stream: %.1f KiB resident, %.1f KiB Go heap\n", run.BytesPerConn/1024, run.HeapPerConn/1024)
	if run.Lost > 0 || run.OutOfOrder > 0 || run.Connected < *clients {
		return fmt.Errorf("bench sse: %d events lost, %d out of order, %d of %d streams open", run.Lost, run.OutOfOrder, run.Connected, *clients)
	}
	fmt.Fprintln(stdout, "no event lost or out of order for connected clients")
	return nil
}
