package jobs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/hibiken/asynq"
)

// QueueFollowUps queues, after the commit of decisions and settlements, the release of the
// points they freed, the bid logs and the notifications: one task of each kind for all of
// them. What a lost task would have done, the scheduler's reconcile-bids and
// log-decided-bids do from the database; notifications are not reconstructed.
func QueueFollowUps(ctx context.Context, log *slog.Logger, client *asynq.Client, ds []auction.Decision, ss []*auction.Settlement) {
	var released, decided []int64
	var events []Event
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
		events = append(events, DecisionEvents(d)...)
	}
	for _, s := range ss {
		events = append(events, SettlementEvents(s)...)
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

// DecisionEvents are the events of one auction's decision: a rejection for each rejected
// bid, the loss of the lead for each outbid one, and the auction's new price once.
func DecisionEvents(d auction.Decision) []Event {
	var events []Event
	for _, bid := range d.Decided {
		if bid.Status == db.BidRejected {
			reason := ""
			if bid.Reason != nil {
				reason = *bid.Reason
			}
			events = append(events, Event{Kind: EventBidRejected, AuctionID: bid.AuctionID,
				BidID: bid.ID, UserID: bid.BidderID, Amount: bid.Amount, Reason: reason, At: *bid.DecidedAt})
		}
	}
	for _, bid := range d.Outbid {
		events = append(events, Event{Kind: EventOutbid, AuctionID: bid.AuctionID,
			BidID: bid.ID, UserID: bid.BidderID, Amount: bid.Amount, At: d.Auction.UpdatedAt})
	}
	if bidder, ok := newLeader(d); ok {
		a := d.Auction
		events = append(events, Event{Kind: EventPriceChanged, AuctionID: a.ID,
			BidID: *a.LeadingBidID, UserID: bidder, Amount: a.CurrentPrice, At: a.UpdatedAt})
	}
	return events
}

// newLeader returns the bidder of the auction's leading bid when that bid is one of the
// decision's, that is when the price changed.
func newLeader(d auction.Decision) (int64, bool) {
	if d.Auction.LeadingBidID == nil {
		return 0, false
	}
	for _, bid := range d.Decided {
		if bid.ID == *d.Auction.LeadingBidID {
			return bid.BidderID, true
		}
	}
	return 0, false
}

// SettlementEvents are the events of a close: auction_won to the winner and auction_sold
// to the seller, or auction_ended to the seller when nobody bid.
func SettlementEvents(s *auction.Settlement) []Event {
	a := s.Auction
	at := a.UpdatedAt
	if s.Winner == nil {
		return []Event{{Kind: EventAuctionEnded, AuctionID: a.ID, UserID: a.SellerID, At: at}}
	}
	w := s.Winner
	return []Event{
		{Kind: EventAuctionWon, AuctionID: a.ID, BidID: w.ID, UserID: w.BidderID, Amount: w.Amount, At: at},
		{Kind: EventAuctionSold, AuctionID: a.ID, BidID: w.ID, UserID: a.SellerID, Amount: w.Amount, At: at},
	}
}
