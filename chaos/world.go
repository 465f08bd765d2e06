package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/gavelhq/gavel/db"
)

// The rows Check reads, with the columns it needs only.
type (
	bidRow struct {
		ID          int64      `bun:"id"`
		AuctionID   int64      `bun:"auction_id"`
		BidderID    int64      `bun:"bidder_id"`
		Kind        string     `bun:"kind"`
		Amount      int64      `bun:"amount"`
		MaxAmount   *int64     `bun:"max_amount"`
		Status      string     `bun:"status"`
		DecidedAt   *time.Time `bun:"decided_at"`
		PriceAfter  *int64     `bun:"price_after"`
		LeaderAfter *int64     `bun:"leader_after"`
	}
	auctionRow struct {
		ID         int64  `bun:"id"`
		SellerID   int64  `bun:"seller_id"`
		StartPrice int64  `bun:"start_price"`
		Status     string `bun:"status"`
	}
	ledgerRow struct {
		ID        int64  `bun:"id"`
		UserID    int64  `bun:"user_id"`
		Kind      string `bun:"kind"`
		Delta     int64  `bun:"delta"`
		HeldDelta int64  `bun:"held_delta"`
		BidID     *int64 `bun:"bid_id"`
		AuctionID *int64 `bun:"auction_id"`
	}
	winnerRow struct {
		AuctionID int64 `bun:"auction_id"`
		BidID     int64 `bun:"bid_id"`
		WinnerID  int64 `bun:"winner_id"`
		Amount    int64 `bun:"amount"`
	}
	notificationRow struct {
		ID        int64  `bun:"id"`
		UserID    int64  `bun:"user_id"`
		AuctionID int64  `bun:"auction_id"`
		Kind      string `bun:"kind"`
		Data      string `bun:"data"`
	}
)

// world is the database as Check sees it: a run's database is small enough (tens of
// thousands of bids) to be read whole and judged in Go, which keeps the rules readable
// and the same on SQLite and PostgreSQL.
type world struct {
	bids          map[int64]bidRow
	auctions      map[int64]auctionRow
	money         []ledgerRow // charges, winning payments and payouts
	winners       map[int64]winnerRow
	notifications map[int64]notificationRow
	totalPoints   int64
}

func readWorld(ctx context.Context, d *db.DB) (*world, error) {
	var (
		bids     []bidRow
		auctions []auctionRow
		winners  []winnerRow
		notes    []notificationRow
		w        = &world{}
	)
	reads := []struct {
		what string
		sql  string
		dest any
	}{
		{"bids", `SELECT id, auction_id, bidder_id, kind, amount, max_amount, status, decided_at, price_after, leader_after FROM bids`, &bids},
		{"auctions", `SELECT id, seller_id, start_price, status FROM auctions`, &auctions},
		{"ledger", `SELECT id, user_id, kind, delta, held_delta, bid_id, auction_id FROM point_ledger
			WHERE kind IN ('charge', 'winning_payment', 'payout') ORDER BY id`, &w.money},
		{"winners", `SELECT auction_id, bid_id, winner_id, amount FROM auction_winners`, &winners},
		// data is JSONB on PostgreSQL: read as text on both.
		{"notifications", `SELECT id, user_id, auction_id, kind, CAST(data AS TEXT) AS data FROM notifications`, &notes},
		{"points", `SELECT coalesce(sum(points_available + points_held), 0) FROM users`, &w.totalPoints},
	}
	for _, r := range reads {
		if err := d.NewRaw(r.sql).Scan(ctx, r.dest); err != nil {
			return nil, fmt.Errorf("check: read %s: %w", r.what, err)
		}
	}
	w.bids = byKey(bids, func(b bidRow) int64 { return b.ID })
	w.auctions = byKey(auctions, func(a auctionRow) int64 { return a.ID })
	w.winners = byKey(winners, func(x winnerRow) int64 { return x.AuctionID })
	w.notifications = byKey(notes, func(n notificationRow) int64 { return n.ID })
	return w, nil
}

// byKey indexes rows by key.
func byKey[R any](rows []R, key func(R) int64) map[int64]R {
	m := make(map[int64]R, len(rows))
	for _, r := range rows {
		m[key(r)] = r
	}
	return m
}

// heldOnDone sums, per DONE auction, the held points its ledger rows left: holds minus
// releases minus the winning payment, zero once it is settled.
func heldOnDone(ctx context.Context, d *db.DB) (map[int64]int64, error) {
	var rows []struct {
		AuctionID int64 `bun:"auction_id"`
		Held      int64 `bun:"held"`
	}
	err := d.NewRaw(`SELECT l.auction_id, sum(l.held_delta) AS held FROM point_ledger AS l
		JOIN auctions AS a ON a.id = l.auction_id WHERE a.status = 'DONE'
		GROUP BY l.auction_id HAVING sum(l.held_delta) <> 0`).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("check: held points of DONE auctions: %w", err)
	}
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.AuctionID] = r.Held
	}
	return out, nil
}

// outboxLeft counts the outbox's rows, zero when the table does not exist (an older
// schema): at rest everything decided or settled has been pushed.
func outboxLeft(ctx context.Context, d *db.DB) (int64, error) {
	exists := `SELECT to_regclass('outbox') IS NOT NULL`
	if d.Kind != db.Postgres {
		exists = `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'`
	}
	var ok bool
	if err := d.NewRaw(exists).Scan(ctx, &ok); err != nil {
		return 0, fmt.Errorf("check: outbox exists: %w", err)
	}
	if !ok {
		return 0, nil
	}
	var n int64
	if err := d.NewRaw(`SELECT count(*) FROM outbox`).Scan(ctx, &n); err != nil {
		return 0, fmt.Errorf("check: outbox: %w", err)
	}
	return n, nil
}

// Formats says what a run did with the auction formats, for its report (db.CountFormats).
func Formats(ctx context.Context, d *db.DB) (string, error) {
	n, err := db.CountFormats(ctx, d)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d proxy bids (%d defended against at once), %d buy-nows won and %d refused when decided, %d auctions extended by soft close, %d ended with the reserve not met",
		n.Proxies, n.Defended, n.Bought, n.Refused, n.Extended, n.Unmet), nil
}
