package jobs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gavelhq/gavel/auction"
	"github.com/hibiken/asynq"
)

// QueueFollowUps queues, after the commit of decisions and settlements, the release of the
// points they freed, the bid logs and the push of their outbox rows (notifications and
// live events): one task of each kind for all of them. Whoever decides or settles (a
// worker's round, reconcile-bids, a close) calls it, so every decision has the same
// follow-ups. What a lost task would have done, the scheduler's reconcile-bids,
// log-decided-bids and push-notifications do from the database.
func QueueFollowUps(ctx context.Context, log *slog.Logger, client *asynq.Client, ds []auction.Decision, ss []*auction.Settlement) {
	var released, decided, outbox []int64
	var events []auction.Event
	seen := map[int64]bool{}
	addOutbox := func(id int64) {
		if id != 0 && !seen[id] {
			seen[id] = true
			outbox = append(outbox, id)
		}
	}
	var settled []*auction.Settlement // those that closed an auction (they have an outbox row)
	for _, s := range ss {
		if s.Final != nil {
			ds = append(ds, *s.Final)
		}
		if s.OutboxID != 0 {
			settled = append(settled, s)
		}
	}
	var moved []auction.Decision // soft close moved their ends: the close follows
	for _, d := range ds {
		if d.Settled != nil {
			settled = append(settled, d.Settled) // a buy-now closed it
		}
		if d.EndMoved {
			moved = append(moved, d)
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
		addOutbox(d.OutboxID)
	}
	for _, s := range settled {
		events = append(events, s.Events()...)
		addOutbox(s.OutboxID)
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
		enqueue(NewNotifyEventsTask(outbox, events))
	}
	for _, d := range moved {
		enqueue(NewAuctionCloseTask(d.Auction.ID, d.Auction.EndAt))
	}
}
