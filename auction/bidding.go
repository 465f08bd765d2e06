package auction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/uptrace/bun"
)

// Bidding errors.
var (
	ErrOwnAuction         = errors.New("sellers cannot bid on their own auction")
	ErrAuctionNotStarted  = errors.New("the auction has not started")
	ErrAuctionClosed      = errors.New("the auction has ended")
	ErrBidTooLow          = errors.New("the bid is below the minimum next bid")
	ErrBidDecisionPending = errors.New("the bid is not decided yet")
)

// Rejection reasons.
const (
	ReasonTooLow = "bid_too_low"
	ReasonClosed = "auction_closed"
)

// DecisionQueue is told about every accepted bid, so that a worker decides it soon.
type DecisionQueue interface {
	ScheduleDecision(ctx context.Context, auctionID, bidID int64) error
}

// Bidding accepts bids, holding their points, and decides them.
type Bidding struct {
	DB    *db.DB
	Queue DecisionQueue // may be nil: the reconciliation decides the bids then
	Log   *slog.Logger
	// OneBidPerDecision makes Decide take a single pending bid per transaction, the
	// per-bid locking design, for comparison with the batch in benchmarks.
	OneBidPerDecision bool
}

// PlaceBid accepts a bid: it checks the auction's window and minimum, then in one short
// transaction on the bidder's row (the auction is not locked) holds the amount and records
// the bid as pending. The decision is queued after the commit. A repeat with the same
// idempotency key returns the first bid as it is now, even after the end; with another
// amount it is ErrIdempotencyConflict.
func (b *Bidding) PlaceBid(ctx context.Context, bidderID, auctionID, amount int64, idempotencyKey string) (*db.Bid, error) {
	var v validator
	v.check(amount >= 1, "amount", "must be a positive integer")
	if err := v.err(); err != nil {
		return nil, err
	}
	a, err := db.AuctionByID(ctx, b.DB, auctionID, false)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("place bid: %w", err)
	}
	if a.SellerID == bidderID {
		return nil, ErrOwnAuction
	}
	var bid *db.Bid
	err = b.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		bid = nil
		now, err := db.Now(ctx, tx)
		if err != nil {
			return err
		}
		key, replay, err := claimIdempotencyKey(ctx, tx, bidderID, "bids:"+strconv.FormatInt(auctionID, 10),
			idempotencyKey, "amount", amount)
		if err != nil {
			return err
		}
		if replay != nil {
			var id int64
			if err := json.Unmarshal(replay, &id); err != nil {
				return err
			}
			bid, err = db.BidByID(ctx, tx, id)
			return err
		}
		if now.Before(a.StartAt) {
			return ErrAuctionNotStarted
		}
		if !now.Before(a.EndAt) || a.Status == db.StatusDone {
			return ErrAuctionClosed
		}
		if amount < MinNextBid(a) {
			return ErrBidTooLow
		}
		bid = &db.Bid{AuctionID: auctionID, BidderID: bidderID, Amount: amount, Status: db.BidPending, CreatedAt: now}
		if err := db.InsertBid(ctx, tx, bid); err != nil {
			return err
		}
		_, err = db.ApplyLedger(ctx, tx, &db.LedgerEntry{UserID: bidderID, Kind: db.KindBidHold,
			Delta: -amount, HeldDelta: amount, BidID: &bid.ID, AuctionID: &auctionID})
		if errors.Is(err, db.ErrInsufficient) {
			return ErrInsufficientPoints
		}
		if err != nil {
			return err
		}
		if key != nil {
			res, _ := json.Marshal(bid.ID)
			return db.SaveIdempotentResult(ctx, tx, key, res)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if bid.Status == db.BidPending && b.Queue != nil {
		if err := b.Queue.ScheduleDecision(ctx, auctionID, bid.ID); err != nil && b.Log != nil {
			// The bid is safe in the database; the reconciliation decides it.
			b.Log.Warn("queue bid decision", "bid_id", bid.ID, "err", err)
		}
	}
	return bid, nil
}

// Decision is the outcome of deciding an auction's pending bids.
type Decision struct {
	Decided  []db.Bid // the bids decided now, in arrival order
	Outbid   []db.Bid // former leaders that lost the lead
	Released []db.Bid // outbid and rejected bids, whose points Release gives back
	Auction  db.Auction
}

// Decide decides every pending bid of the auction, in arrival order, in one transaction
// that locks the auction: a bid leads if it reaches the minimum next bid of the moment and
// was placed before the end; the bid it displaces is outbid; the others are rejected.
// The transaction touches the auction and its bids only, never a bidder's row: the points
// of the bids in Released go back through Release, each once, in transactions of their
// own (ReconcileReleases finds any that were missed). Deciding again finds nothing to do.
func (b *Bidding) Decide(ctx context.Context, auctionID int64) (*Decision, error) {
	// Most tasks of a hot auction find their bid decided by the batch of an earlier one:
	// a plain read spares them the lock. A bid's task is queued after its commit, so the
	// read sees the bid.
	if pending, err := db.HasPendingBids(ctx, b.DB, auctionID); err != nil || !pending {
		return &Decision{}, err
	}
	var d *Decision
	err := b.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		d = &Decision{}
		a, err := db.AuctionByID(ctx, tx, auctionID, true)
		if err != nil {
			return err
		}
		var limit int64
		if b.OneBidPerDecision {
			limit = 1
		}
		pending, err := db.PendingBids(ctx, tx, auctionID, limit)
		if err != nil || len(pending) == 0 {
			return err
		}
		now, err := db.Now(ctx, tx)
		if err != nil {
			return err
		}
		var leader *db.Bid
		if a.LeadingBidID != nil {
			if leader, err = db.BidByID(ctx, tx, *a.LeadingBidID); err != nil {
				return err
			}
		}
		var released []db.Bid
		for i := range pending {
			bid := &pending[i]
			bid.DecidedAt = &now
			switch {
			case !bid.CreatedAt.Before(a.EndAt) || a.Status == db.StatusDone:
				bid.Status, bid.Reason = db.BidRejected, ptr(ReasonClosed)
				released = append(released, *bid)
			case bid.Amount >= MinNextBid(a):
				if leader != nil {
					leader.Status = db.BidOutbid // decided_at stays the time it took the lead
					if err := db.SetBidStatus(ctx, tx, leader); err != nil {
						return err
					}
					released = append(released, *leader)
					d.Outbid = append(d.Outbid, *leader)
				}
				bid.Status = db.BidLeading
				a.CurrentPrice, a.LeadingBidID, a.BidCount = bid.Amount, &bid.ID, a.BidCount+1
				leader = bid
			default:
				bid.Status, bid.Reason = db.BidRejected, ptr(ReasonTooLow)
				released = append(released, *bid)
			}
		}
		for i := range pending {
			if err := db.SetBidStatus(ctx, tx, &pending[i]); err != nil {
				return err
			}
		}
		a.UpdatedAt = now
		if err := db.SetAuctionLead(ctx, tx, a); err != nil {
			return err
		}
		d.Decided, d.Released, d.Auction = pending, released, *a
		return nil
	})
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("decide auction %d: %w", auctionID, err)
	}
	return d, nil
}

// Release gives an outbid or rejected bid's held points back to its bidder, once: a
// repeat, or a bid that is not outbid or rejected, changes nothing.
func (b *Bidding) Release(ctx context.Context, bidID int64) error {
	bid, err := db.BidByID(ctx, b.DB, bidID)
	if errors.Is(err, db.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil || (bid.Status != db.BidOutbid && bid.Status != db.BidRejected) {
		return err
	}
	return b.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := db.ApplyLedgerOnce(ctx, tx, &db.LedgerEntry{UserID: bid.BidderID, Kind: db.KindBidRelease,
			Delta: bid.Amount, HeldDelta: -bid.Amount, BidID: &bid.ID, AuctionID: &bid.AuctionID})
		return err
	})
}

// ReconcileReleases releases the outbid and rejected bids whose release task was lost.
func (b *Bidding) ReconcileReleases(ctx context.Context) (int, error) {
	ids, err := db.UnreleasedBids(ctx, b.DB, 5000)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := b.Release(ctx, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Reconcile decides the bids that have waited longer than `after`, whatever happened to
// their tasks: nothing depends on Redis keeping its queues.
func (b *Bidding) Reconcile(ctx context.Context, after time.Duration) (int, error) {
	ids, err := db.AuctionsWithStalePending(ctx, b.DB, time.Now().Add(-after), 1000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		d, err := b.Decide(ctx, id)
		if err != nil {
			return n, err
		}
		n += len(d.Decided)
	}
	return n, nil
}

// Bid returns a bid to its bidder; other users get ErrNotFound.
func (b *Bidding) Bid(ctx context.Context, bidID, userID int64) (*db.Bid, error) {
	bid, err := db.BidByID(ctx, b.DB, bidID)
	if errors.Is(err, db.ErrNotFound) || (err == nil && bid.BidderID != userID) {
		return nil, ErrNotFound
	}
	return bid, err
}

// BidsOf lists a bidder's bids newest first (of one status when status is set), those
// below beforeID when it is positive.
func (b *Bidding) BidsOf(ctx context.Context, bidderID int64, status string, beforeID, limit int64) ([]db.Bid, error) {
	return db.BidsOfBidder(ctx, b.DB, bidderID, status, beforeID, limit)
}

// History lists the bids of an auction that led at some point, newest first.
func (b *Bidding) History(ctx context.Context, auctionID, beforeID, limit int64) ([]db.PublicBid, error) {
	if _, err := db.AuctionByID(ctx, b.DB, auctionID, false); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return db.LeadHistory(ctx, b.DB, auctionID, beforeID, limit)
}

func ptr[T any](v T) *T { return &v }

// LogBids records decided bids with their bidders' age and gender for the
// recommendations, in three statements whatever their number. It is idempotent. Bids not
// decided yet are left out and reported with ErrBidDecisionPending, so a task retries.
func (b *Bidding) LogBids(ctx context.Context, bidIDs []int64) error {
	if len(bidIDs) == 0 {
		return nil
	}
	bids, err := db.BidsByIDs(ctx, b.DB, bidIDs)
	if err != nil || len(bids) == 0 {
		return err
	}
	var bidders []int64
	for _, bid := range bids {
		bidders = append(bidders, bid.BidderID)
	}
	users, err := db.UsersByIDs(ctx, b.DB, bidders)
	if err != nil {
		return err
	}
	logs := make([]db.BidLog, 0, len(bids))
	pending := false
	for _, bid := range bids {
		if bid.Status == db.BidPending || bid.DecidedAt == nil {
			pending = true
			continue
		}
		u := users[bid.BidderID]
		logs = append(logs, db.BidLog{
			BidID: bid.ID, AuctionID: bid.AuctionID, BidderID: bid.BidderID, Age: Age(u.BirthDate, *bid.DecidedAt),
			Gender: u.Gender, Amount: bid.Amount, Success: bid.Status != db.BidRejected, CreatedAt: *bid.DecidedAt,
		})
	}
	if err := db.InsertBidLogs(ctx, b.DB, logs); err != nil {
		return err
	}
	if pending {
		return ErrBidDecisionPending
	}
	return nil
}

// LogUnloggedBids logs the decided bids whose bid:log task was lost.
func (b *Bidding) LogUnloggedBids(ctx context.Context) (int, error) {
	ids, err := db.UnloggedBids(ctx, b.DB, 5000)
	if err != nil {
		return 0, err
	}
	if err := b.LogBids(ctx, ids); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// Age is how many whole years old someone born on birth is at `at`.
func Age(birth, at time.Time) int {
	years := at.Year() - birth.Year()
	if at.Month() < birth.Month() || (at.Month() == birth.Month() && at.Day() < birth.Day()) {
		years--
	}
	return years
}
