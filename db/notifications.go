package db

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Notification is an event for one user.
type Notification struct {
	bun.BaseModel `bun:"table:notifications,alias:n"`

	ID        int64      `bun:"id,pk,autoincrement"`
	UserID    int64      `bun:"user_id"`
	Kind      string     `bun:"kind"`
	AuctionID int64      `bun:"auction_id"`
	Source    string     `bun:"source"`
	Data      string     `bun:"data"` // JSON
	CreatedAt time.Time  `bun:"created_at"`
	ReadAt    *time.Time `bun:"read_at"`
}

// Subscribe subscribes the user to the auction and counts it, once; it reports whether
// the subscription is new. A missing auction is ErrNotFound.
func Subscribe(ctx context.Context, idb bun.IDB, auctionID, userID int64) (bool, error) {
	res, err := idb.NewRaw(`INSERT INTO subscriptions (auction_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		auctionID, userID, time.Now().UTC()).Exec(ctx)
	if err != nil {
		if isForeignKeyViolation(err) {
			return false, ErrNotFound
		}
		return false, fmt.Errorf("subscribe: %w", err)
	}
	return countSubscription(ctx, idb, auctionID, res, 1)
}

// Unsubscribe ends the user's subscription to the auction and counts it, once.
func Unsubscribe(ctx context.Context, idb bun.IDB, auctionID, userID int64) (bool, error) {
	res, err := idb.NewRaw(`DELETE FROM subscriptions WHERE auction_id = ? AND user_id = ?`, auctionID, userID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("unsubscribe: %w", err)
	}
	return countSubscription(ctx, idb, auctionID, res, -1)
}

func countSubscription(ctx context.Context, idb bun.IDB, auctionID int64, res interface{ RowsAffected() (int64, error) }, delta int) (bool, error) {
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err := idb.NewUpdate().Model((*Auction)(nil)).Set("subscriber_count = subscriber_count + ?", delta).
		Where("id = ?", auctionID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("count subscription: %w", err)
	}
	return true, nil
}

// SubscribersOf lists the users subscribed to each of the auctions, in one statement.
func SubscribersOf(ctx context.Context, idb bun.IDB, auctionIDs []int64) (map[int64][]int64, error) {
	subs := map[int64][]int64{}
	if len(auctionIDs) == 0 {
		return subs, nil
	}
	var rows []struct {
		AuctionID int64 `bun:"auction_id"`
		UserID    int64 `bun:"user_id"`
	}
	err := idb.NewRaw(`SELECT auction_id, user_id FROM subscriptions WHERE auction_id IN (?)`, bun.List(auctionIDs)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("subscribers: %w", err)
	}
	for _, r := range rows {
		subs[r.AuctionID] = append(subs[r.AuctionID], r.UserID)
	}
	return subs, nil
}

// InsertNotifications writes the notifications, in chunks of one statement each; those
// already written (the same user, kind and source) are kept as they are. It returns every
// one of them as stored, with its ID, in ID order, those written before included: a push
// that is done again (its task retried, its outbox row pushed by the scheduler) publishes
// them again rather than never.
func InsertNotifications(ctx context.Context, idb bun.IDB, ns []Notification) ([]Notification, error) {
	type key struct {
		user         int64
		kind, source string
	}
	seen := make(map[key]bool, len(ns))
	unique := ns[:0:0]
	for _, n := range ns {
		if k := (key{n.UserID, n.Kind, n.Source}); !seen[k] {
			seen[k] = true
			unique = append(unique, n)
		}
	}
	var out []Notification
	for chunk := range slices.Chunk(unique, 1000) {
		var got []Notification
		// DO UPDATE of an unchanged column, not DO NOTHING, so that RETURNING gives the
		// rows that were there already.
		err := idb.NewInsert().Model(&chunk).On("CONFLICT (user_id, kind, source) DO UPDATE").
			Set("kind = EXCLUDED.kind").Returning("*").Scan(ctx, &got)
		if err != nil {
			return nil, fmt.Errorf("insert notifications: %w", err)
		}
		out = append(out, got...)
	}
	slices.SortFunc(out, func(a, b Notification) int { return int(a.ID - b.ID) })
	return out, nil
}

// NotificationsOf lists a user's notifications newest first: below beforeID when it is
// positive, or, with afterID positive, those after it (oldest first, for a replay); only
// the unread ones with unread.
func NotificationsOf(ctx context.Context, idb bun.IDB, userID, beforeID, afterID int64, unread bool, limit int64) ([]Notification, error) {
	var ns []Notification
	q := idb.NewSelect().Model(&ns).Where("n.user_id = ?", userID).Limit(limit)
	if unread {
		q = q.Where("n.read_at IS NULL")
	}
	switch {
	case afterID > 0:
		q = q.Where("n.id > ?", afterID).OrderExpr("n.id")
	default:
		q = q.OrderExpr("n.id DESC")
		if beforeID > 0 {
			q = q.Where("n.id < ?", beforeID)
		}
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	return ns, nil
}

// MarkNotificationsRead marks the user's notifications up to upToID read.
func MarkNotificationsRead(ctx context.Context, idb bun.IDB, userID, upToID int64) error {
	_, err := idb.NewUpdate().Model((*Notification)(nil)).Set("read_at = ?", time.Now().UTC()).
		Where("user_id = ? AND id <= ? AND read_at IS NULL", userID, upToID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark notifications read: %w", err)
	}
	return nil
}
