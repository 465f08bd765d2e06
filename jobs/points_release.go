package jobs

import (
	"encoding/json"
	"time"

	"github.com/hibiken/asynq"
)

// TypePointsRelease gives the held points of outbid and rejected bids back, each once.
const TypePointsRelease = "points:release"

// PointsReleasePayload is the payload of TypePointsRelease.
type PointsReleasePayload struct {
	BidIDs []int64 `json:"bid_ids"`
}

// NewPointsReleaseTask makes the release task of the bids one decision released. A
// repeated task releases nothing twice: the ledger allows one release per bid.
func NewPointsReleaseTask(bidIDs []int64) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(PointsReleasePayload{BidIDs: bidIDs})
	return asynq.NewTask(TypePointsRelease, payload), []asynq.Option{
		asynq.Queue(QueueCritical),
		asynq.MaxRetry(25),
		asynq.Timeout(30 * time.Second),
	}
}
