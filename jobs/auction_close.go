package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeAuctionClose closes and settles one auction at its end.
const TypeAuctionClose = "auction:close"

// AuctionClosePayload is the payload of TypeAuctionClose.
type AuctionClosePayload struct {
	AuctionID int64 `json:"auction_id"`
}

// NewAuctionCloseTask makes the task that closes the auction at `at`. Its ID names the
// auction and the end, so scheduling the same end twice enqueues it once.
func NewAuctionCloseTask(auctionID int64, at time.Time) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(AuctionClosePayload{AuctionID: auctionID})
	return asynq.NewTask(TypeAuctionClose, payload), []asynq.Option{
		asynq.Queue(QueueCritical),
		asynq.TaskID(closeTaskID(auctionID, at)),
		asynq.ProcessAt(at),
		asynq.MaxRetry(25),
		asynq.Timeout(time.Minute),
	}
}

func closeTaskID(auctionID int64, at time.Time) string {
	return fmt.Sprintf("auction:close:%d:%d", auctionID, at.UnixMilli())
}

// ScheduleClose implements auction.Transitions.
func (e *Enqueuer) ScheduleClose(ctx context.Context, auctionID int64, at time.Time) error {
	task, opts := NewAuctionCloseTask(auctionID, at)
	return ignoreConflict(e.Client.EnqueueContext(ctx, task, opts...))
}

// Cancel implements auction.Transitions: it deletes the open and close tasks scheduled for
// start and end, if they are still waiting. Without an Inspector it does nothing; the
// tasks then run and find nothing to do.
func (e *Enqueuer) Cancel(_ context.Context, auctionID int64, start, end time.Time) {
	if e.Inspector == nil {
		return
	}
	for _, t := range []struct{ queue, id string }{
		{QueueDefault, openTaskID(auctionID, start)},
		{QueueCritical, closeTaskID(auctionID, end)},
	} {
		if err := e.Inspector.DeleteTask(t.queue, t.id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) &&
			!errors.Is(err, asynq.ErrQueueNotFound) && e.Log != nil {
			e.Log.Warn("cancel auction task", "task_id", t.id, "err", err)
		}
	}
}
