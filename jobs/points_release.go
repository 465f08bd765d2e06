package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypePointsRelease gives an outbid or rejected bid's held points back, once.
const TypePointsRelease = "points:release"

// PointsReleasePayload is the payload of TypePointsRelease.
type PointsReleasePayload struct {
	BidID int64 `json:"bid_id"`
}

// NewPointsReleaseTask makes the release task of a bid, once per bid.
func NewPointsReleaseTask(bidID int64) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(PointsReleasePayload{BidID: bidID})
	return asynq.NewTask(TypePointsRelease, payload), []asynq.Option{
		asynq.Queue(QueueCritical),
		asynq.TaskID(fmt.Sprintf("points:release:%d", bidID)),
		asynq.MaxRetry(25),
		asynq.Timeout(30 * time.Second),
	}
}
