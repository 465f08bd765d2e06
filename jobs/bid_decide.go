package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeBidDecide decides the pending bids of an auction, the given one among them.
const TypeBidDecide = "bid:decide"

// BidDecidePayload is the payload of TypeBidDecide.
type BidDecidePayload struct {
	AuctionID int64 `json:"auction_id"`
	BidID     int64 `json:"bid_id"`
}

// NewBidDecideTask makes the decision task of a bid; its ID is derived from the bid, so a
// bid is queued at most once at a time.
func NewBidDecideTask(auctionID, bidID int64) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(BidDecidePayload{AuctionID: auctionID, BidID: bidID})
	return asynq.NewTask(TypeBidDecide, payload), []asynq.Option{
		asynq.Queue(QueueCritical),
		asynq.TaskID(fmt.Sprintf("bid:decide:%d", bidID)),
		asynq.MaxRetry(25),
		asynq.Timeout(30 * time.Second),
	}
}

// ScheduleDecision implements auction.DecisionQueue.
func (e *Enqueuer) ScheduleDecision(ctx context.Context, auctionID, bidID int64) error {
	task, opts := NewBidDecideTask(auctionID, bidID)
	_, err := e.Client.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}
