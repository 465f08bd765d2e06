package auction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	ErrBuyNowUnavailable  = errors.New("the auction cannot be bought now")
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
	// Holds, when set, places the bids without an idempotency key in batches
	// (PostgreSQL): see db.HoldBatcher. Without it each is placed alone.
	Holds *db.HoldBatcher
	// OneBidPerDecision makes Decide take a single pending bid per transaction, the
	// per-bid locking design, for comparison with the batch in benchmarks.
	OneBidPerDecision bool
}

// Order is what a bidder asks for: a straight bid of Amount, a proxy bid up to Max, or
// (Kind db.KindBuyNow) the auction at its buy-now price.
type Order struct {
	Kind   string // db.KindBid (the zero value means it too) or db.KindBuyNow
	Amount int64  // a straight bid's amount
	Max    *int64 // a proxy bid's maximum (Amount is then ignored)
}

// PlaceBid places a straight bid of amount: Place with Order{Amount: amount}.
func (b *Bidding) PlaceBid(ctx context.Context, bidderID, auctionID, amount int64, idempotencyKey string) (*db.Bid, error) {
	return b.Place(ctx, bidderID, auctionID, Order{Amount: amount}, idempotencyKey)
}

// Place accepts a bid: it checks the auction's window, the buy-now's availability and the
// minimum (Refusal), then in one short transaction on the bidder's row (the auction is not
// locked) holds what the bid may pay and records it as pending. The decision is queued
// after the commit. A repeat with the same idempotency key returns the first bid as it is
// now, even after the end; with another order it is ErrIdempotencyConflict.
func (b *Bidding) Place(ctx context.Context, bidderID, auctionID int64, o Order, idempotencyKey string) (*db.Bid, error) {
	if o.Kind == "" {
		o.Kind = db.KindBid
	}
	var v validator
	switch {
	case o.Kind == db.KindBuyNow:
	case o.Max != nil:
		v.check(*o.Max >= 1, "max_amount", "must be a positive integer")
	default:
		v.check(o.Amount >= 1, "amount", "must be a positive integer")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if o.Max != nil {
		o.Amount = *o.Max // a pending proxy bid's amount is its maximum until decided
	}
	var bid *db.Bid
	var err error
	if idempotencyKey == "" {
		bid, err = b.placeFast(ctx, bidderID, auctionID, o)
	} else {
		bid, err = b.placeInTx(ctx, bidderID, auctionID, o, idempotencyKey)
	}
	if err != nil {
		return nil, err
	}
	if bid.Status == db.BidPending && b.Queue != nil {
		// The bid is committed: its task must not die with a client that hung up.
		if err := b.Queue.ScheduleDecision(context.WithoutCancel(ctx), auctionID, bid.ID); err != nil && b.Log != nil {
			// The bid is safe in the database; the reconciliation decides it.
			b.Log.Warn("queue bid decision", "bid_id", bid.ID, "err", err)
		}
	}
	return bid, nil
}

// refuse is Refusal as db.PlaceHold takes it: the bid's offer is what it holds.
func refuse(a *db.Auction, bid *db.Bid, now time.Time) string {
	return RefusalCode(Refusal(a, bid.Kind, bid.BidderID, bid.Held(), now))
}

// placeFast accepts a bid without an idempotency key: db.PlaceHold, one statement on
// PostgreSQL (with Holds, a statement shared with the bids placed at the same moment).
func (b *Bidding) placeFast(ctx context.Context, bidderID, auctionID int64, o Order) (*db.Bid, error) {
	bid := &db.Bid{AuctionID: auctionID, BidderID: bidderID, Kind: o.Kind, Amount: o.Amount, MaxAmount: o.Max}
	var refused *db.Refused
	var err error
	if b.Holds != nil {
		refused, err = b.Holds.Place(ctx, bid)
	} else {
		refused, err = db.PlaceHold(ctx, b.DB, bid, refuse)
	}
	return placed(bid, refused, err)
}

// RefusedError is a bid the rules refused: Unwrap is the rule's error (ErrBidTooLow, ...),
// and Auction the auction as the rules saw it, which tells the bidder what to try next.
type RefusedError struct {
	Err     error
	Auction *db.Auction
}

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// placed is the outcome of db.PlaceHold as package auction's errors.
func placed(bid *db.Bid, refused *db.Refused, err error) (*db.Bid, error) {
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, ErrNotFound
	case errors.Is(err, db.ErrInsufficient):
		return nil, ErrInsufficientPoints
	case err != nil:
		return nil, fmt.Errorf("place bid: %w", err)
	case bid.ID != 0:
		return bid, nil
	}
	if err, ok := refusals[refused.Code]; ok {
		return nil, &RefusedError{Err: err, Auction: refused.Auction}
	}
	return nil, fmt.Errorf("place bid: refused for no known reason %q (auction %d, bidder %d)", refused.Code, bid.AuctionID, bid.BidderID)
}

// placeInTx accepts a bid in a transaction that also claims the idempotency key; a
// repeat of the key returns the first bid as it is now.
func (b *Bidding) placeInTx(ctx context.Context, bidderID, auctionID int64, o Order, idempotencyKey string) (*db.Bid, error) {
	var bid *db.Bid
	err := b.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		bid = nil
		scope, field, value := "bids:"+strconv.FormatInt(auctionID, 10), "amount", o.Amount
		switch {
		case o.Kind == db.KindBuyNow:
			scope, field, value = "buy:"+strconv.FormatInt(auctionID, 10), "kind", 0
		case o.Max != nil:
			field = "max_amount"
		}
		key, replay, err := claimIdempotencyKey(ctx, tx, bidderID, scope, idempotencyKey, field, value)
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
		// The rules and the hold as without a key, in this transaction; a refusal rolls the
		// key back with it.
		bid = &db.Bid{AuctionID: auctionID, BidderID: bidderID, Kind: o.Kind, Amount: o.Amount, MaxAmount: o.Max}
		refused, err := db.PlaceHold(ctx, tx, bid, refuse)
		if bid, err = placed(bid, refused, err); err != nil {
			return err
		}
		res, _ := json.Marshal(bid.ID)
		return db.SaveIdempotentResult(ctx, tx, key, res)
	})
	if err != nil {
		return nil, err
	}
	return bid, nil
}

// Decision is the outcome of deciding an auction's pending bids.
type Decision struct {
	Decided  []db.Bid // the bids decided now, in arrival order
	Outbid   []db.Bid // former leaders that lost the lead
	Released []db.Bid // outbid and rejected bids, whose points Release gives back
	Auction  db.Auction
	// Changed says the auction's price or leading bidder changed; EndMoved that soft close
	// moved its end (the close follows it); Sold that a buy-now won, closing it.
	Changed, EndMoved, Sold bool
	leaderID                int64 // the leading bidder, when Changed
	changedBy               int64 // the bid whose decision made the last change
	// Settled is the settlement of an auction a buy-now closed, made in the same transaction.
	Settled *Settlement
	// OutboxID is the outbox row that holds the events of the decision round this
	// decision was part of (shared by the round's decisions), written in its transaction.
	OutboxID int64
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
	ds, _, err := b.decide(ctx, []int64{auctionID}, db.LockDecide)
	if err != nil {
		return nil, fmt.Errorf("decide auction %d: %w", auctionID, err)
	}
	if len(ds) == 0 {
		return &Decision{}, nil
	}
	return &ds[0], nil
}

// DecidePending decides the pending bids of up to maxAuctions auctions, those waiting
// longest first, as Decide does for one, in a single transaction that locks them in ID
// order. It skips the auctions another transaction is deciding, and says so (skipped):
// that transaction's read may have come before some of their bids committed, so the
// caller looks again once it is over (see the worker). It returns a decision per auction
// that had a pending bid, none when there was nothing to do.
func (b *Bidding) DecidePending(ctx context.Context, maxAuctions int64) (ds []Decision, skipped bool, err error) {
	ids, err := db.AuctionsWithPending(ctx, b.DB, maxAuctions)
	if err != nil || len(ids) == 0 {
		return nil, false, err
	}
	ds, locked, err := b.decide(ctx, ids, db.LockDecideSkip)
	if errors.Is(err, ErrNotFound) { // every one of them locked by others
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("decide pending bids: %w", err)
	}
	return ds, locked < len(ids), nil
}

// decide locks the auctions with the lock mode (with SKIP LOCKED, those no other
// transaction holds) and decides their pending bids in one transaction; locked is how
// many of them it locked.
func (b *Bidding) decide(ctx context.Context, auctionIDs []int64, lock string) (ds []Decision, locked int, err error) {
	err = b.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		auctions, err := db.LockAuctions(ctx, tx, auctionIDs, lock)
		if err != nil {
			return err
		}
		locked = len(auctions)
		if len(auctions) == 0 {
			return db.ErrNotFound
		}
		ds, err = b.decideLocked(ctx, tx, auctions, b.OneBidPerDecision)
		return err
	})
	if errors.Is(err, db.ErrNotFound) {
		return nil, locked, ErrNotFound
	}
	return ds, locked, err
}

// decideLocked decides the pending bids of the auctions, which tx has locked (with
// oneBid, only the first of each), and writes the bids and auctions back
// (db.RecordDecisions) and the round's events to the outbox, all in tx; the auctions are
// updated in place. The commit that follows is durable: what a decision shows (an answer,
// a stream event, a notification) is never taken back by a crash.
func (b *Bidding) decideLocked(ctx context.Context, tx bun.IDB, auctions []db.Auction, oneBid bool) ([]Decision, error) {
	ids := make([]int64, len(auctions))
	var leaderIDs []int64
	for i, a := range auctions {
		ids[i] = a.ID
		if a.LeadingBidID != nil {
			leaderIDs = append(leaderIDs, *a.LeadingBidID)
		}
	}
	pending, err := db.PendingBidsOf(ctx, tx, ids)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	now, err := db.Now(ctx, tx)
	if err != nil {
		return nil, err
	}
	leaders := map[int64]db.Bid{}
	if len(leaderIDs) > 0 {
		bs, err := db.BidsByIDs(ctx, tx, leaderIDs)
		if err != nil {
			return nil, err
		}
		for _, l := range bs {
			leaders[l.ID] = l
		}
	}
	byAuction := map[int64][]db.Bid{}
	for _, bid := range pending {
		byAuction[bid.AuctionID] = append(byAuction[bid.AuctionID], bid)
	}
	var ds []Decision
	var changedBids []db.Bid
	var changedAuctions []db.Auction
	for i := range auctions {
		a := &auctions[i]
		bids := byAuction[a.ID]
		if len(bids) == 0 {
			continue
		}
		if oneBid {
			bids = bids[:1]
		}
		var leader *db.Bid
		if a.LeadingBidID != nil {
			if l, ok := leaders[*a.LeadingBidID]; ok {
				leader = &l
			}
		}
		var before int64
		if leader != nil {
			before = leader.Amount
		}
		d := decideAuction(a, leader, bids, now)
		if leader != nil && (leader.Status == db.BidOutbid || leader.Amount != before) {
			changedBids = append(changedBids, *leader) // outbid, or its price rose defending
		}
		changedBids = append(changedBids, bids...)
		a.UpdatedAt = now
		changedAuctions = append(changedAuctions, *a)
		d.Auction = *a
		ds = append(ds, d)
	}
	if err := db.RecordDecisions(ctx, tx, changedBids, changedAuctions); err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return ds, nil
	}
	var events []Event
	for _, d := range ds {
		events = append(events, d.Events()...)
	}
	js, err := json.Marshal(events)
	if err != nil {
		return nil, err
	}
	row := &db.OutboxRow{Kind: db.OutboxDecided, Events: ptr(string(js)), CreatedAt: now}
	if err := db.InsertOutbox(ctx, tx, row); err != nil {
		return nil, err
	}
	for i := range ds {
		ds[i].OutboxID = row.ID
		if ds[i].Sold {
			d := &ds[i]
			lead := d.Decided[slices.IndexFunc(d.Decided, func(b db.Bid) bool { return b.ID == *d.Auction.LeadingBidID })]
			if d.Settled, err = settleLocked(ctx, tx, &d.Auction, &lead, now); err != nil {
				return nil, err
			}
		}
	}
	return ds, nil
}

// decideAuction decides the auction's pending bids in arrival order (decideBid), updating
// the bids, the auction and the leader (nil: none yet) in place.
func decideAuction(a *db.Auction, leader *db.Bid, pending []db.Bid, now time.Time) Decision {
	var d Decision
	end := a.EndAt
	for i := range pending {
		bid := &pending[i]
		var st step
		leader, st = decideBid(a, leader, bid, now)
		if st.displaced != nil {
			d.Released = append(d.Released, *st.displaced)
			d.Outbid = append(d.Outbid, *st.displaced)
		}
		switch bid.Status {
		case db.BidOutbid: // defended against at once
			d.Released = append(d.Released, *bid)
			d.Outbid = append(d.Outbid, *bid)
		case db.BidRejected:
			d.Released = append(d.Released, *bid)
		}
		if st.changed {
			d.Changed, d.changedBy = true, bid.ID
		}
		d.Sold = d.Sold || st.sold
	}
	d.EndMoved = !d.Sold && a.EndAt.After(end)
	if leader != nil {
		d.leaderID = leader.BidderID
	}
	d.Decided = pending
	return d
}

// Release gives an outbid or rejected bid's held points back to its bidder, once: a
// repeat, or a bid that is not outbid or rejected, changes nothing.
func (b *Bidding) Release(ctx context.Context, bidID int64) error {
	n, err := b.ReleaseBids(ctx, []int64{bidID})
	if err == nil && n < 0 {
		return ErrNotFound
	}
	return err
}

// ReleaseBids is Release for many bids, in one transaction (db.ReleaseBids); it returns
// how many it released now, or -1 when none of the bids exists.
func (b *Bidding) ReleaseBids(ctx context.Context, bidIDs []int64) (int, error) {
	n, err := db.ReleaseBids(ctx, b.DB, bidIDs)
	if err != nil {
		return 0, fmt.Errorf("release bids: %w", err)
	}
	return n, nil
}

// ReconcileReleases releases the outbid and rejected bids whose release task was lost.
func (b *Bidding) ReconcileReleases(ctx context.Context) (int, error) {
	const chunk = 500
	n := 0
	for {
		ids, err := db.UnreleasedBids(ctx, b.DB, chunk)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		m, err := b.ReleaseBids(ctx, ids)
		if err != nil {
			return n, err
		}
		n += max(m, 0)
		if len(ids) < chunk || m <= 0 {
			return n, nil
		}
	}
}

// Reconcile decides the bids that have waited longer than `after`, whatever happened to
// their tasks: nothing depends on Redis keeping its queues. It returns the decisions, whose
// follow-ups the caller queues as the worker does for its own; a chunk's decisions are
// returned even when a later chunk fails.
func (b *Bidding) Reconcile(ctx context.Context, after time.Duration) ([]Decision, error) {
	ids, err := db.AuctionsWithStalePending(ctx, b.DB, time.Now().Add(-after), 1000)
	if err != nil {
		return nil, err
	}
	var all []Decision
	for chunk := range slices.Chunk(ids, 500) {
		ds, _, err := b.decide(ctx, chunk, db.LockDecide)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return all, err
		}
		all = append(all, ds...)
	}
	return all, nil
}

// CountDecided is how many bids the decisions decided.
func CountDecided(ds []Decision) int {
	n := 0
	for _, d := range ds {
		n += len(d.Decided)
	}
	return n
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
// recommendations (db.LogDecidedBids). It is idempotent. Bids not decided yet are left out
// and reported with ErrBidDecisionPending, so a task retries.
func (b *Bidding) LogBids(ctx context.Context, bidIDs []int64) error {
	pending, err := db.LogDecidedBids(ctx, b.DB, bidIDs)
	if err == nil && pending > 0 {
		err = ErrBidDecisionPending
	}
	return err
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

// Age is how many whole years old someone born on birth is at `at` (db.Age).
func Age(birth, at time.Time) int { return db.Age(birth, at) }
