package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeBidLog records a decided bid for the recommendations.
const TypeBidLog = "bid:log"

// BidLogPayload is the payload of TypeBidLog.
type BidLogPayload struct {
	BidID int64 `json:"bid_id"`
}

// NewBidLogTask makes the log task of a decided bid, once per bid.
func NewBidLogTask(bidID int64) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(BidLogPayload{BidID: bidID})
	return asynq.NewTask(TypeBidLog, payload), []asynq.Option{
		asynq.Queue(QueueLow),
		asynq.TaskID(fmt.Sprintf("bid:log:%d", bidID)),
		asynq.MaxRetry(10),
		asynq.Timeout(30 * time.Second),
	}
}
