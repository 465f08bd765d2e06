package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// TypeBidDecide decides pending bids: those of one auction when the payload names it
// (the per-bid design kept for comparison), otherwise every pending bid.
const TypeBidDecide = "bid:decide"

// BidDecidePayload is the payload of TypeBidDecide.
type BidDecidePayload struct {
	AuctionID int64 `json:"auction_id,omitempty"`
	BidID     int64 `json:"bid_id,omitempty"`
	// NotBefore (Unix nanoseconds), on a window's task, is when it may decide: the end of
	// its window, with a margin. The task waits for it in the worker: Asynq schedules by
	// whole seconds, so a task scheduled for that time could start up to a second early
	// and miss the bids of the rest of its window, which then waited for another window or
	// for the reconciliation.
	NotBefore int64 `json:"not_before,omitempty"`
}

// DecisionWindow is how long bids gather before one task decides them all. A bid accepted
// in window k is decided by the task of window k, which runs once the window is over.
// Every decision round commits durably, and a hot auction's bids are placed against those
// WAL flushes: at 20 ms, rounds back to back cost `hot` about 15 % of its bids per second;
// 40 ms halves the flushes for about 20 ms more to wait (docs/BENCHMARKS.md, issue 15).
const DecisionWindow = 40 * time.Millisecond

// decisionMargin delays a window's task a little past the window's end, for the clocks
// of the API and worker hosts; the scheduler's reconcile-bids covers a larger skew.
const decisionMargin = 2 * time.Millisecond

// NewBidDecideTask makes the decision task of one bid, for the per-bid design; its ID is
// derived from the bid, so a bid is queued at most once at a time.
func NewBidDecideTask(auctionID, bidID int64) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(BidDecidePayload{AuctionID: auctionID, BidID: bidID})
	return asynq.NewTask(TypeBidDecide, payload), decideOptions(fmt.Sprintf("bid:decide:%d", bidID))
}

// NewWindowDecideTask makes the task that decides the bids accepted in the window
// holding at: one task per window, queued at once, that decides once the window is over
// (NotBefore). A bid committed before its enqueue finds either no task for its window
// (and makes it) or one that has not decided yet.
func NewWindowDecideTask(at time.Time) (*asynq.Task, []asynq.Option) {
	window := at.UnixNano() / int64(DecisionWindow)
	notBefore := time.Unix(0, (window+1)*int64(DecisionWindow)).Add(decisionMargin)
	payload, _ := json.Marshal(BidDecidePayload{NotBefore: notBefore.UnixNano()})
	return asynq.NewTask(TypeBidDecide, payload), decideOptions(fmt.Sprintf("bid:decide:w%d", window))
}

func decideOptions(id string) []asynq.Option {
	return []asynq.Option{
		asynq.Queue(QueueCritical),
		asynq.TaskID(id),
		asynq.MaxRetry(25),
		asynq.Timeout(30 * time.Second),
	}
}

// ScheduleDecision implements auction.DecisionQueue. With PerBid every bid gets a task of
// its own; otherwise the bid joins its window's task, and a window this enqueuer already
// queued costs no round trip to Redis.
func (e *Enqueuer) ScheduleDecision(ctx context.Context, auctionID, bidID int64) error {
	if e.PerBid {
		task, opts := NewBidDecideTask(auctionID, bidID)
		return ignoreConflict(e.Client.EnqueueContext(ctx, task, opts...))
	}
	now := time.Now()
	window := now.UnixNano() / int64(DecisionWindow)
	if e.lastWindow.Load() == window {
		return nil
	}
	task, opts := NewWindowDecideTask(now)
	if err := ignoreConflict(e.Client.EnqueueContext(ctx, task, opts...)); err != nil {
		return err
	}
	e.lastWindow.Store(window)
	return nil
}

// NewEnqueuer returns an Enqueuer on rdb that can also cancel scheduled tasks.
func NewEnqueuer(rdb redis.UniversalClient, log *slog.Logger, perBid bool) *Enqueuer {
	return &Enqueuer{Client: NewClient(rdb), Inspector: asynq.NewInspectorFromRedisClient(rdb), Log: log, PerBid: perBid}
}

// Enqueuer queues the tasks that the API's domain asks for.
type Enqueuer struct {
	Client *asynq.Client
	// Inspector, when set, lets Cancel delete tasks scheduled for times that changed.
	Inspector *asynq.Inspector
	Log       *slog.Logger
	// PerBid queues one decision task per bid instead of one per window.
	PerBid bool

	lastWindow atomic.Int64
}

func ignoreConflict(_ *asynq.TaskInfo, err error) error {
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}
