package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// The kinds of outbox rows.
const (
	OutboxDecided = "decided" // a decision round: its events, as JSON
	OutboxSettled = "settled" // an auction settled: its events follow from the auction and its winner
)

// OutboxRow is what a committed decision round or settlement must still tell: its
// notifications and live events. It is written in the transaction of what it reports, so
// it exists exactly when that committed, and deleted once it has been pushed.
type OutboxRow struct {
	bun.BaseModel `bun:"table:outbox,alias:o"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Kind      string    `bun:"kind"`
	AuctionID *int64    `bun:"auction_id"`
	Events    *string   `bun:"events"` // JSON, for OutboxDecided
	CreatedAt time.Time `bun:"created_at"`
}

// InsertOutbox writes the row in idb's transaction (on PostgreSQL a settlement's row is
// written by gavel_close_auction) and sets its ID.
func InsertOutbox(ctx context.Context, idb bun.IDB, row *OutboxRow) error {
	row.CreatedAt = row.CreatedAt.UTC()
	if _, err := idb.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("insert outbox: %w", err)
	}
	return nil
}

// OutboxBefore lists up to limit outbox rows written before `before`, oldest first: those
// whose push task was lost, or is late.
func OutboxBefore(ctx context.Context, idb bun.IDB, before time.Time, limit int) ([]OutboxRow, error) {
	var rows []OutboxRow
	err := idb.NewSelect().Model(&rows).Where("o.created_at < ?", before.UTC()).
		OrderExpr("o.created_at, o.id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return rows, nil
}

// DeleteOutbox deletes the outbox rows that were pushed.
func DeleteOutbox(ctx context.Context, idb bun.IDB, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := idb.NewDelete().Model((*OutboxRow)(nil)).Where("id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
		return fmt.Errorf("delete outbox: %w", err)
	}
	return nil
}

// Settled is a DONE auction with its winner row (nil without a winner).
type Settled struct {
	Auction Auction
	Winner  *AuctionWinner
	// Unmet is the leading bid rejected at the close because the reserve was not met.
	Unmet *Bid
}

// SettledAuctions reads the DONE auctions among ids with their winners; others are left out.
func SettledAuctions(ctx context.Context, idb bun.IDB, ids []int64) (map[int64]Settled, error) {
	out := map[int64]Settled{}
	if len(ids) == 0 {
		return out, nil
	}
	var as []Auction
	if err := idb.NewSelect().Model(&as).ExcludeColumn("description").
		Where("a.id IN (?) AND a.status = ?", bun.List(ids), StatusDone).Scan(ctx); err != nil {
		return nil, fmt.Errorf("settled auctions: %w", err)
	}
	var ws []AuctionWinner
	if err := idb.NewSelect().Model(&ws).Where("w.auction_id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("settled auctions: %w", err)
	}
	for _, a := range as {
		out[a.ID] = Settled{Auction: a}
	}
	for _, w := range ws {
		if s, ok := out[w.AuctionID]; ok {
			s.Winner = &w
			out[w.AuctionID] = s
		}
	}
	var leads []int64
	for _, a := range as {
		if a.LeadingBidID != nil && out[a.ID].Winner == nil {
			leads = append(leads, *a.LeadingBidID)
		}
	}
	if len(leads) > 0 {
		bs, err := BidsByIDs(ctx, idb, leads)
		if err != nil {
			return nil, fmt.Errorf("settled auctions: %w", err)
		}
		for _, b := range bs {
			if s, ok := out[b.AuctionID]; ok && b.Status == BidRejected {
				s.Unmet = &b
				out[b.AuctionID] = s
			}
		}
	}
	return out, nil
}
