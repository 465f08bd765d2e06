package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeAuctionOpen opens one auction at its start.
const TypeAuctionOpen = "auction:open"

// AuctionOpenPayload is the payload of TypeAuctionOpen.
type AuctionOpenPayload struct {
	AuctionID int64 `json:"auction_id"`
}

// NewAuctionOpenTask makes the task that opens the auction at `at`. Its ID names the
// auction and the start, so scheduling the same start twice enqueues it once.
func NewAuctionOpenTask(auctionID int64, at time.Time) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(AuctionOpenPayload{AuctionID: auctionID})
	return asynq.NewTask(TypeAuctionOpen, payload), []asynq.Option{
		asynq.Queue(QueueDefault), // behind bid decisions: a late open is harmless, the window is judged by start_at
		asynq.TaskID(openTaskID(auctionID, at)),
		asynq.ProcessAt(at),
		asynq.MaxRetry(10),
		asynq.Timeout(30 * time.Second),
	}
}

func openTaskID(auctionID int64, at time.Time) string {
	return fmt.Sprintf("auction:open:%d:%d", auctionID, at.UnixMilli())
}

// ScheduleOpen implements auction.Transitions.
func (e *Enqueuer) ScheduleOpen(ctx context.Context, auctionID int64, at time.Time) error {
	task, opts := NewAuctionOpenTask(auctionID, at)
	return ignoreConflict(e.Client.EnqueueContext(ctx, task, opts...))
}
