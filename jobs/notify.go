package jobs

import (
	"encoding/json"
	"time"

	"github.com/gavelhq/gavel/auction"

	"github.com/hibiken/asynq"
)

// TypeNotifyEvents pushes committed outbox rows: it turns the events of decisions and
// settlements into notifications for the users they concern and into live events for the
// auctions' streams, then deletes the rows. A lost task costs a delay, not a notification:
// the scheduler's push-notifications pushes the rows left behind.
const TypeNotifyEvents = "notify:events"

// NotifyEventsPayload is the payload of TypeNotifyEvents: the outbox rows and their
// events (a copy, so that the push need not read them back).
type NotifyEventsPayload struct {
	OutboxIDs []int64         `json:"outbox_ids,omitempty"`
	Events    []auction.Event `json:"events"`
}

// NewNotifyEventsTask makes the task that pushes the outbox rows' events, in their order.
func NewNotifyEventsTask(outboxIDs []int64, events []auction.Event) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(NotifyEventsPayload{OutboxIDs: outboxIDs, Events: events})
	return asynq.NewTask(TypeNotifyEvents, payload), []asynq.Option{
		asynq.Queue(QueueDefault),
		asynq.MaxRetry(10),
		asynq.Timeout(30 * time.Second),
	}
}
