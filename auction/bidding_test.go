package auction_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const charged = 1_000_000

type bidWorld struct {
	d        *db.DB
	bidding  *auction.Bidding
	auction  *db.Auction // the first auction
	auctions []int64
	users    []int64
	seller   int64 // the seller of every auction
	points   int64 // what each bidder was charged
}

func newBidWorld(t testing.TB, bidders int) *bidWorld { return newBidWorldN(t, bidders, 1, charged) }

// newBidWorldN makes the bidders, each charged `points`, and `auctions` open auctions.
func newBidWorldN(t testing.TB, bidders, auctions int, points int64) *bidWorld {
	t.Helper()
	ctx := context.Background()
	d := testenv.DB(t)
	w := &bidWorld{d: d, bidding: &auction.Bidding{DB: d, Log: testenv.Discard()}, points: points}
	if d.Kind == db.Postgres {
		w.bidding.Holds = db.NewHoldBatcher(d, 2, 64) // the API's way: concurrent bids share commits
	}
	wallet := &auction.Wallet{DB: d}
	mk := func(i int) int64 {
		u := &db.User{Email: fmt.Sprintf("b%d@example.com", i), EmailKey: fmt.Sprintf("b%d@example.com", i),
			PasswordHash: "x", Nickname: fmt.Sprintf("bidder%d", i), BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "other"}
		require.NoError(t, db.InsertUser(ctx, d, u))
		return u.ID
	}
	seller := mk(-1)
	w.seller = seller
	for i := range bidders {
		id := mk(i)
		if points <= auction.MaxCharge {
			_, err := wallet.Charge(ctx, id, points, "")
			require.NoError(t, err)
		} else {
			_, err := db.ApplyLedger(ctx, d, &db.LedgerEntry{UserID: id, Kind: db.KindCharge, Delta: points})
			require.NoError(t, err)
		}
		w.users = append(w.users, id)
	}
	for i := range auctions {
		a := &db.Auction{SellerID: seller, Name: fmt.Sprintf("Lot %d", i), StartPrice: 100, CurrentPrice: 100, Status: db.StatusPending,
			StartAt: time.Now().Add(-time.Second).UTC(), EndAt: time.Now().Add(time.Hour).UTC()}
		require.NoError(t, db.InsertAuction(ctx, d, a))
		if w.auction == nil {
			w.auction = a
		}
		w.auctions = append(w.auctions, a.ID)
	}
	return w
}

// decide does what a worker does with a bid:decide task and its points:release follow-ups.
func (w *bidWorld) decide(t testing.TB, ctx context.Context) {
	d, err := w.bidding.Decide(ctx, w.auction.ID)
	if !assert.NoError(t, err) {
		return
	}
	for _, r := range d.Released {
		assert.NoError(t, w.bidding.Release(ctx, r.ID))
	}
}

// check verifies every invariant of docs/ARCHITECTURE.md that bidding touches.
func (w *bidWorld) check(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	var bids []db.Bid
	require.NoError(t, w.d.NewSelect().Model(&bids).Where("b.auction_id = ?", w.auction.ID).
		OrderExpr("b.decided_at, b.id").Scan(ctx))
	a, err := db.AuctionByID(ctx, w.d, w.auction.ID, false)
	require.NoError(t, err)

	// Every bid decided; replaying the decisions in their order by the rules gives the same
	// outcome, bid by bid.
	for _, b := range bids {
		require.NotEqual(t, db.BidPending, b.Status, "bid %d is still pending", b.ID)
	}
	sim, want := auction.Replay(*a, bids)
	leaders := 0
	for i, b := range bids {
		assert.Equal(t, want[i].Status, b.Status, "bid %d (%d points, max %v)", b.ID, b.Amount, b.MaxAmount)
		assert.Equal(t, want[i].Amount, b.Amount, "bid %d: its amount", b.ID)
		if b.Status == db.BidLeading || b.Status == db.BidWon {
			leaders++
		}
	}
	if len(bids) > 0 {
		assert.Equal(t, 1, leaders, "exactly one leader")
		require.NotNil(t, a.LeadingBidID)
		assert.Equal(t, *sim.LeadingBidID, *a.LeadingBidID)
		assert.Equal(t, sim.CurrentPrice, a.CurrentPrice)
		assert.Equal(t, sim.BidCount, a.BidCount, "bid_count counts the bids that led")
		assert.Equal(t, sim.EndAt.UTC(), a.EndAt.UTC(), "end_at, as soft close moved it")
		assert.Equal(t, sim.Status, a.Status)
	}

	// Points: conserved to the point (less what a won buy-now paid the seller), held equal to
	// the leading bid, ledger row by row.
	var total, paidAll int64
	for _, u := range w.users {
		bal, err := db.BalanceOf(ctx, w.d, u)
		require.NoError(t, err)
		ledger, err := db.LedgerTotals(ctx, w.d, u)
		require.NoError(t, err)
		assert.Equal(t, bal, ledger, "user %d: the ledger explains the balance", u)
		var heldWant, paid int64
		for _, b := range bids {
			switch {
			case b.BidderID == u && b.Status == db.BidLeading:
				heldWant += b.Held()
			case b.BidderID == u && b.Status == db.BidWon:
				paid += b.Amount
			}
		}
		assert.Equal(t, w.points-paid, bal.Available+bal.Held, "user %d: points conserved", u)
		assert.Equal(t, heldWant, bal.Held, "user %d holds exactly their leading bid", u)
		total += bal.Available + bal.Held
		paidAll += paid
	}
	assert.Equal(t, w.points*int64(len(w.users))-paidAll, total)
	if paidAll > 0 {
		seller, err := db.BalanceOf(ctx, w.d, w.seller)
		require.NoError(t, err)
		assert.Equal(t, paidAll, seller.Available, "the seller got what the won bids paid")
	}
}

// storm places n bids from the users at once, with amounts around the rising price, a
// quarter of them proxy bids.
func (w *bidWorld) storm(t *testing.T, n int, decide func(bidID int64)) (accepted int64) {
	var wg sync.WaitGroup
	var acc atomic.Int64
	for i := range n {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 7))
			a, _ := db.AuctionByID(context.Background(), w.d, w.auction.ID, false)
			amount := max(1, a.CurrentPrice+int64(r.IntN(3000))-200)
			key := "" // half the bids take the one-statement path on PostgreSQL, half the transaction
			if i%2 == 0 {
				key = fmt.Sprintf("key-%d", i)
			}
			o := auction.Order{Amount: amount}
			if i%4 == 1 { // a quarter are proxy bids: the replay in check holds them to the rules too
				m := amount + 3*auction.Increment(amount)
				o = auction.Order{Max: &m}
			}
			bid, err := w.bidding.Place(context.Background(), w.users[i%len(w.users)], w.auction.ID, o, key)
			switch {
			case err == nil:
				acc.Add(1)
				if decide != nil {
					decide(bid.ID)
				}
			case errors.Is(err, auction.ErrBidTooLow), errors.Is(err, auction.ErrInsufficientPoints):
			default:
				t.Errorf("place bid: %v", err)
			}
		})
	}
	wg.Wait()
	return acc.Load()
}

func TestConcurrentBidsOnOneAuction(t *testing.T) {
	t.Parallel()
	w := newBidWorld(t, 50)
	ctx := context.Background()
	accepted := w.storm(t, 500, func(int64) { w.decide(t, ctx) })
	require.Greater(t, accepted, int64(50))
	w.check(t)
}

func TestEveryDecisionDeliveredTwice(t *testing.T) {
	t.Parallel()
	w := newBidWorld(t, 50)
	ctx := context.Background()
	w.storm(t, 300, func(int64) {
		for range 2 {
			w.decide(t, ctx)
		}
	})
	w.check(t)
}

// TestLostQueuesAreReconciled places bids while workers die mid-transaction (a context
// cancelled under them) and every task is then lost (as when Redis is emptied): the
// reconciliation alone decides what is left, and the invariants hold.
func TestLostQueuesAreReconciled(t *testing.T) {
	t.Parallel()
	w := newBidWorld(t, 20)
	var dying atomic.Int64
	accepted := w.storm(t, 200, func(int64) {
		if dying.Add(1)%3 == 0 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(3000))*time.Microsecond)
			_, _ = w.bidding.Decide(ctx, w.auction.ID) // may die half way: its transaction rolls back
			cancel()
		}
	})
	// Whatever the dying workers managed, the last bids' tasks are lost for sure.
	for i := range 3 {
		a, err := db.AuctionByID(context.Background(), w.d, w.auction.ID, false)
		require.NoError(t, err)
		_, err = w.bidding.PlaceBid(context.Background(), w.users[i], w.auction.ID, a.CurrentPrice+5000, "")
		require.NoError(t, err)
		accepted++
	}
	pending, err := w.d.NewSelect().Model((*db.Bid)(nil)).Where("status = ?", db.BidPending).Count(context.Background())
	require.NoError(t, err)
	require.GreaterOrEqual(t, int64(pending), int64(3), "some bids are left for the reconciliation")
	ds, err := w.bidding.Reconcile(context.Background(), 0)
	require.NoError(t, err)
	assert.EqualValues(t, pending, auction.CountDecided(ds))
	assert.Positive(t, accepted)
	released, err := w.bidding.ReconcileReleases(context.Background())
	require.NoError(t, err)
	assert.Positive(t, released, "the release tasks were lost too")
	w.check(t)
	ds, err = w.bidding.Reconcile(context.Background(), 0)
	require.NoError(t, err)
	assert.Empty(t, ds, "nothing left to decide")

	// Every bid:log task was lost too: the batch logs every decided bid, once.
	logged, err := w.bidding.LogUnloggedBids(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, accepted, logged)
	logged, err = w.bidding.LogUnloggedBids(context.Background())
	require.NoError(t, err)
	assert.Zero(t, logged)
}

func TestPlaceBidRules(t *testing.T) {
	t.Parallel()
	w := newBidWorld(t, 2)
	ctx := context.Background()
	b := w.bidding
	_, err := b.PlaceBid(ctx, w.auction.SellerID, w.auction.ID, 500, "")
	assert.ErrorIs(t, err, auction.ErrOwnAuction)
	_, err = b.PlaceBid(ctx, w.users[0], 999999, 500, "")
	assert.ErrorIs(t, err, auction.ErrNotFound)
	_, err = b.PlaceBid(ctx, w.users[0], w.auction.ID, 99, "")
	assert.ErrorIs(t, err, auction.ErrBidTooLow)
	_, err = b.PlaceBid(ctx, w.users[0], w.auction.ID, charged+1, "")
	assert.ErrorIs(t, err, auction.ErrInsufficientPoints)

	first, err := b.PlaceBid(ctx, w.users[0], w.auction.ID, 150, "k")
	require.NoError(t, err)
	again, err := b.PlaceBid(ctx, w.users[0], w.auction.ID, 150, "k")
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID, "same key and body: the same bid, held once")
	_, err = b.PlaceBid(ctx, w.users[0], w.auction.ID, 160, "k")
	assert.ErrorIs(t, err, auction.ErrIdempotencyConflict)
	bal, _ := db.BalanceOf(ctx, w.d, w.users[0])
	assert.Equal(t, db.Balance{Available: charged - 150, Held: 150}, bal)

	// A bidder raises their own lead: the new bid holds its whole amount, the old is released.
	w.decide(t, ctx)
	_, err = b.PlaceBid(ctx, w.users[0], w.auction.ID, 155, "")
	assert.ErrorIs(t, err, auction.ErrBidTooLow, "150 + 10 is the minimum now")
	_, err = b.PlaceBid(ctx, w.users[0], w.auction.ID, 300, "")
	require.NoError(t, err)
	w.decide(t, ctx)
	bal, _ = db.BalanceOf(ctx, w.d, w.users[0])
	assert.Equal(t, db.Balance{Available: charged - 300, Held: 300}, bal)
	w.check(t)

	// Windows are judged by the clock.
	future := &db.Auction{SellerID: w.auction.SellerID, Name: "Later", StartPrice: 1, CurrentPrice: 1, Status: db.StatusReady,
		StartAt: time.Now().Add(time.Hour).UTC(), EndAt: time.Now().Add(2 * time.Hour).UTC()}
	require.NoError(t, db.InsertAuction(ctx, w.d, future))
	_, err = b.PlaceBid(ctx, w.users[1], future.ID, 5, "")
	assert.ErrorIs(t, err, auction.ErrAuctionNotStarted)
	past := &db.Auction{SellerID: w.auction.SellerID, Name: "Over", StartPrice: 1, CurrentPrice: 1, Status: db.StatusPending,
		StartAt: time.Now().Add(-2 * time.Hour).UTC(), EndAt: time.Now().Add(-time.Millisecond).UTC()}
	require.NoError(t, db.InsertAuction(ctx, w.d, past))
	_, err = b.PlaceBid(ctx, w.users[1], past.ID, 5, "")
	assert.ErrorIs(t, err, auction.ErrAuctionClosed, "PENDING by status, but ended by the clock")
}
