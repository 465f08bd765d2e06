package db_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// placeWorld is a seller, two bidders charged 1,000 and 100 points, and an open auction,
// one not started and one ended, each starting at 100.
type placeWorld struct {
	d                    *db.DB
	seller, rich, poor   int64
	open, notYet, closed int64
}

func newPlaceWorld(t *testing.T) *placeWorld {
	t.Helper()
	d := testenv.DB(t)
	if d.Kind != db.Postgres {
		t.Skip("batched placement is PostgreSQL's; SQLite's db.PlaceHold, one bid a transaction, runs in auction's placement and decision cases")
	}
	ctx := context.Background()
	w := &placeWorld{d: d, seller: insertUser(t, d, "seller@x").ID, rich: insertUser(t, d, "rich@x").ID,
		poor: insertUser(t, d, "poor@x").ID}
	for user, points := range map[int64]int64{w.rich: 1000, w.poor: 100} {
		_, err := db.ApplyLedger(ctx, d, &db.LedgerEntry{UserID: user, Kind: db.KindCharge, Delta: points})
		require.NoError(t, err)
	}
	now := time.Now().UTC()
	auction := func(start, end time.Time) int64 {
		a := &db.Auction{SellerID: w.seller, Name: "lot", StartPrice: 100, CurrentPrice: 100,
			Status: db.StatusPending, StartAt: start, EndAt: end}
		require.NoError(t, db.InsertAuction(ctx, d, a))
		return a.ID
	}
	w.open = auction(now.Add(-time.Hour), now.Add(time.Hour))
	w.notYet = auction(now.Add(time.Hour), now.Add(2*time.Hour))
	w.closed = auction(now.Add(-2*time.Hour), now.Add(-time.Second))
	return w
}

// One batch holds bids of every outcome: each gets its own, as if placed alone, and a bid
// refused by its rules or its points leaves the others placed.
func TestPlaceBatchOutcomes(t *testing.T) {
	t.Parallel()
	w := newPlaceWorld(t)
	ctx := context.Background()
	bids := []*db.Bid{
		{AuctionID: w.open, BidderID: w.poor, Amount: 150},    // 0: more than the 100 points
		{AuctionID: w.open, BidderID: w.rich, Amount: 150},    // 1: placed
		{AuctionID: w.open, BidderID: w.seller, Amount: 200},  // 2: the seller's own auction
		{AuctionID: 999_999_999, BidderID: w.rich, Amount: 5}, // 3: no such auction
		{AuctionID: w.notYet, BidderID: w.rich, Amount: 500},  // 4: not started
		{AuctionID: w.closed, BidderID: w.rich, Amount: 500},  // 5: ended
		{AuctionID: w.open, BidderID: w.rich, Amount: 50},     // 6: below the start price
		{AuctionID: w.open, BidderID: w.rich, Amount: 160},    // 7: placed: no bid is decided yet
		{AuctionID: w.open, BidderID: w.rich, Amount: 900},    // 8: 690 points left
		{AuctionID: w.open, BidderID: w.poor, Amount: 100},    // 9: placed, all of poor's points
		{AuctionID: w.open, BidderID: w.rich, Amount: 200},    // 10: its caller gave up before the batch went
	}
	as, errs := db.PlaceBatchForTest(ctx, w.d, bids, map[int]bool{10: true})
	placed := map[int]bool{1: true, 7: true, 9: true}
	refused := map[int]string{2: "own_auction", 4: "auction_not_started", 5: "auction_closed", 6: "bid_too_low"}
	for i, b := range bids {
		switch {
		case i == 0 || i == 8:
			assert.ErrorIs(t, errs[i], db.ErrInsufficient, "bid %d", i)
		case i == 3:
			assert.ErrorIs(t, errs[i], db.ErrNotFound, "bid %d", i)
		case i == 10:
			assert.ErrorIs(t, errs[i], context.Canceled, "bid %d", i)
			assert.Zero(t, b.ID, "bid %d is not placed", i)
		case placed[i]:
			require.NoError(t, errs[i], "bid %d", i)
			assert.NotZero(t, b.ID, "bid %d", i)
			assert.Equal(t, db.BidPending, b.Status, "bid %d", i)
			assert.Empty(t, as[i], "bid %d: no refusal", i)
		case refused[i] != "":
			require.NoError(t, errs[i], "bid %d", i)
			assert.Zero(t, b.ID, "bid %d is refused by the rules", i)
			assert.Equal(t, refused[i], as[i], "bid %d: the rule that refused it", i)
		}
	}
	assert.Less(t, bids[1].ID, bids[7].ID, "a bidder's bids keep their order in the batch")

	for user, want := range map[int64]db.Balance{w.rich: {Available: 690, Held: 310}, w.poor: {Available: 0, Held: 100}} {
		bal, err := db.BalanceOf(ctx, w.d, user)
		require.NoError(t, err)
		assert.Equal(t, want, bal, "user %d", user)
		ledger, err := db.LedgerTotals(ctx, w.d, user)
		require.NoError(t, err)
		assert.Equal(t, bal, ledger, "user %d: a bid_hold ledger row per placed bid", user)
	}
	n, err := w.d.NewSelect().Model((*db.Bid)(nil)).Count(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 3, n, "three bids placed")
}

// Bids placed at once through a HoldBatcher share statements, each is placed once, and
// the points add up.
func TestHoldBatcherUnderLoad(t *testing.T) {
	t.Parallel()
	w := newPlaceWorld(t)
	ctx := context.Background()
	h := db.NewHoldBatcher(w.d, 2, 16)
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	bids := make([]*db.Bid, n)
	for i := range n {
		bidder := w.rich
		if i%2 == 1 {
			bidder = w.poor
		}
		bids[i] = &db.Bid{AuctionID: w.open, BidderID: bidder, Amount: 100}
		wg.Go(func() {
			_, errs[i] = h.Place(ctx, bids[i])
		})
	}
	wg.Wait()
	var rich, poor int64
	for i, b := range bids {
		switch {
		case errors.Is(errs[i], db.ErrInsufficient):
			assert.Zero(t, b.ID)
		case errs[i] != nil:
			t.Fatalf("bid %d: %v", i, errs[i])
		case b.BidderID == w.rich:
			require.NotZero(t, b.ID)
			rich++
		default:
			require.NotZero(t, b.ID)
			poor++
		}
	}
	assert.EqualValues(t, 10, rich, "1,000 points hold ten bids of 100")
	assert.EqualValues(t, 1, poor, "100 points hold one")
	statements, placed := h.Stats()
	assert.EqualValues(t, n, placed)
	assert.Less(t, statements, int64(n), "bids that wait together share a statement")
	for user, want := range map[int64]db.Balance{w.rich: {Held: 1000}, w.poor: {Held: 100}} {
		bal, err := db.BalanceOf(ctx, w.d, user)
		require.NoError(t, err)
		assert.Equal(t, want, bal, "user %d", user)
	}
}
