// Package scheduler runs Gavel's batch jobs on a cron schedule, or once for Jenkins and
// crontab. Every job is safe to run twice at once and to re-run after a crash.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/jobs"
	"github.com/gavelhq/gavel/likes"
	"github.com/gavelhq/gavel/live"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"
)

// Result is what one run of a job did: items processed, skipped (another scheduler or a
// task had them, or nothing was left to do) and failed.
type Result = auction.BatchResult

// Job is one batch job.
type Job struct {
	Name string
	Run  func(ctx context.Context) (Result, error)
}

// Deps are what the jobs need.
type Deps struct {
	Log *slog.Logger
	DB  *db.DB
	// Redis receives the follow-up tasks of settlements (releases, bid logs,
	// notifications); nil leaves releases and logs to reconcile-bids and log-decided-bids.
	Redis redis.UniversalClient
	// BatchSize is how many auctions a chunk takes (default 500).
	BatchSize int
	// StaleAfter is how long a bid may stay pending, or an outbox row unpushed, before
	// reconcile-bids or push-notifications takes it for lost (default 5 s).
	StaleAfter time.Duration
	// Metrics receives the per-job counters and durations; nil keeps none.
	Metrics prometheus.Registerer
}

// closers is how many auctions one scheduler closes at a time, each in its own transaction.
const closers = 8

// Jobs returns the batch jobs, in the order --once runs them.
func Jobs(deps Deps) []Job {
	log, d := deps.Log, deps.DB
	if deps.BatchSize <= 0 {
		deps.BatchSize = 500
	}
	if deps.StaleAfter <= 0 {
		deps.StaleAfter = 5 * time.Second
	}
	var queue *asynq.Client
	if deps.Redis != nil {
		queue = jobs.NewClient(deps.Redis)
	}
	catalogue := &auction.Catalogue{DB: d, Log: log}
	bidding := &auction.Bidding{DB: d, Log: log}
	notifier := &auction.Notifier{DB: d}
	if deps.Redis != nil {
		notifier.Publisher = live.Publisher{Redis: deps.Redis}
		catalogue.Status = live.Publisher{Redis: deps.Redis}
	}
	return []Job{
		{Name: "open-due-auctions", Run: func(ctx context.Context) (Result, error) {
			n, err := catalogue.OpenDue(ctx, deps.BatchSize)
			return Result{Processed: int(n)}, err
		}},
		{Name: "close-ended-auctions", Run: func(ctx context.Context) (Result, error) {
			return bidding.CloseEnded(ctx, deps.BatchSize, closers, func(s *auction.Settlement) {
				if queue != nil {
					jobs.QueueFollowUps(ctx, log, queue, nil, []*auction.Settlement{s})
				}
			})
		}},
		{Name: "reconcile-bids", Run: func(ctx context.Context) (Result, error) {
			// A bid still pending after a few seconds lost its task (a dead worker, an
			// emptied Redis): decide it from the database. Then release what a lost
			// points:release task did not.
			// Its decisions get the follow-ups of a worker's (releases, bid logs and the
			// push of their notifications and live events).
			ds, err := bidding.Reconcile(ctx, deps.StaleAfter)
			n := auction.CountDecided(ds)
			if n > 0 {
				log.Warn("decided bids whose tasks were lost", "count", n)
			}
			if len(ds) > 0 && queue != nil {
				jobs.QueueFollowUps(ctx, log, queue, ds, nil)
			}
			if err != nil {
				return Result{Processed: n}, err
			}
			m, err := bidding.ReconcileReleases(ctx)
			return Result{Processed: n + m}, err
		}},
		{Name: "push-notifications", Run: func(ctx context.Context) (Result, error) {
			// The outbox rows whose notify:events task was lost (an emptied Redis, a dead
			// worker), or is late: their notifications and live events.
			if deps.Redis == nil {
				return Result{}, nil // the rows wait for a run that can publish them
			}
			n, err := notifier.PushStale(ctx, deps.StaleAfter, deps.BatchSize)
			return Result{Processed: n}, err
		}},
		{Name: "log-decided-bids", Run: func(ctx context.Context) (Result, error) {
			n, err := bidding.LogUnloggedBids(ctx)
			return Result{Processed: n}, err
		}},
		{Name: "flush-likes", Run: func(ctx context.Context) (Result, error) {
			if deps.Redis == nil {
				return Result{}, nil // the likes wait in Redis for a run that has it
			}
			n, err := (&likes.Service{DB: d, Redis: deps.Redis}).Flush(ctx)
			return Result{Processed: n}, err
		}},
		{Name: "count-search-words", Run: func(ctx context.Context) (Result, error) {
			// The words no name has any more go, then how many auctions have each of the
			// others is counted again: a search's rarest word leads its read.
			pruned, err := db.PruneSearchTerms(ctx, d)
			if err != nil {
				return Result{Processed: int(pruned)}, err
			}
			n, err := db.CountSearchTerms(ctx, d)
			return Result{Processed: int(pruned + n)}, err
		}},
		{Name: "purge-idempotency-keys", Run: func(ctx context.Context) (Result, error) {
			// Keys are kept at least 24 h (api/openapi.yaml); two days leaves room for clock skew.
			n, err := db.PurgeIdempotencyKeys(ctx, d, time.Now().Add(-48*time.Hour))
			return Result{Processed: int(n)}, err
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

// RunOnce runs the jobs one after another, writes a one-line summary of each to out, and
// returns every failure.
func RunOnce(ctx context.Context, log *slog.Logger, js []Job, out io.Writer, m *Metrics) error {
	var errs []error
	for _, j := range js {
		res, took, err := runJob(ctx, log, j, m)
		status := "ok"
		if err != nil {
			status = "failed"
			errs = append(errs, fmt.Errorf("%s: %w", j.Name, err))
		}
		fmt.Fprintf(out, "%-24s %-6s processed=%d skipped=%d failed=%d took=%s\n",
			j.Name, status, res.Processed, res.Skipped, res.Failed, took.Round(time.Millisecond))
	}
	return errors.Join(errs...)
}

// Run runs every job every `every` until ctx is done, then waits for running jobs.
// A job still running when its next turn comes is skipped for that turn.
func Run(ctx context.Context, log *slog.Logger, js []Job, every time.Duration, m *Metrics) error {
	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	spec := "@every " + every.String()
	for _, j := range js {
		if _, err := c.AddFunc(spec, func() { _, _, _ = runJob(ctx, log, j, m) }); err != nil {
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

// runJob runs a job once, logs its summary (Info when it did something, Debug when not,
// Error when it failed) and counts it in m.
func runJob(ctx context.Context, log *slog.Logger, j Job, m *Metrics) (Result, time.Duration, error) {
	start := time.Now()
	res, err := j.Run(ctx)
	took := time.Since(start)
	m.observe(j.Name, res, took, err)
	attrs := []any{"job", j.Name, "processed", res.Processed, "skipped", res.Skipped, "failed", res.Failed, "took", took}
	switch {
	case err != nil:
		log.Error("batch job failed", append(attrs, "err", err)...)
	case res != Result{}:
		log.Info("batch job done", attrs...)
	default:
		log.Debug("batch job done", attrs...)
	}
	return res, took, err
}

// Metrics are the scheduler's: items by job and outcome, runs by job and result, and
// run durations. A nil *Metrics counts nothing.
type Metrics struct {
	items    *prometheus.CounterVec
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the scheduler's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gavel_batch_items_total", Help: "Items handled by the scheduler's batch jobs, by job and outcome (processed, skipped, failed).",
		}, []string{"job", "outcome"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gavel_batch_runs_total", Help: "Runs of the scheduler's batch jobs, by job and result (ok, failed).",
		}, []string{"job", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gavel_batch_duration_seconds", Help: "Duration of the scheduler's batch job runs.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300},
		}, []string{"job"}),
	}
	for _, c := range []prometheus.Collector{m.items, m.runs, m.duration} {
		_ = reg.Register(c) // a second scheduler in one process shares the first one's collectors
	}
	return m
}

func (m *Metrics) observe(job string, res Result, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.items.WithLabelValues(job, "processed").Add(float64(res.Processed))
	m.items.WithLabelValues(job, "skipped").Add(float64(res.Skipped))
	m.items.WithLabelValues(job, "failed").Add(float64(res.Failed))
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.runs.WithLabelValues(job, result).Inc()
	m.duration.WithLabelValues(job).Observe(took.Seconds())
}
