package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gavelhq/gavel/bench"
)

// runBench is `gavel bench list`: it loads the listing API of a running Gavel.
func runBench(ctx context.Context, stdout io.Writer, args []string) error {
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("%w: usage: gavel bench list [--url URL] [--clients N] [--duration D] [--scenario NAME,...]", errUsage)
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
