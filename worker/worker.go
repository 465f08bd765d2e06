// Package worker is the Asynq server: it takes tasks from the queues of package jobs and
// hands each to a thin handler that decodes the payload and calls the domain.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/jobs"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Config tunes the worker.
type Config struct {
	Concurrency int
	// ShutdownTimeout is how long in-flight tasks may run after a stop is asked for.
	ShutdownTimeout time.Duration
	// Metrics receives the worker's metrics; nil keeps none.
	Metrics prometheus.Registerer
	// OneBidPerDecision decides one bid per transaction instead of all pending ones, to
	// compare the two designs in benchmarks.
	OneBidPerDecision bool
}

// Run serves tasks until ctx is done, then stops taking new ones and lets those in
// flight finish within the shutdown timeout.
func Run(ctx context.Context, log *slog.Logger, d *db.DB, rdb redis.UniversalClient, cfg Config) error {
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 20
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: cfg.Concurrency,
		Queues:      jobs.QueueWeights,
		// The defaults (1 s, 5 s) would add that much latency to every bid decision.
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: 250 * time.Millisecond,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		Logger:                   asynqLogger{log},
		BaseContext:              func() context.Context { return ctx },
	})
	mux := newMux(log, d, jobs.NewClient(rdb), newMetrics(cfg.Metrics, rdb), cfg.OneBidPerDecision)
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	log.Info("worker started", "concurrency", cfg.Concurrency)
	<-ctx.Done()
	srv.Shutdown()
	log.Info("worker stopped")
	return nil
}

// Mux routes task types to their handlers; follow-up tasks go through client (nil: none).
func Mux(log *slog.Logger, d *db.DB, client *asynq.Client) *asynq.ServeMux {
	return newMux(log, d, client, newMetrics(nil, nil), false)
}

func newMux(log *slog.Logger, d *db.DB, client *asynq.Client, m *metrics, oneBid bool) *asynq.ServeMux {
	catalogue := &auction.Catalogue{DB: d, Log: log}
	bidding := &auction.Bidding{DB: d, Log: log, OneBidPerDecision: oneBid}
	mux := asynq.NewServeMux()
	mux.Use(logTasks(log))
	mux.HandleFunc(jobs.TypeAuctionOpen, handleAuctionOpen(catalogue))
	mux.HandleFunc(jobs.TypeBidDecide, handleBidDecide(log, bidding, client, m))
	mux.HandleFunc(jobs.TypeBidLog, handleBidLog(bidding))
	mux.HandleFunc(jobs.TypePointsRelease, handlePointsRelease(bidding))
	return mux
}

// handleBidDecide decides every pending bid of the task's auction. A bid another task
// already decided leaves nothing to do, so duplicates are harmless.
func handleBidDecide(log *slog.Logger, b *auction.Bidding, client *asynq.Client, m *metrics) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p jobs.BidDecidePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.AuctionID <= 0 {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		d, err := b.Decide(ctx, p.AuctionID)
		if errors.Is(err, auction.ErrNotFound) {
			return fmt.Errorf("auction %d: %w", p.AuctionID, asynq.SkipRetry)
		}
		if err != nil {
			return err
		}
		for _, bid := range d.Decided {
			outcome := bid.Status // leading, rejected, or outbid later in the same batch
			m.decided.WithLabelValues(outcome).Inc()
			if bid.DecidedAt != nil {
				m.latency.Observe(bid.DecidedAt.Sub(bid.CreatedAt).Seconds())
			}
		}
		if client == nil {
			return nil
		}
		if len(d.Decided) == 0 {
			return nil
		}
		// Follow-ups, after the commit; the scheduler's reconcile-bids and log-decided-bids
		// do what a lost one would have.
		for _, bid := range d.Released {
			task, opts := jobs.NewPointsReleaseTask(bid.ID)
			if _, err := client.EnqueueContext(ctx, task, opts...); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
				log.Warn("queue points release", "bid_id", bid.ID, "err", err)
			}
		}
		ids := make([]int64, len(d.Decided))
		for i, bid := range d.Decided {
			ids[i] = bid.ID
		}
		task, opts := jobs.NewBidLogTask(ids)
		if _, err := client.EnqueueContext(ctx, task, opts...); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			log.Warn("queue bid log", "bids", len(ids), "err", err)
		}
		return nil
	}
}

// handlePointsRelease gives a bid's held points back, once.
func handlePointsRelease(b *auction.Bidding) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p jobs.PointsReleasePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.BidID <= 0 {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		err := b.Release(ctx, p.BidID)
		if errors.Is(err, auction.ErrNotFound) {
			return fmt.Errorf("bid %d: %w", p.BidID, asynq.SkipRetry)
		}
		return err
	}
}

// handleBidLog records the bids of a decision for the recommendations.
func handleBidLog(b *auction.Bidding) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p jobs.BidLogPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || len(p.BidIDs) == 0 {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		return b.LogBids(ctx, p.BidIDs)
	}
}

// handleAuctionOpen opens the auction if its start has come. An auction whose start moved
// later has a task of its own; the scheduler's batch opens any that a lost task missed.
func handleAuctionOpen(c *auction.Catalogue) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p jobs.AuctionOpenPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.AuctionID <= 0 {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		_, err := c.Open(ctx, p.AuctionID)
		return err
	}
}

// logTasks logs every task that fails, with its type and ID.
func logTasks(log *slog.Logger) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			start := time.Now()
			err := next.ProcessTask(ctx, t)
			id, _ := asynq.GetTaskID(ctx)
			if err != nil {
				log.Warn("task failed", "type", t.Type(), "task_id", id, "err", err, "took", time.Since(start))
			} else {
				log.Debug("task done", "type", t.Type(), "task_id", id, "took", time.Since(start))
			}
			return err
		})
	}
}

// asynqLogger sends Asynq's own logs to slog.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Info(args ...any)  { l.log.Info(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Error(args ...any) { l.log.Error(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Fatal(args ...any) { l.log.Error(fmt.Sprint(args...), "component", "asynq") }
