package auction

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gavelhq/gavel/db"
	"github.com/uptrace/bun"
)

// Settlement is what closing an auction did.
type Settlement struct {
	Auction db.Auction
	// Final is the decision of the bids still pending at the close, if there were any.
	Final *Decision
	// Winner is the winning bid, nil when the auction ended without bids.
	Winner *db.Bid
}

// ErrSkipped is returned by Close when another transaction holds the auction and Close
// was asked not to wait.
var ErrSkipped = errors.New("auction locked by another closer")

// Close closes and settles the auction if its end has come and it is not DONE yet, in one
// transaction: it decides the bids still pending (those placed before the end as usual,
// the later ones rejected), marks the auction DONE, and if a bid leads, records the
// winner, marks the bid won, and moves its amount from the winner's held points to the
// seller's available points (winning_payment and payout ledger rows). It returns nil
// when there was nothing to do: not ended (its end moved later), already DONE, or gone.
// With skipLocked it does not wait for an auction another transaction holds (ErrSkipped).
// The lock is FOR UPDATE: it waits for bids being placed on the auction (KEY SHARE).
func (b *Bidding) Close(ctx context.Context, auctionID int64, skipLocked bool) (*Settlement, error) {
	lock := db.LockClose
	if skipLocked {
		lock = db.LockCloseSkip
	}
	var s *Settlement
	err := b.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		s = nil
		a, now, pending, err := db.LockForClose(ctx, tx, auctionID, lock)
		if errors.Is(err, db.ErrNotFound) {
			if skipLocked {
				if _, err := db.AuctionByID(ctx, tx, auctionID, false); err == nil {
					return ErrSkipped
				}
			}
			return nil // gone: deleted before it started
		}
		if err != nil {
			return err
		}
		if a.Status == db.StatusDone || now.Before(a.EndAt) {
			return nil
		}
		s = &Settlement{}
		if pending {
			as := []db.Auction{*a}
			ds, err := b.decideLocked(ctx, tx, as, false)
			if err != nil {
				return err
			}
			if len(ds) > 0 {
				s.Final = &ds[0]
			}
			a = &as[0]
		}
		var lead int64
		if a.LeadingBidID != nil {
			lead = *a.LeadingBidID
		}
		// Under the lock, with the auction found not DONE, this runs once per auction;
		// the unique winner and ledger rows would refuse a second time anyway.
		s.Winner, err = db.CloseAndSettle(ctx, tx, a, lead, now)
		s.Auction = *a
		return err
	})
	if err != nil {
		if errors.Is(err, ErrSkipped) {
			return nil, err
		}
		return nil, fmt.Errorf("close auction %d: %w", auctionID, err)
	}
	return s, nil
}

// BatchResult counts what a batch did.
type BatchResult struct {
	Processed, Skipped, Failed int
}

// CloseEnded closes and settles the auctions whose end has come, chunk by chunk, each in
// its own transaction, with `parallel` at a time; auctions another closer holds (a second
// scheduler, a close task) are skipped and left to it. Every settlement is handed to
// settled (it may be nil), after its commit. It stops at the first chunk that settles
// nothing, so a batch never spins on auctions that others hold or that keep failing.
func (b *Bidding) CloseEnded(ctx context.Context, chunk, parallel int, settled func(*Settlement)) (BatchResult, error) {
	var res BatchResult
	var firstErr atomic.Value
	for {
		ids, err := db.EndedAuctions(ctx, b.DB, int64(chunk))
		if err != nil {
			return res, err
		}
		var processed, skipped, failed atomic.Int64
		next := atomic.Int64{}
		var wg sync.WaitGroup
		for range min(parallel, len(ids)) {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < int64(len(ids)) && ctx.Err() == nil; i = next.Add(1) - 1 {
					s, err := b.Close(ctx, ids[i], true)
					switch {
					case errors.Is(err, ErrSkipped), err == nil && s == nil:
						skipped.Add(1)
					case err != nil:
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
						if b.Log != nil {
							b.Log.Warn("close auction", "auction_id", ids[i], "err", err)
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
		res.Processed += int(processed.Load())
		res.Skipped += int(skipped.Load())
		res.Failed += int(failed.Load())
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if processed.Load() == 0 || len(ids) < chunk {
			if err, ok := firstErr.Load().(error); ok {
				return res, fmt.Errorf("%d auctions failed to close, the first: %w", res.Failed, err)
			}
			return res, nil
		}
	}
}
