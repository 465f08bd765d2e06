package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// InsertBid inserts b and sets its ID.
func InsertBid(ctx context.Context, idb bun.IDB, b *Bid) error {
	if _, err := idb.NewInsert().Model(b).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("insert bid: %w", err)
	}
	return nil
}

// BidByID reads a bid.
func BidByID(ctx context.Context, idb bun.IDB, id int64) (*Bid, error) {
	b := new(Bid)
	if err := idb.NewSelect().Model(b).Where("b.id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err)
	}
	return b, nil
}

// PendingBids lists an auction's pending bids in arrival order, at most limit of them
// when limit is positive.
func PendingBids(ctx context.Context, idb bun.IDB, auctionID, limit int64) ([]Bid, error) {
	var bs []Bid
	q := idb.NewSelect().Model(&bs).Where("b.auction_id = ? AND b.status = ?", auctionID, BidPending).OrderExpr("b.id")
	if limit > 0 {
		q = q.Limit(limit)
	}
	err := q.Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("pending bids: %w", err)
	}
	return bs, nil
}

// SetBidStatus records a decision about a bid.
func SetBidStatus(ctx context.Context, idb bun.IDB, b *Bid) error {
	_, err := idb.NewUpdate().Model(b).Column("status", "reason", "decided_at").WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("set bid status: %w", err)
	}
	return nil
}

// SetAuctionLead writes an auction's price, leading bid and bid count.
func SetAuctionLead(ctx context.Context, idb bun.IDB, a *Auction) error {
	_, err := idb.NewUpdate().Model(a).Column("current_price", "leading_bid_id", "bid_count", "updated_at").
		WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("set auction lead: %w", err)
	}
	return nil
}

// BidsOfBidder lists a bidder's bids newest first, below beforeID when positive.
func BidsOfBidder(ctx context.Context, idb bun.IDB, bidderID int64, status string, beforeID, limit int64) ([]Bid, error) {
	var bs []Bid
	q := idb.NewSelect().Model(&bs).Where("b.bidder_id = ?", bidderID).OrderExpr("b.id DESC").Limit(limit)
	if status != "" {
		q = q.Where("b.status = ?", status)
	}
	if beforeID > 0 {
		q = q.Where("b.id < ?", beforeID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("bids of bidder: %w", err)
	}
	return bs, nil
}

// LeadHistory lists the bids of an auction that led at some point, newest first.
func LeadHistory(ctx context.Context, idb bun.IDB, auctionID, beforeID, limit int64) ([]PublicBid, error) {
	var out []PublicBid
	q := idb.NewSelect().TableExpr("bids AS b").
		ColumnExpr("b.id, b.amount, u.nickname, b.created_at").
		Join("JOIN users AS u ON u.id = b.bidder_id").
		Where("b.auction_id = ? AND b.status IN (?)", auctionID, bun.List([]string{BidLeading, BidOutbid, BidWon})).
		OrderExpr("b.id DESC").Limit(limit)
	if beforeID > 0 {
		q = q.Where("b.id < ?", beforeID)
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("lead history: %w", err)
	}
	return out, nil
}

// AuctionsWithStalePending lists auctions that have a bid pending since before cutoff.
func AuctionsWithStalePending(ctx context.Context, idb bun.IDB, cutoff time.Time, limit int64) ([]int64, error) {
	var ids []int64
	err := idb.NewSelect().Model((*Bid)(nil)).ColumnExpr("DISTINCT b.auction_id").
		Where("b.status = ? AND b.created_at < ?", BidPending, cutoff.UTC()).Limit(limit).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("stale pending bids: %w", err)
	}
	return ids, nil
}

// HasPendingBids reports whether the auction has a pending bid, without locking anything.
func HasPendingBids(ctx context.Context, idb bun.IDB, auctionID int64) (bool, error) {
	return idb.NewSelect().Model((*Bid)(nil)).Where("b.auction_id = ? AND b.status = ?", auctionID, BidPending).Exists(ctx)
}

// InsertBidLogs records bid logs, each once: a bid already logged is left as it is.
func InsertBidLogs(ctx context.Context, idb bun.IDB, logs []BidLog) error {
	if len(logs) == 0 {
		return nil
	}
	if _, err := idb.NewInsert().Model(&logs).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("insert bid logs: %w", err)
	}
	return nil
}

// BidsByIDs reads the bids with the IDs (those that exist).
func BidsByIDs(ctx context.Context, idb bun.IDB, ids []int64) ([]Bid, error) {
	var bs []Bid
	err := idb.NewSelect().Model(&bs).Where("b.id IN (?)", bun.List(ids)).Scan(ctx)
	return bs, err
}

// UsersByIDs reads the users with the IDs, by ID.
func UsersByIDs(ctx context.Context, idb bun.IDB, ids []int64) (map[int64]User, error) {
	var us []User
	if err := idb.NewSelect().Model(&us).Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[int64]User, len(us))
	for _, u := range us {
		out[u.ID] = u
	}
	return out, nil
}

// UnloggedBids lists decided bids that have no bid log yet, oldest first.
func UnloggedBids(ctx context.Context, idb bun.IDB, limit int64) ([]int64, error) {
	var ids []int64
	err := idb.NewSelect().Model((*Bid)(nil)).Column("b.id").
		Where("b.status <> ?", BidPending).
		Where("NOT EXISTS (SELECT 1 FROM bid_logs AS l WHERE l.bid_id = b.id)").
		OrderExpr("b.id").Limit(limit).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("unlogged bids: %w", err)
	}
	return ids, nil
}

// BidsOfAuctions lists every bid of the auctions.
func BidsOfAuctions(ctx context.Context, idb bun.IDB, auctionIDs []int64) ([]Bid, error) {
	var bs []Bid
	err := idb.NewSelect().Model(&bs).Where("b.auction_id IN (?)", bun.List(auctionIDs)).OrderExpr("b.id").Scan(ctx)
	return bs, err
}

// UsersWithEmailPrefix lists the users whose email starts with prefix.
func UsersWithEmailPrefix(ctx context.Context, idb bun.IDB, prefix string) ([]User, error) {
	var us []User
	err := idb.NewSelect().Model(&us).Where("email_key LIKE ?", escapeLike(prefix)+"%").Scan(ctx)
	return us, err
}

// UnreleasedBids lists outbid and rejected bids whose points have not come back yet.
func UnreleasedBids(ctx context.Context, idb bun.IDB, limit int64) ([]int64, error) {
	var ids []int64
	err := idb.NewSelect().Model((*Bid)(nil)).Column("b.id").
		Where("b.status IN (?)", bun.List([]string{BidOutbid, BidRejected})).
		Where("NOT EXISTS (SELECT 1 FROM point_ledger AS l WHERE l.bid_id = b.id AND l.kind = ?)", KindBidRelease).
		OrderExpr("b.id").Limit(limit).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("unreleased bids: %w", err)
	}
	return ids, nil
}
