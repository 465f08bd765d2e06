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
)

// loginTarget is how soon after the storm a normal login should answer 200 again.
const loginTarget = 2 * time.Second

// runBenchLogins is `gavel bench logins`: a burst of signups and failed logins from one
// client, then how long a prepared user's normal login takes to answer 200 again. The
// storm's 429s and 503s are counted, not treated as errors; the command fails only when
// the prepared user cannot be set up or the target cannot be reached at all.
func runBenchLogins(ctx context.Context, log *slog.Logger, stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("bench logins", flag.ContinueOnError)
	base := fs.String("url", "http://localhost:8080", "the API's base URL")
	requests := fs.Int("requests", 200, "requests fired at once: half signups with new e-mails, half logins with unknown e-mails and wrong passwords")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long each request of the storm may take")
	recoverFor := fs.Duration("recover", time.Minute, "how long the prepared user's login is retried after the storm")
	probeFrom := fs.String("probe-from", "auto", `local IP of the prepared user's requests ("" for the system's choice; auto: 127.0.0.2 when --url is on IPv4 loopback, so that they come from another client IP than the storm)`)
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if *requests < 2 || *timeout <= 0 || *recoverFor <= 0 {
		return fmt.Errorf("%w: --requests must be at least 2, --timeout and --recover positive", errUsage)
	}
	baseURL := strings.TrimRight(*base, "/")
	from := *probeFrom
	if from == "auto" {
		from = bench.DefaultProbeFrom(baseURL)
	}
	run, err := bench.RunLoginStorm(ctx, bench.LoginStormOptions{BaseURL: baseURL, Requests: *requests,
		Timeout: *timeout, Recover: *recoverFor, ProbeFrom: from, Log: log})
	if err != nil {
		return err
	}
	probe := "the system's choice of local address"
	if from != "" {
		probe = from
	}
	fmt.Fprintf(stdout, "login storm: %d requests at once from one client against %s (%d signups with new e-mails, %d logins with unknown e-mails and wrong passwords)\n",
		*requests, baseURL, (*requests+1)/2, *requests/2)
	fmt.Fprintf(stdout, "signups: %s\n", bench.Counts(run.Signups))
	fmt.Fprintf(stdout, "logins:  %s\n", bench.Counts(run.Logins))
	if run.RetryAfter > 0 {
		fmt.Fprintf(stdout, "  %d of the 503s carried Retry-After\n", run.RetryAfter)
	}
	for kind, n := range run.Errors {
		fmt.Fprintf(stdout, "  no answer x%d: %s\n", n, kind)
	}
	fmt.Fprintf(stdout, "storm: %s from the first request sent to the last answer read (answer p50 %s, max %s)\n",
		run.Storm.Round(time.Millisecond), run.StormP50.Round(time.Millisecond), run.StormMax.Round(time.Millisecond))
	fmt.Fprintf(stdout, "prepared user's login (from %s): %s before the storm\n", probe, run.Baseline.Round(time.Millisecond))
	fmt.Fprintf(stdout, "  during: %s from the storm's start to its first 200 (%s; %d tries: %s)\n",
		run.During.Round(time.Millisecond), okOr(run.DuringOK, "no 200 before giving up"), run.DuringTries, bench.Counts(run.DuringStatus))
	verdict := "target met"
	if !run.AfterOK || run.After > loginTarget {
		verdict = "TARGET MISSED"
	}
	fmt.Fprintf(stdout, "  after:  %s from the storm's end (its last answer) to its first 200 (%s; %d tries: %s); target under %s: %s\n",
		run.After.Round(time.Millisecond), okOr(run.AfterOK, "no 200 within --recover"), run.AfterTries, bench.Counts(run.AfterStatus), loginTarget, verdict)
	fmt.Fprintln(stdout, "  clock: client, each login from sending it to reading its answer; retried every 100 ms (or as Retry-After says, up to 1 s) until a 200")
	return nil
}

func okOr(ok bool, otherwise string) string {
	if ok {
		return "answered 200"
	}
	return otherwise
}
