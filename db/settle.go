package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// EndPosition is an auction's place in the order of EndedAuctions.
type EndPosition struct {
	ID    int64     `bun:"id"`
	EndAt time.Time `bun:"end_at"`
}

// EndedAuctions lists up to limit auctions whose end has come and that are not DONE yet,
// those that ended first first, after the position `after` (the zero position: from the
// start). It takes no lock: closing locks each auction itself.
func EndedAuctions(ctx context.Context, idb bun.IDB, after EndPosition, limit int64) ([]EndPosition, error) {
	var out []EndPosition
	q := idb.NewSelect().Model((*Auction)(nil)).Column("a.id", "a.end_at").
		Where("a.status <> ? AND a.end_at <= ?", StatusDone, now(idb)).
		OrderExpr("a.end_at, a.id").Limit(limit)
	if after.ID != 0 {
		q = q.Where("(a.end_at, a.id) > (?, ?)", after.EndAt.UTC(), after.ID)
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("ended auctions: %w", err)
	}
	return out, nil
}

// LatestEnd is the latest end_at of the auctions other than except (zero when there are
// none): soft close may have moved it past what the seller set.
func LatestEnd(ctx context.Context, idb bun.IDB, except int64) (time.Time, error) {
	var end *time.Time
	if err := idb.NewRaw("SELECT max(end_at) FROM auctions WHERE id <> ?", except).Scan(ctx, &end); err != nil || end == nil {
		return time.Time{}, err
	}
	return *end, nil
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

// LockForClose locks the auction for closing (LockClose, or LockCloseSkip: ErrNotFound
// when another transaction holds it or it is gone) and reads it with the database's time
// and whether it has a pending bid, in one round trip on PostgreSQL.
func LockForClose(ctx context.Context, idb bun.IDB, id int64, mode string) (a *Auction, now time.Time, pending bool, err error) {
	if idb.Dialect().Name() != dialect.PG {
		as, err := LockAuctions(ctx, idb, []int64{id}, mode)
		if err != nil || len(as) == 0 {
			return nil, now, false, notFoundIfNone(err)
		}
		if now, err = Now(ctx, idb); err != nil {
			return nil, now, false, err
		}
		pending, err = HasPendingBids(ctx, idb, id)
		return &as[0], now, pending, err
	}
	var row struct {
		Auction
		DBNow   time.Time `bun:"db_now"`
		Pending bool      `bun:"has_pending"`
	}
	err = idb.NewRaw(`SELECT a.*, statement_timestamp() AS db_now,
	EXISTS (SELECT 1 FROM bids AS b WHERE b.auction_id = a.id AND b.status = ?1) AS has_pending
FROM auctions AS a WHERE a.id = ?0 FOR `+mode, id, BidPending).Scan(ctx, &row)
	if err != nil {
		return nil, now, false, notFound(err)
	}
	return &row.Auction, row.DBNow.UTC(), row.Pending, nil
}

func notFoundIfNone(err error) error {
	if err != nil {
		return err
	}
	return ErrNotFound
}

// Closing is what gavel_close_auction did to an auction (PostgreSQL).
type Closing struct {
	Outcome  string    `bun:"outcome"` // one of the Closing... constants
	SellerID int64     `bun:"seller_id"`
	ClosedAt time.Time `bun:"closed_at"`
	// The winning bid, when the outcome is ClosingSettled.
	BidID    *int64 `bun:"bid_id"`
	BidderID *int64 `bun:"bidder_id"`
	Amount   *int64 `bun:"amount"`
	// OutboxID is the settlement's outbox row, when the outcome is ClosingClosed or
	// ClosingSettled.
	OutboxID *int64 `bun:"outbox_id"`
}

// The outcomes of CloseAuction.
const (
	ClosingSkipped = "skipped" // another transaction holds the auction (skipLocked)
	ClosingGone    = "gone"    // no such auction
	ClosingNotDue  = "not_due" // DONE already, or its end has not come
	ClosingPending = "pending" // it has pending bids: decide them under the lock, then call again
	ClosingClosed  = "closed"  // DONE, without a winner
	ClosingSettled = "settled" // DONE, and its leading bid won and was paid for
	ClosingUnmet   = "unmet"   // DONE without a winner: the reserve was not met (the rejected leading bid, all it held released)
)

// Settle is the settlement rule CloseAuction applies (package auction's): whether the
// leading bid lead of the closing auction a wins, what it gets back beyond the price it
// pays (its amount), and, when it does not win, why.
type Settle func(a *Auction, lead *Bid) (win bool, rest int64, reason string)

// CloseAuction closes and settles the auction in idb's transaction (or its own): it locks
// it FOR UPDATE (SKIP LOCKED with skipLocked) and, unless it is gone, not due or has
// pending bids, marks it DONE, writes its settlement's outbox row and settles its leading
// bid by settle: the winner's bid becomes won, the winner row is written, the price moves
// from the winner's held points to the seller's available points (winning_payment and
// payout) and the rest it held comes back (bid_release); a leading bid that does not win
// (the reserve not met) is rejected with settle's reason and all it held comes back.
// On PostgreSQL it is one statement, gavel_close_auction, which repeats settle's rule in
// SQL (the settlement cases of auction/rules_cases_test.go run through it); on SQLite the
// same steps run from Go, a statement at a time, with settle itself.
func CloseAuction(ctx context.Context, idb bun.IDB, id int64, skipLocked bool, settle Settle) (*Closing, error) {
	if idb.Dialect().Name() != dialect.PG {
		if d, ok := idb.(*DB); ok { // not in a transaction: its own
			var c *Closing
			err := d.Transact(ctx, func(ctx context.Context, tx bun.Tx) (err error) {
				c, err = closeAuctionGo(ctx, tx, id, settle)
				return err
			})
			return c, err
		}
		return closeAuctionGo(ctx, idb, id, settle)
	}
	c := new(Closing)
	if err := idb.NewRaw(`SELECT * FROM gavel_close_auction(?, ?)`, id, skipLocked).Scan(ctx, c); err != nil {
		if isDuplicate(err) {
			return nil, ErrDuplicate
		}
		return nil, fmt.Errorf("close auction %d: %w", id, err)
	}
	c.ClosedAt = c.ClosedAt.UTC()
	return c, nil
}

// closeAuctionGo is CloseAuction's steps one statement at a time, in tx (SQLite has a single
// writer: nothing is skipped or waited for).
func closeAuctionGo(ctx context.Context, tx bun.IDB, id int64, settle Settle) (*Closing, error) {
	a, now, pending, err := LockForClose(ctx, tx, id, LockClose)
	switch {
	case errors.Is(err, ErrNotFound):
		return &Closing{Outcome: ClosingGone}, nil
	case err != nil:
		return nil, err
	case a.Status == StatusDone || now.Before(a.EndAt):
		return &Closing{Outcome: ClosingNotDue}, nil
	case pending:
		return &Closing{Outcome: ClosingPending}, nil
	}
	if err := MarkClosed(ctx, tx, a, now); err != nil {
		return nil, err
	}
	var lead *Bid
	if a.LeadingBidID != nil {
		if lead, err = BidByID(ctx, tx, *a.LeadingBidID); err != nil {
			return nil, err
		}
	}
	return SettleClosed(ctx, tx, a, lead, now, settle)
}

// SettleClosed settles the locked auction a, marked DONE at `at`, with its leading bid lead
// (nil: none) by settle, as CloseAuction does, and writes its outbox row, one statement at
// a time in tx: CloseAuction's steps on SQLite, and a buy-now's settlement on both
// databases. Under the lock, with the auction found not DONE before, this runs once per
// auction; the unique winner and ledger rows would refuse a second time anyway.
func SettleClosed(ctx context.Context, tx bun.IDB, a *Auction, lead *Bid, at time.Time, settle Settle) (*Closing, error) {
	row := &OutboxRow{Kind: OutboxSettled, AuctionID: &a.ID, CreatedAt: at}
	if err := InsertOutbox(ctx, tx, row); err != nil {
		return nil, err
	}
	c := &Closing{Outcome: ClosingClosed, SellerID: a.SellerID, ClosedAt: at, OutboxID: &row.ID}
	if lead == nil {
		return c, nil
	}
	win, rest, reason := settle(a, lead)
	c.BidID, c.BidderID = &lead.ID, &lead.BidderID
	if win {
		c.Outcome, c.Amount = ClosingSettled, &lead.Amount
		return c, SettleWinner(ctx, tx, a, lead, rest, at)
	}
	held := lead.Held()
	lead.Status, lead.Reason = BidRejected, &reason
	c.Outcome, c.Amount = ClosingUnmet, &held
	return c, RejectLeader(ctx, tx, lead, at)
}

// Retry runs attempt, its own transaction, again while it fails with a deadlock or a
// serialization failure, as Transact does.
func (d *DB) Retry(ctx context.Context, attempt func() error) error {
	return retryTransient(ctx, attempt)
}

// SettleWinner settles the locked auction a, marked DONE at `at`, for its leading bid win,
// one statement at a time (gavel_close_auction does it in one on PostgreSQL): the bid
// becomes won, the winner row is written, the price (win.Amount) moves from the winner's
// held points to the seller's available points (winning_payment and payout), and rest, what
// the bid held beyond the price, comes back to the winner (bid_release).
func SettleWinner(ctx context.Context, idb bun.IDB, a *Auction, win *Bid, rest int64, at time.Time) error {
	win.Status = BidWon
	if err := SetBidStatus(ctx, idb, win); err != nil {
		return err
	}
	if err := InsertWinner(ctx, idb, &AuctionWinner{AuctionID: a.ID, BidID: win.ID,
		WinnerID: win.BidderID, SellerID: a.SellerID, Amount: win.Amount, SettledAt: at}); err != nil {
		return err
	}
	es := []*LedgerEntry{
		{UserID: win.BidderID, Kind: KindWinningPayment, HeldDelta: -win.Amount},
		{UserID: a.SellerID, Kind: KindPayout, Delta: win.Amount},
	}
	if rest > 0 {
		es = append(es, &LedgerEntry{UserID: win.BidderID, Kind: KindBidRelease, Delta: rest, HeldDelta: -rest})
	}
	for _, e := range es {
		e.BidID, e.AuctionID, e.CreatedAt = &win.ID, &a.ID, at
		if _, err := ApplyLedger(ctx, idb, e); err != nil {
			return err
		}
	}
	return nil
}

// RejectLeader writes the leading bid lead of a closing auction as rejected (with
// lead.Reason) and gives back all it held, in idb's transaction.
func RejectLeader(ctx context.Context, idb bun.IDB, lead *Bid, at time.Time) error {
	if err := SetBidStatus(ctx, idb, lead); err != nil {
		return err
	}
	held := lead.Held()
	_, err := ApplyLedger(ctx, idb, &LedgerEntry{UserID: lead.BidderID, Kind: KindBidRelease, Delta: held,
		HeldDelta: -held, BidID: &lead.ID, AuctionID: &lead.AuctionID, CreatedAt: at})
	return err
}

// WinnerOf reads the auction's winner row; ErrNotFound when it has none.
func WinnerOf(ctx context.Context, idb bun.IDB, auctionID int64) (*AuctionWinner, error) {
	w := new(AuctionWinner)
	if err := idb.NewSelect().Model(w).Where("w.auction_id = ?", auctionID).Scan(ctx); err != nil {
		return nil, notFound(err)
	}
	return w, nil
}
