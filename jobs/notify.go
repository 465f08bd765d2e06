package jobs

import (
	"encoding/json"
	"time"

	"github.com/gavelhq/gavel/auction"

	"github.com/hibiken/asynq"
)

// TypeNotifyEvents turns the events of one decision or settlement into notifications for
// the users they concern and into live events for the auction's stream.
const TypeNotifyEvents = "notify:events"

// NotifyEventsPayload is the payload of TypeNotifyEvents.
type NotifyEventsPayload struct {
	Events []auction.Event `json:"events"`
}

// NewNotifyEventsTask makes the task that delivers the events, in their order.
func NewNotifyEventsTask(events []auction.Event) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(NotifyEventsPayload{Events: events})
	return asynq.NewTask(TypeNotifyEvents, payload), []asynq.Option{
		asynq.Queue(QueueDefault),
		asynq.MaxRetry(10),
		asynq.Timeout(30 * time.Second),
	}
}
