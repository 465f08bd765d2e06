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
	"github.com/gavelhq/gavel/live"
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
	// PollInterval is how often Asynq looks for due and delayed tasks; 0 is
	// DefaultPollInterval. `gavel dev` on its in-process Redis takes a longer one, whose
	// scripts are expensive to run idle.
	PollInterval time.Duration
}

// DefaultPollInterval is how often the worker looks for tasks on a real Redis: the
// defaults (1 s, 5 s) would add that much latency to every bid decision.
const DefaultPollInterval = 10 * time.Millisecond

// Run serves tasks until ctx is done, then stops taking new ones and lets those in
// flight finish within the shutdown timeout.
func Run(ctx context.Context, log *slog.Logger, d *db.DB, rdb redis.UniversalClient, cfg Config) error {
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 20
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: cfg.Concurrency,
		Queues:      jobs.QueueWeights,
		// A window's decision task is scheduled for the window's end: the forwarder must
		// move it to its queue promptly (see DefaultPollInterval).
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.PollInterval,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		RetryDelayFunc:           retryDelay,
		Logger:                   asynqLogger{log},
		BaseContext:              func() context.Context { return ctx },
	})
	mux := newMux(log, d, jobs.NewClient(rdb), newMetrics(cfg.Metrics, rdb), cfg.OneBidPerDecision, live.Publisher{Redis: rdb})
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	log.Info("worker started", "concurrency", cfg.Concurrency)
	<-ctx.Done()
	srv.Shutdown()
	log.Info("worker stopped")
	return nil
}

// Mux routes task types to their handlers, as Run does: follow-up tasks are queued and
// live events published on rdb (nil: none are, and notifications are only stored).
func Mux(log *slog.Logger, d *db.DB, rdb redis.UniversalClient) *asynq.ServeMux {
	if rdb == nil {
		return newMux(log, d, nil, newMetrics(nil, nil), false, nil)
	}
	return newMux(log, d, jobs.NewClient(rdb), newMetrics(nil, nil), false, live.Publisher{Redis: rdb})
}

func newMux(log *slog.Logger, d *db.DB, client *asynq.Client, m *metrics, oneBid bool, pub auction.Publisher) *asynq.ServeMux {
	catalogue := &auction.Catalogue{DB: d, Log: log}
	if pub != nil {
		catalogue.Status = pub // the status event of an auction opened
	}
	bidding := &auction.Bidding{DB: d, Log: log, OneBidPerDecision: oneBid}
	mux := asynq.NewServeMux()
	mux.Use(logTasks(log))
	mux.HandleFunc(jobs.TypeAuctionOpen, handleAuctionOpen(catalogue))
	mux.HandleFunc(jobs.TypeAuctionClose, handleAuctionClose(log, bidding, client))
	mux.HandleFunc(jobs.TypeBidDecide, handleBidDecide(log, bidding, client, m))
	mux.HandleFunc(jobs.TypeBidLog, handleBidLog(bidding))
	mux.HandleFunc(jobs.TypePointsRelease, handlePointsRelease(bidding))
	mux.HandleFunc(jobs.TypeNotifyEvents, handleNotifyEvents(&auction.Notifier{DB: d, Publisher: pub}, m))
	return mux
}

// handleBidDecide decides the pending bids of the task's auction, or every pending bid
// for a window's task, then queues the follow-ups. A bid another task already decided
// leaves nothing to do, so duplicates are harmless.
func handleBidDecide(log *slog.Logger, b *auction.Bidding, client *asynq.Client, m *metrics) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p jobs.BidDecidePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.AuctionID < 0 {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		if p.AuctionID > 0 {
			d, err := b.Decide(ctx, p.AuctionID)
			if errors.Is(err, auction.ErrNotFound) {
				return fmt.Errorf("auction %d: %w", p.AuctionID, asynq.SkipRetry)
			}
			if err != nil {
				return err
			}
			followUp(ctx, log, client, m, []auction.Decision{*d})
			return nil
		}
		// A window's task: wait for the window's end, then decide the pending bids in one
		// round, a batch of auctions per transaction (another round at once only when one
		// was full). Auctions another task holds are skipped, not waited for; that task's
		// read may have come before some of this window's bids committed, so after a round
		// that skipped some, the task looks again a window later. Each round commits
		// durably, and on a hot auction the bids are placed against those WAL flushes; so
		// rounds come about once per window, not back to back.
		if wait := time.Until(time.Unix(0, p.NotBefore)); p.NotBefore > 0 && wait > 0 {
			if !sleep(ctx, wait) {
				return ctx.Err()
			}
		}
		for {
			ds, skipped, err := b.DecidePending(ctx, decideBatch)
			if err != nil {
				return err
			}
			followUp(ctx, log, client, m, ds)
			switch {
			case len(ds) == decideBatch:
			case !skipped:
				return nil
			case !sleep(ctx, jobs.DecisionWindow):
				return ctx.Err()
			}
		}
	}
}

// retryDelay is how long a failed task waits before its next try. A bid's decision tries
// again within a second at first, at most 5 s apart: a bidder is waiting for it, and what
// fails it is most often passing (a connection that died with a restarted PostgreSQL
// fails its next statement). Under Asynq's default (15 s and more) such a bid waited for
// the scheduler's reconcile-bids, which decides the bids pending for 5 s. Other tasks keep
// the default.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if t.Type() == jobs.TypeBidDecide {
		return min(250*time.Millisecond<<min(max(n-1, 0), 5), 5*time.Second)
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// sleep waits for d (nothing when d <= 0), false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// decideBatch is how many auctions one decision transaction takes at most.
const decideBatch = 500

// followUp counts the decisions, whose transaction has committed, and queues their
// follow-up tasks. The latency ends now, at the commit, not at decided_at (the
// transaction's start).
func followUp(ctx context.Context, log *slog.Logger, client *asynq.Client, m *metrics, ds []auction.Decision) {
	now := time.Now()
	for _, d := range ds {
		for _, bid := range d.Decided {
			m.decided.WithLabelValues(bid.Status).Inc() // leading, rejected, or outbid later in the batch
			m.latency.Observe(now.Sub(bid.CreatedAt).Seconds())
		}
	}
	if client != nil {
		jobs.QueueFollowUps(ctx, log, client, ds, nil)
	}
}

// handlePointsRelease gives the bids' held points back, each once.
func handlePointsRelease(b *auction.Bidding) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p jobs.PointsReleasePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || len(p.BidIDs) == 0 {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		_, err := b.ReleaseBids(ctx, p.BidIDs)
		return err
	}
}

// handleNotifyEvents pushes the outbox rows of decisions and settlements: it stores the
// notifications of their events, publishes them and the auctions' new prices and statuses
// to the live streams, and deletes the rows. (A task of an older version carries events
// and no rows.)
func handleNotifyEvents(n *auction.Notifier, m *metrics) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p jobs.NotifyEventsPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || len(p.Events) == 0 {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		if err := n.Push(ctx, p.OutboxIDs, p.Events); err != nil {
			return err
		}
		for _, e := range p.Events {
			m.events.WithLabelValues(e.Kind).Inc()
		}
		return nil
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

// handleAuctionClose closes and settles the auction if its end has come. A task for an end
// that moved later, for a deleted auction, or run twice finds nothing to do.
func handleAuctionClose(log *slog.Logger, b *auction.Bidding, client *asynq.Client) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p jobs.AuctionClosePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.AuctionID <= 0 {
			return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
		}
		s, err := b.Close(ctx, p.AuctionID, false)
		if err != nil || s == nil {
			return err
		}
		log.Debug("auction closed", "auction_id", p.AuctionID, "winner", s.Winner != nil)
		if client != nil {
			jobs.QueueFollowUps(ctx, log, client, nil, []*auction.Settlement{s})
		}
		return nil
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
