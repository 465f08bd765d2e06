package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Ledger kinds.
const (
	KindCharge         = "charge"
	KindBidHold        = "bid_hold"
	KindBidRelease     = "bid_release"
	KindWinningPayment = "winning_payment"
	KindPayout         = "payout"
)

// ApplyLedger changes the user's balance by the entry's deltas and records the entry, in
// the caller's transaction. The schema refuses a negative balance, an entry of the wrong
// shape, and a second entry of one kind for one bid (ErrDuplicate).
func ApplyLedger(ctx context.Context, idb bun.IDB, e *LedgerEntry) (Balance, error) {
	var b Balance
	err := idb.NewUpdate().Model((*User)(nil)).
		Set("points_available = points_available + ?", e.Delta).
		Set("points_held = points_held + ?", e.HeldDelta).
		Where("id = ?", e.UserID).
		Returning("points_available, points_held").
		Scan(ctx, &b.Available, &b.Held)
	if err != nil {
		if isCheckViolation(err) {
			return Balance{}, ErrInsufficient
		}
		return Balance{}, fmt.Errorf("update balance: %w", notFound(err))
	}
	e.CreatedAt = time.Now().UTC()
	if _, err := idb.NewInsert().Model(e).Returning("id").Exec(ctx); err != nil {
		if isDuplicate(err) {
			return Balance{}, ErrDuplicate
		}
		return Balance{}, fmt.Errorf("insert ledger entry: %w", err)
	}
	return b, nil
}

// ErrInsufficient is returned when a change would make a balance negative.
var ErrInsufficient = fmt.Errorf("balance would become negative")

// BalanceOf reads a user's balance.
func BalanceOf(ctx context.Context, idb bun.IDB, userID int64) (Balance, error) {
	var b Balance
	err := idb.NewSelect().Model((*User)(nil)).Column("points_available", "points_held").
		Where("id = ?", userID).Scan(ctx, &b.Available, &b.Held)
	return b, notFound(err)
}

// LedgerPage lists a user's ledger entries newest first, those with an ID below
// beforeID when it is positive, at most limit of them.
func LedgerPage(ctx context.Context, idb bun.IDB, userID, beforeID, limit int64) ([]LedgerEntry, error) {
	var es []LedgerEntry
	q := idb.NewSelect().Model(&es).Where("user_id = ?", userID).OrderExpr("id DESC").Limit(limit)
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("ledger page: %w", err)
	}
	return es, nil
}

// LedgerTotals sums a user's ledger: what the balance must be if every change was recorded.
func LedgerTotals(ctx context.Context, idb bun.IDB, userID int64) (Balance, error) {
	var b Balance
	err := idb.NewSelect().Model((*LedgerEntry)(nil)).
		ColumnExpr("COALESCE(SUM(delta), 0)").ColumnExpr("COALESCE(SUM(held_delta), 0)").
		Where("user_id = ?", userID).Scan(ctx, &b.Available, &b.Held)
	return b, err
}

// ApplyLedgerOnce records the entry and changes the balance only if no entry of its kind
// exists for its bid yet; it reports whether it did. The ledger row is written first, so a
// repeat takes no lock on the user's row.
func ApplyLedgerOnce(ctx context.Context, idb bun.IDB, e *LedgerEntry) (bool, error) {
	e.CreatedAt = time.Now().UTC()
	res, err := idb.NewInsert().Model(e).On("CONFLICT (bid_id, kind) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert ledger entry: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err = idb.NewUpdate().Model((*User)(nil)).
		Set("points_available = points_available + ?", e.Delta).
		Set("points_held = points_held + ?", e.HeldDelta).
		Where("id = ?", e.UserID).Exec(ctx)
	if err != nil {
		if isCheckViolation(err) {
			return false, ErrInsufficient
		}
		return false, fmt.Errorf("update balance: %w", err)
	}
	return true, nil
}

// ApplyLedgerOnceMany is ApplyLedgerOnce for many entries in one transaction: it records
// those whose bid has no entry of their kind yet, in one statement, then changes the
// balances of their users, locked in ID order so that two batches sharing users wait for
// each other instead of deadlocking. It returns how many entries it recorded.
func ApplyLedgerOnceMany(ctx context.Context, idb bun.IDB, es []LedgerEntry) (int, error) {
	if len(es) == 0 {
		return 0, nil
	}
	now := time.Now().UTC()
	for i := range es {
		es[i].CreatedAt = now
	}
	var recorded []int64
	_, err := idb.NewInsert().Model(&es).On("CONFLICT (bid_id, kind) DO NOTHING").
		Returning("bid_id").Exec(ctx, &recorded)
	if err != nil {
		return 0, fmt.Errorf("insert ledger entries: %w", err)
	}
	type change struct{ delta, held int64 }
	byBid := make(map[int64]LedgerEntry, len(es))
	for _, e := range es {
		byBid[*e.BidID] = e
	}
	changes := map[int64]*change{}
	for _, bidID := range recorded {
		e := byBid[bidID]
		c := changes[e.UserID]
		if c == nil {
			c = &change{}
			changes[e.UserID] = c
		}
		c.delta += e.Delta
		c.held += e.HeldDelta
	}
	users := make([]int64, 0, len(changes))
	for id := range changes {
		users = append(users, id)
	}
	slices.Sort(users)
	if idb.Dialect().Name() == dialect.PG && len(users) > 1 {
		if _, err := idb.NewSelect().Model((*User)(nil)).Column("id").Where("id IN (?)", bun.List(users)).
			OrderExpr("id").For("NO KEY UPDATE").Exec(ctx); err != nil {
			return 0, fmt.Errorf("lock users: %w", err)
		}
	}
	if len(users) == 0 {
		return 0, nil
	}
	var values strings.Builder
	for i, id := range users {
		if i > 0 {
			values.WriteString(", ")
		}
		fmt.Fprintf(&values, "(%d, %d, %d)", id, changes[id].delta, changes[id].held)
	}
	_, err = idb.NewRaw("WITH d (id, delta, held) AS (VALUES " + values.String() + ") " +
		"UPDATE users SET points_available = users.points_available + d.delta, " +
		"points_held = users.points_held + d.held FROM d WHERE users.id = d.id").Exec(ctx)
	if err != nil {
		if isCheckViolation(err) {
			return 0, ErrInsufficient
		}
		return 0, fmt.Errorf("update balances: %w", err)
	}
	return len(recorded), nil
}

// ReleaseBids gives the held points (each bid's Held) of the outbid and rejected bids
// among ids back to their bidders, each once (the unique bid_release ledger row), in one
// transaction. It returns how many it released now, or -1 when none of the bids exists.
// On PostgreSQL it is one call of gavel_release_bids, committed without waiting for the
// WAL flush (see durability.go); on SQLite, ApplyLedgerOnceMany in a transaction.
func ReleaseBids(ctx context.Context, d *DB, ids []int64) (int, error) {
	if d.Kind == Postgres {
		return releaseBidsPG(ctx, d, ids)
	}
	bids, err := BidsByIDs(ctx, d, ids)
	if err != nil {
		return 0, err
	}
	if len(bids) == 0 {
		return -1, nil
	}
	var es []LedgerEntry
	for _, b := range bids {
		if b.Status == BidOutbid || b.Status == BidRejected {
			held := b.Held()
			es = append(es, LedgerEntry{UserID: b.BidderID, Kind: KindBidRelease, Delta: held, HeldDelta: -held,
				BidID: &b.ID, AuctionID: &b.AuctionID})
		}
	}
	if len(es) == 0 {
		return 0, nil
	}
	var n int
	err = d.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		n, err = ApplyLedgerOnceMany(ctx, tx, es)
		return err
	})
	return n, err
}

func releaseBidsPG(ctx context.Context, idb bun.IDB, ids []int64) (int, error) {
	var n int
	err := idb.NewRaw(`SELECT gavel_release_bids(?::bigint[]) FROM `+asyncCommitFrom, pgdialect.Array(ids)).Scan(ctx, &n)
	switch {
	case err != nil && isCheckViolation(err):
		return 0, ErrInsufficient
	case err != nil:
		return 0, fmt.Errorf("release bids: %w", err)
	}
	return n, nil
}
