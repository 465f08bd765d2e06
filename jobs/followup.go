package jobs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gavelhq/gavel/auction"
	"github.com/hibiken/asynq"
)

// QueueFollowUps queues, after the commit of decisions and settlements, the release of the
// points they freed, the bid logs and the notifications: one task of each kind for all of
// them. What a lost task would have done, the scheduler's reconcile-bids and
// log-decided-bids do from the database; notifications are not reconstructed.
func QueueFollowUps(ctx context.Context, log *slog.Logger, client *asynq.Client, ds []auction.Decision, ss []*auction.Settlement) {
	var released, decided []int64
	var events []auction.Event
	for _, s := range ss {
		if s.Final != nil {
			ds = append(ds, *s.Final)
		}
	}
	for _, d := range ds {
		for _, bid := range d.Decided {
			decided = append(decided, bid.ID)
		}
		for _, bid := range d.Released {
			released = append(released, bid.ID)
		}
		events = append(events, d.Events()...)
	}
	for _, s := range ss {
		events = append(events, s.Events()...)
	}
	enqueue := func(task *asynq.Task, opts []asynq.Option) {
		if _, err := client.EnqueueContext(ctx, task, opts...); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			log.Warn("queue follow-up task", "type", task.Type(), "err", err)
		}
	}
	if len(released) > 0 {
		enqueue(NewPointsReleaseTask(released))
	}
	if len(decided) > 0 {
		enqueue(NewBidLogTask(decided))
	}
	if len(events) > 0 {
		enqueue(NewNotifyEventsTask(events))
	}
}
