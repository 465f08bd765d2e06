package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeBidLog records the bids of one decision for the recommendations.
const TypeBidLog = "bid:log"

// BidLogPayload is the payload of TypeBidLog.
type BidLogPayload struct {
	BidIDs []int64 `json:"bid_ids"`
}

// NewBidLogTask makes the log task of the bids decided together; decisions decide
// disjoint sets of bids, so the first bid names the task.
func NewBidLogTask(bidIDs []int64) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(BidLogPayload{BidIDs: bidIDs})
	first := int64(0)
	if len(bidIDs) > 0 {
		first = bidIDs[0]
	}
	return asynq.NewTask(TypeBidLog, payload), []asynq.Option{
		asynq.Queue(QueueLow),
		asynq.TaskID(fmt.Sprintf("bid:log:%d", first)),
		asynq.MaxRetry(10),
		asynq.Timeout(30 * time.Second),
	}
}
