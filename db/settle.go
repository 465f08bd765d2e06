package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// EndedAuctions lists up to limit auctions whose end has come and that are not DONE yet,
// those that ended first first. It takes no lock: closing locks each auction itself.
func EndedAuctions(ctx context.Context, idb bun.IDB, limit int64) ([]int64, error) {
	var ids []int64
	err := idb.NewSelect().Model((*Auction)(nil)).Column("a.id").
		Where("a.status <> ? AND a.end_at <= ?", StatusDone, now(idb)).
		OrderExpr("a.end_at, a.id").Limit(limit).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("ended auctions: %w", err)
	}
	return ids, nil
}

// MarkClosed writes a's status DONE and its closing time.
func MarkClosed(ctx context.Context, idb bun.IDB, a *Auction, at time.Time) error {
	a.Status, a.ClosedAt, a.UpdatedAt = StatusDone, &at, at
	_, err := idb.NewUpdate().Model(a).Column("status", "closed_at", "updated_at").WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark auction closed: %w", err)
	}
	return nil
}

// InsertWinner records an auction's winner; a second one for the auction is ErrDuplicate.
func InsertWinner(ctx context.Context, idb bun.IDB, w *AuctionWinner) error {
	if _, err := idb.NewInsert().Model(w).Exec(ctx); err != nil {
		if isDuplicate(err) {
			return ErrDuplicate
		}
		return fmt.Errorf("insert auction winner: %w", err)
	}
	return nil
}

// WinnerOf reads an auction's winner row.
func WinnerOf(ctx context.Context, idb bun.IDB, auctionID int64) (*AuctionWinner, error) {
	w := new(AuctionWinner)
	if err := idb.NewSelect().Model(w).Where("w.auction_id = ?", auctionID).Scan(ctx); err != nil {
		return nil, notFound(err)
	}
	return w, nil
}
