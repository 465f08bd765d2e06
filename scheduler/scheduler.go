// Package scheduler runs Gavel's batch jobs on a cron schedule, or once for Jenkins and
// crontab. Every job is safe to run twice at once and to re-run after a crash.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/robfig/cron/v3"
)

// Job is one batch job.
type Job struct {
	Name string
	Run  func(ctx context.Context) error
}

// Jobs returns the batch jobs, in the order --once runs them.
func Jobs(log *slog.Logger, d *db.DB) []Job {
	catalogue := &auction.Catalogue{DB: d, Log: log}
	bidding := &auction.Bidding{DB: d, Log: log}
	return []Job{
		{Name: "reconcile-bids", Run: func(ctx context.Context) error {
			// A bid still pending after a few seconds lost its task (a dead worker, an
			// emptied Redis): decide it from the database.
			n, err := bidding.Reconcile(ctx, 5*time.Second)
			if n > 0 {
				log.Warn("decided bids whose tasks were lost", "count", n)
			}
			if err != nil {
				return err
			}
			n, err = bidding.ReconcileReleases(ctx)
			if n > 0 {
				log.Info("released points of outbid and rejected bids", "count", n)
			}
			return err
		}},
		{Name: "log-decided-bids", Run: func(ctx context.Context) error {
			n, err := bidding.LogUnloggedBids(ctx)
			if n > 0 {
				log.Info("logged decided bids whose bid:log task was lost or late", "count", n)
			}
			return err
		}},
		{Name: "open-due-auctions", Run: func(ctx context.Context) error {
			n, err := catalogue.OpenDue(ctx)
			if n > 0 {
				log.Info("opened due auctions", "count", n)
			}
			return err
		}},
		{Name: "purge-idempotency-keys", Run: func(ctx context.Context) error {
			// Keys are kept at least 24 h (API.md); two days leaves room for clock skew.
			n, err := db.PurgeIdempotencyKeys(ctx, d, time.Now().Add(-48*time.Hour))
			if err == nil && n > 0 {
				log.Info("purged idempotency keys", "count", n)
			}
			return err
		}},
	}
}

// Select returns the jobs with the given names, or all of them when names is empty.
func Select(all []Job, names []string) ([]Job, error) {
	if len(names) == 0 {
		return all, nil
	}
	byName := map[string]Job{}
	for _, j := range all {
		byName[j.Name] = j
	}
	var out []Job
	for _, n := range names {
		j, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("scheduler: no job named %q", n)
		}
		out = append(out, j)
	}
	return out, nil
}

// RunOnce runs the jobs one after another and returns every failure.
func RunOnce(ctx context.Context, log *slog.Logger, js []Job) error {
	var errs []error
	for _, j := range js {
		if err := runJob(ctx, log, j); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", j.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Run runs every job every `every` until ctx is done, then waits for running jobs.
// A job still running when its next turn comes is skipped for that turn.
func Run(ctx context.Context, log *slog.Logger, js []Job, every time.Duration) error {
	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	spec := "@every " + every.String()
	for _, j := range js {
		if _, err := c.AddFunc(spec, func() { _ = runJob(ctx, log, j) }); err != nil {
			return fmt.Errorf("scheduler: schedule %s: %w", j.Name, err)
		}
	}
	c.Start()
	log.Info("scheduler started", "jobs", len(js), "every", every)
	<-ctx.Done()
	<-c.Stop().Done()
	log.Info("scheduler stopped")
	return nil
}

func runJob(ctx context.Context, log *slog.Logger, j Job) error {
	start := time.Now()
	err := j.Run(ctx)
	if err != nil {
		log.Error("batch job failed", "job", j.Name, "err", err, "took", time.Since(start))
		return err
	}
	log.Debug("batch job done", "job", j.Name, "took", time.Since(start))
	return nil
}
