package auction

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/uptrace/bun"
)

// Settlement is what closing an auction did.
type Settlement struct {
	// Auction is the auction as closed: DONE, with its closing time. On PostgreSQL's
	// one-statement path it carries only its ID, seller, status and times.
	Auction db.Auction
	// Final is the decision of the bids still pending at the close, if there were any.
	Final *Decision
	// Winner is the winning bid, nil when the auction ended without bids.
	Winner *db.Bid
	// Unmet is the leading bid rejected because the reserve was not met (no winner then).
	Unmet *db.Bid
	// OutboxID is the settlement's outbox row, written in its transaction (db.OutboxSettled).
	OutboxID int64
	// Open says the auction did not close: deciding its last bids moved its end (soft
	// close). Final holds that decision; the close follows the new end.
	Open bool
}

// closingDecided is closePG's outcome when the decision of the last bids was the whole
// outcome: a buy-now among them closed the auction, or soft close moved its end.
const closingDecided = "decided"

// ErrSkipped is returned by Close when another transaction holds the auction and Close
// was asked not to wait.
var ErrSkipped = errors.New("auction locked by another closer")

// Close closes and settles the auction if its end has come and it is not DONE yet, in one
// transaction: it decides the bids still pending (those placed before the end as usual,
// the later ones rejected), marks the auction DONE, and if a bid leads, settles it by
// settleOutcome: the winner's bid is won and pays the price from its held points to the
// seller's available points (winning_payment and payout ledger rows), the rest of what it
// held coming back; with a reserve not met it is rejected and released. It returns nil
// when there was nothing to do: not ended (its end moved later), already DONE, or gone,
// and a Settlement with Open when deciding the last bids moved the end (soft close).
// With skipLocked it does not wait for an auction another transaction holds (ErrSkipped).
// The lock is FOR UPDATE: it waits for bids being placed on the auction (KEY SHARE).
//
// An auction without pending bids, the usual case, closes in one call of db.CloseAuction
// (one statement on PostgreSQL); one with pending bids takes a second transaction that
// locks it, decides them, and closes it as the worker would.
func (b *Bidding) Close(ctx context.Context, auctionID int64, skipLocked bool) (*Settlement, error) {
	s, err := b.close(ctx, auctionID, skipLocked)
	if err != nil {
		if errors.Is(err, ErrSkipped) {
			return nil, err
		}
		return nil, fmt.Errorf("close auction %d: %w", auctionID, err)
	}
	return s, nil
}

// settleRule is settleOutcome as db.CloseAuction takes it.
func settleRule(a *db.Auction, lead *db.Bid) (win bool, rest int64, reason string) {
	o := settleOutcome(a, lead)
	return o.win, o.rest, o.reason
}

func (b *Bidding) close(ctx context.Context, auctionID int64, skipLocked bool) (*Settlement, error) {
	var c *db.Closing
	err := b.DB.Retry(ctx, func() (err error) {
		c, err = db.CloseAuction(ctx, b.DB, auctionID, skipLocked, settleRule)
		return err
	})
	if err != nil || c.Outcome != db.ClosingPending {
		return settlementOf(c, auctionID, nil, err)
	}
	// Pending bids: decide them under the lock, then close in the same transaction.
	var final *Decision
	err = b.DB.TransactShort(ctx, func(ctx context.Context, tx bun.IDB, last func()) error {
		final = nil
		a, now, _, err := db.LockForClose(ctx, tx, auctionID, db.LockClose)
		if err != nil {
			return err
		}
		if a.Status == db.StatusDone || now.Before(a.EndAt) {
			c = &db.Closing{Outcome: db.ClosingNotDue} // closed by another in between
			return nil
		}
		ds, err := b.decideLocked(ctx, tx, []db.Auction{*a}, false)
		if err != nil {
			return err
		}
		if len(ds) > 0 {
			final = &ds[0]
			if final.Sold || final.EndMoved {
				// A buy-now closed it, or soft close moved its end: that decision is the outcome.
				c = &db.Closing{Outcome: closingDecided}
				return nil
			}
		}
		last() // the closing statement carries the COMMIT
		c, err = db.CloseAuction(ctx, tx, auctionID, false, settleRule)
		if err == nil && c.Outcome == db.ClosingPending {
			err = fmt.Errorf("bids still pending after the decision")
		}
		return err
	})
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil // deleted in between
	}
	return settlementOf(c, auctionID, final, err)
}

// settlementOf makes a Settlement of what CloseAuction did.
func settlementOf(c *db.Closing, auctionID int64, final *Decision, err error) (*Settlement, error) {
	if err != nil {
		return nil, err
	}
	switch c.Outcome {
	case closingDecided:
		return &Settlement{Final: final, Auction: final.Auction, Open: final.EndMoved}, nil
	case db.ClosingSkipped:
		return nil, ErrSkipped
	case db.ClosingGone, db.ClosingNotDue:
		return nil, nil
	}
	if c.OutboxID == nil {
		return nil, fmt.Errorf("close auction %d: %s without an outbox row", auctionID, c.Outcome)
	}
	s := &Settlement{Final: final, OutboxID: *c.OutboxID, Auction: db.Auction{ID: auctionID, SellerID: c.SellerID,
		Status: db.StatusDone, ClosedAt: &c.ClosedAt, UpdatedAt: c.ClosedAt}}
	switch c.Outcome {
	case db.ClosingSettled:
		s.Winner = &db.Bid{ID: *c.BidID, AuctionID: auctionID, BidderID: *c.BidderID, Amount: *c.Amount, Status: db.BidWon}
	case db.ClosingUnmet:
		s.Unmet = &db.Bid{ID: *c.BidID, AuctionID: auctionID, BidderID: *c.BidderID, Amount: *c.Amount,
			Status: db.BidRejected, Reason: ptr(ReasonReserveNotMet)}
	}
	return s, nil
}

// settleLocked settles the auction a buy-now closed (db.SettleClosed), in the decision's
// transaction tx.
func settleLocked(ctx context.Context, tx bun.IDB, a *db.Auction, lead *db.Bid, at time.Time) (*Settlement, error) {
	c, err := db.SettleClosed(ctx, tx, a, lead, at, settleRule)
	if err != nil {
		return nil, err
	}
	s, err := settlementOf(c, a.ID, nil, nil)
	if s != nil {
		s.Auction = *a // the end the buy-now set, for the streams
	}
	return s, err
}

// BatchResult counts what a batch did.
type BatchResult struct {
	Processed, Skipped, Failed int
}

// CloseEnded closes and settles the auctions whose end has come, each in its own
// transaction, `parallel` at a time, in one pass in the order they ended (read chunk by
// chunk while the closers work); auctions another closer holds (a second scheduler, a
// close task) are skipped and left to it, and what fails is left for the next run. Every
// settlement is handed to settled (it may be nil) after its commit.
func (b *Bidding) CloseEnded(ctx context.Context, chunk, parallel int, settled func(*Settlement)) (BatchResult, error) {
	ids := make(chan int64, chunk)
	var fetchErr error
	go func() {
		defer close(ids) // fetchErr is written before: the closers read it after the close
		var after db.EndPosition
		for {
			page, err := db.EndedAuctions(ctx, b.DB, after, int64(chunk))
			if err != nil {
				fetchErr = err
				return
			}
			for _, p := range page {
				select {
				case ids <- p.ID:
				case <-ctx.Done():
					return
				}
			}
			if len(page) < chunk {
				return
			}
			after = page[len(page)-1]
		}
	}()
	var processed, skipped, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for id := range ids {
				if ctx.Err() != nil {
					continue // drain: the fetcher stops at the cancellation
				}
				s, err := b.Close(ctx, id, true)
				switch {
				case errors.Is(err, ErrSkipped), err == nil && s == nil:
					skipped.Add(1)
				case err != nil:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					if b.Log != nil {
						b.Log.Warn("close auction", "auction_id", id, "err", err)
					}
				default:
					processed.Add(1)
					if settled != nil {
						settled(s)
					}
				}
			}
		})
	}
	wg.Wait()
	res := BatchResult{Processed: int(processed.Load()), Skipped: int(skipped.Load()), Failed: int(failed.Load())}
	switch {
	case ctx.Err() != nil:
		return res, ctx.Err()
	case fetchErr != nil:
		return res, fetchErr
	}
	if err, ok := firstErr.Load().(error); ok {
		return res, fmt.Errorf("%d auctions failed to close, the first: %w", res.Failed, err)
	}
	return res, nil
}
