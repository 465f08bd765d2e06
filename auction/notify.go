package auction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/live"
	"github.com/uptrace/bun"
)

// Publisher sends events to the live streams.
type Publisher interface {
	PublishPrices(ctx context.Context, es []live.PriceEvent) error
	PublishStatus(ctx context.Context, e live.StatusEvent) error
	PublishNotifications(ctx context.Context, ns []db.Notification) error
}

// Notifier keeps subscriptions and turns auction events into notifications and live
// events.
type Notifier struct {
	DB        *db.DB
	Publisher Publisher // nil: notifications are stored, nothing is published
}

// Subscribe subscribes the user to the auction; again is harmless.
func (n *Notifier) Subscribe(ctx context.Context, auctionID, userID int64) error {
	return n.subscription(ctx, auctionID, userID, db.Subscribe)
}

// Unsubscribe ends the user's subscription to the auction; again is harmless.
func (n *Notifier) Unsubscribe(ctx context.Context, auctionID, userID int64) error {
	return n.subscription(ctx, auctionID, userID, db.Unsubscribe)
}

func (n *Notifier) subscription(ctx context.Context, auctionID, userID int64,
	change func(context.Context, bun.IDB, int64, int64) (bool, error)) error {
	if _, err := db.AuctionByID(ctx, n.DB, auctionID, false); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return ErrNotFound
		}
		return err
	}
	err := n.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := change(ctx, tx, auctionID, userID)
		return err
	})
	if errors.Is(err, db.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// Notifications lists the user's notifications newest first, below beforeID when it is
// positive, only unread ones with unread.
func (n *Notifier) Notifications(ctx context.Context, userID, beforeID int64, unread bool, limit int64) ([]db.Notification, error) {
	return db.NotificationsOf(ctx, n.DB, userID, beforeID, 0, unread, limit)
}

// Missed lists the user's unread notifications after afterID, oldest first: what a
// reconnecting stream replays.
func (n *Notifier) Missed(ctx context.Context, userID, afterID, limit int64) ([]db.Notification, error) {
	return db.NotificationsOf(ctx, n.DB, userID, 0, afterID, true, limit)
}

// MarkRead marks the user's notifications up to upToID read.
func (n *Notifier) MarkRead(ctx context.Context, userID, upToID int64) error {
	var v validator
	v.check(upToID >= 1, "up_to_id", "must be a positive integer")
	if err := v.err(); err != nil {
		return err
	}
	return db.MarkNotificationsRead(ctx, n.DB, userID, upToID)
}

// Deliver stores a notification for every user each event concerns (price_changed for
// every subscriber but the bidder, in one statement per thousand), publishes the
// auctions' new prices and statuses to their streams, then the notifications to their
// users. Delivering the same events again stores nothing new and publishes them again
// (at least once: clients know a notification by its ID, and a price no newer than the
// last is dropped).
func (n *Notifier) Deliver(ctx context.Context, events []Event) error {
	var rows []db.Notification
	add := func(e Event, user int64, source string, data any) {
		b, _ := json.Marshal(data)
		rows = append(rows, db.Notification{UserID: user, Kind: e.Kind, AuctionID: e.AuctionID,
			Source: source, Data: string(b), CreatedAt: e.At.UTC()})
	}
	bidSource := func(e Event) string { return "b" + strconv.FormatInt(e.BidID, 10) }
	auctionSource := func(e Event) string { return "a" + strconv.FormatInt(e.AuctionID, 10) }
	nicknames := map[int64]string{}
	for _, e := range events {
		if e.Kind == EventAuctionSold {
			nicknames[e.WinnerID] = ""
		}
	}
	if len(nicknames) > 0 {
		ids := make([]int64, 0, len(nicknames))
		for id := range nicknames {
			ids = append(ids, id)
		}
		users, err := db.UsersByIDs(ctx, n.DB, ids)
		if err != nil {
			return fmt.Errorf("deliver: %w", err)
		}
		for id, u := range users {
			nicknames[id] = u.Nickname
		}
	}
	var prices []live.PriceEvent
	var priced []int64
	for _, e := range events {
		if e.Kind == EventPriceChanged {
			priced = append(priced, e.AuctionID)
			p := live.PriceEvent{AuctionID: e.AuctionID, CurrentPrice: e.CurrentPrice,
				MinNextBid: e.CurrentPrice + Increment(e.CurrentPrice), BidCount: e.BidCount, At: live.Timestamp(e.At)}
			p.EndAt = eventEnd(e)
			prices = append(prices, p)
		}
	}
	subs, err := db.SubscribersOf(ctx, n.DB, priced)
	if err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	for _, e := range events {
		switch e.Kind {
		case EventPriceChanged:
			for _, u := range subs[e.AuctionID] {
				if u != e.UserID {
					add(e, u, bidSource(e), map[string]int64{"current_price": e.CurrentPrice, "bid_count": e.BidCount})
				}
			}
		case EventOutbid:
			add(e, e.UserID, bidSource(e), map[string]int64{"bid_id": e.BidID, "amount": e.Amount, "current_price": e.CurrentPrice})
		case EventBidRejected:
			add(e, e.UserID, bidSource(e), map[string]any{"bid_id": e.BidID, "reason": e.Reason})
		case EventAuctionWon:
			add(e, e.UserID, auctionSource(e), map[string]int64{"bid_id": e.BidID, "amount": e.Amount})
		case EventAuctionSold:
			add(e, e.UserID, auctionSource(e), map[string]any{"amount": e.Amount, "winner_nickname": nicknames[e.WinnerID]})
		case EventAuctionEnded:
			if e.Reason != "" {
				add(e, e.UserID, auctionSource(e), map[string]string{"reason": e.Reason})
			} else {
				add(e, e.UserID, auctionSource(e), struct{}{})
			}
		}
	}
	stored, err := db.InsertNotifications(ctx, n.DB, rows)
	if err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	if n.Publisher == nil {
		return nil
	}
	if err := n.Publisher.PublishPrices(ctx, prices); err != nil {
		return err
	}
	for _, e := range events {
		var err error
		switch e.Kind {
		case EventAuctionSold:
			err = n.Publisher.PublishStatus(ctx, live.StatusEvent{AuctionID: e.AuctionID, Status: db.StatusDone,
				EndAt: eventEnd(e), Winner: &live.Winner{BidderNickname: MaskNickname(nicknames[e.WinnerID]), Amount: e.Amount}})
		case EventAuctionEnded:
			err = n.Publisher.PublishStatus(ctx, live.StatusEvent{AuctionID: e.AuctionID, Status: db.StatusDone, EndAt: eventEnd(e)})
		case EventPriceChanged:
			if e.Extended && e.EndAt != nil { // soft close moved the end
				err = n.Publisher.PublishStatus(ctx, live.StatusEvent{AuctionID: e.AuctionID, Status: db.StatusPending,
					EndAt: eventEnd(e)})
			}
		}
		if err != nil {
			return err
		}
	}
	return n.Publisher.PublishNotifications(ctx, stored)
}

// eventEnd is the end an event carries for the streams, "" when it carries none.
func eventEnd(e Event) string {
	if e.EndAt == nil {
		return ""
	}
	return live.Timestamp(*e.EndAt)
}

// Push delivers the events of outbox rows (as Deliver does) and then deletes the rows:
// the worker's push of a decision round or settlement, whose task carries the events.
func (n *Notifier) Push(ctx context.Context, outboxIDs []int64, events []Event) error {
	if err := n.Deliver(ctx, events); err != nil {
		return err
	}
	return db.DeleteOutbox(ctx, n.DB, outboxIDs)
}

// PushStale pushes the outbox rows written more than `age` ago, up to limit of them,
// oldest first: those whose task was lost with Redis or a worker (the scheduler's
// push-notifications). It returns how many it pushed. A row pushed twice stores its
// notifications once; its live events may be sent again, which clients tolerate (a price
// event is dropped unless newer than the last, a notification is known by its ID).
func (n *Notifier) PushStale(ctx context.Context, age time.Duration, limit int) (int, error) {
	rows, err := db.OutboxBefore(ctx, n.DB, time.Now().Add(-age), limit)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	events, err := n.outboxEvents(ctx, rows)
	if err != nil {
		return 0, fmt.Errorf("push outbox: %w", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	if err := n.Push(ctx, ids, events); err != nil {
		return 0, fmt.Errorf("push outbox: %w", err)
	}
	return len(rows), nil
}

// outboxEvents are the events of outbox rows, in their order: a decision round's as it
// stored them, a settlement's from the auction and its winner row, as Settlement.Events
// makes them.
func (n *Notifier) outboxEvents(ctx context.Context, rows []db.OutboxRow) ([]Event, error) {
	var settledIDs []int64
	for _, r := range rows {
		if r.Kind == db.OutboxSettled && r.AuctionID != nil {
			settledIDs = append(settledIDs, *r.AuctionID)
		}
	}
	settled, err := db.SettledAuctions(ctx, n.DB, settledIDs)
	if err != nil {
		return nil, err
	}
	var events []Event
	for _, r := range rows {
		switch {
		case r.Kind == db.OutboxDecided && r.Events != nil:
			var es []Event
			if err := json.Unmarshal([]byte(*r.Events), &es); err != nil {
				return nil, fmt.Errorf("outbox row %d: %w", r.ID, err)
			}
			events = append(events, es...)
		case r.Kind == db.OutboxSettled && r.AuctionID != nil:
			st, ok := settled[*r.AuctionID]
			if !ok {
				return nil, fmt.Errorf("outbox row %d: auction %d is not settled", r.ID, *r.AuctionID)
			}
			s := Settlement{Auction: st.Auction, Unmet: st.Unmet}
			if w := st.Winner; w != nil {
				s.Winner = &db.Bid{ID: w.BidID, AuctionID: w.AuctionID, BidderID: w.WinnerID, Amount: w.Amount, Status: db.BidWon}
			}
			events = append(events, s.Events()...)
		}
	}
	return events, nil
}
