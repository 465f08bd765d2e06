package auction_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// endedWorld has `auctions` auctions, two of every three with two bids (half of them
// still pending), all of which have just ended.
func endedWorld(t *testing.T, auctions int) *bidWorld {
	t.Helper()
	ctx := context.Background()
	w := newBidWorldN(t, 20, auctions, charged)
	for i, id := range w.auctions {
		if i%3 == 0 {
			continue // no bids: ends without a winner
		}
		for k, amount := range []int64{100 + int64(i%7)*10, 500 + int64(i%5)*100} {
			_, err := w.bidding.PlaceBid(ctx, w.users[(i+k)%len(w.users)], id, amount, "")
			require.NoError(t, err)
		}
		if i%2 == 0 {
			w.decide(t, ctx)
			_, err := w.bidding.Decide(ctx, id)
			require.NoError(t, err)
		}
	}
	_, err := w.d.NewUpdate().Model((*db.Auction)(nil)).Set("end_at = ?", time.Now().UTC()).Where("1 = 1").Exec(ctx)
	require.NoError(t, err)
	return w
}

// checkSettled verifies invariants 1 to 4 of docs/ARCHITECTURE.md once every auction of w has
// been closed and every release has happened.
func (w *bidWorld) checkSettled(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var bids []db.Bid
	require.NoError(t, w.d.NewSelect().Model(&bids).Scan(ctx))
	byAuction := map[int64][]db.Bid{}
	for _, b := range bids {
		require.NotEqual(t, db.BidPending, b.Status, "bid %d pending after the close", b.ID)
		byAuction[b.AuctionID] = append(byAuction[b.AuctionID], b)
	}
	var winners []db.AuctionWinner
	require.NoError(t, w.d.NewSelect().Model(&winners).Scan(ctx))
	won := map[int64]db.AuctionWinner{}
	for _, win := range winners {
		_, dup := won[win.AuctionID]
		require.False(t, dup, "auction %d has two winners", win.AuctionID)
		won[win.AuctionID] = win
	}
	var sold int64
	for _, id := range w.auctions {
		a, err := db.AuctionByID(ctx, w.d, id, false)
		require.NoError(t, err)
		assert.Equal(t, db.StatusDone, a.Status, "auction %d", id)
		assert.NotNil(t, a.ClosedAt)
		bs := byAuction[id]
		win, ok := won[id]
		if len(bs) == 0 {
			assert.False(t, ok, "auction %d had no bids, so no winner", id)
			continue
		}
		require.True(t, ok, "auction %d has bids but no winner", id)
		var best db.Bid
		for _, b := range bs {
			if b.Amount > best.Amount && b.CreatedAt.Before(a.EndAt) {
				best = b
			}
		}
		assert.Equal(t, best.ID, win.BidID, "auction %d: the highest bid placed before the end wins", id)
		for _, b := range bs {
			if b.ID == win.BidID {
				assert.Equal(t, db.BidWon, b.Status)
			} else {
				assert.Contains(t, []string{db.BidOutbid, db.BidRejected}, b.Status)
			}
		}
		sold += win.Amount
	}
	kinds := map[string]int{}
	var rows []db.LedgerEntry
	require.NoError(t, w.d.NewSelect().Model(&rows).Scan(ctx))
	for _, r := range rows {
		kinds[r.Kind]++
	}
	assert.Equal(t, len(winners), kinds[db.KindPayout], "one payout per winner")
	assert.Equal(t, len(winners), kinds[db.KindWinningPayment], "one winning payment per winner")

	// Conservation: bidders hold nothing any more, and what they paid the seller has.
	var total int64
	for _, u := range append([]int64{w.seller}, w.users...) {
		bal, err := db.BalanceOf(ctx, w.d, u)
		require.NoError(t, err)
		ledger, err := db.LedgerTotals(ctx, w.d, u)
		require.NoError(t, err)
		assert.Equal(t, bal, ledger, "user %d: the ledger explains the balance", u)
		assert.Zero(t, bal.Held, "user %d holds points after every auction ended", u)
		total += bal.Available + bal.Held
	}
	seller, err := db.BalanceOf(ctx, w.d, w.seller)
	require.NoError(t, err)
	assert.Equal(t, sold, seller.Available, "the seller has every winning amount")
	assert.Equal(t, w.points*int64(len(w.users)), total, "points conserved")
}

// Two schedulers' batches and a close task per auction race on the same ended auctions:
// each is settled exactly once.
func TestTwoSchedulersAndCloseTasksSettleEachAuctionOnce(t *testing.T) {
	t.Parallel()
	w := endedWorld(t, 1000)
	ctx := context.Background()
	var settled atomic.Int64
	count := func(*auction.Settlement) { settled.Add(1) }
	var wg sync.WaitGroup
	var results [2]auction.BatchResult
	for i := range results {
		wg.Go(func() {
			res, err := w.bidding.CloseEnded(ctx, 100, 4, count)
			assert.NoError(t, err)
			results[i] = res
		})
	}
	wg.Go(func() { // the auction:close tasks
		for _, id := range w.auctions {
			s, err := w.bidding.Close(ctx, id, false)
			assert.NoError(t, err)
			if s != nil {
				settled.Add(1)
			}
		}
	})
	wg.Wait()
	// A batch stops at a chunk that others settled entirely; a last pass finds nothing.
	res, err := w.bidding.CloseEnded(ctx, 100, 4, count)
	require.NoError(t, err)
	assert.Zero(t, res.Processed)
	assert.EqualValues(t, len(w.auctions), settled.Load(), "every auction settled exactly once")
	assert.Positive(t, results[0].Processed+results[1].Processed, "the batches did part of the work")
	_, err = w.bidding.ReconcileReleases(ctx)
	require.NoError(t, err)
	w.checkSettled(t)
}

// A scheduler killed in the middle of a batch leaves every auction either settled or
// untouched, and the next run finishes the rest.
func TestKilledBatchIsFinishedByTheNextRun(t *testing.T) {
	t.Parallel()
	w := endedWorld(t, 300)
	ctx, kill := context.WithCancel(context.Background())
	var settled atomic.Int64
	res, err := w.bidding.CloseEnded(ctx, 50, 4, func(*auction.Settlement) {
		if settled.Add(1) == 60 {
			kill() // the others die mid-transaction
		}
	})
	require.Error(t, err)
	assert.Less(t, res.Processed, len(w.auctions))
	ended, err := db.EndedAuctions(context.Background(), w.d, db.EndPosition{}, 1000)
	require.NoError(t, err)
	assert.NotEmpty(t, ended, "the kill left work for the next run")

	res, err = w.bidding.CloseEnded(context.Background(), 50, 4, nil)
	require.NoError(t, err)
	assert.Equal(t, len(ended), res.Processed)
	_, err = w.bidding.ReconcileReleases(context.Background())
	require.NoError(t, err)
	w.checkSettled(t)
}

// A bid accepted just before the end and still pending when the auction closes is decided
// before the settlement, and can win; one stamped at the end itself cannot.
func TestBidPendingAtTheEndIsDecidedBeforeSettlement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newBidWorld(t, 2)
	early, err := w.bidding.PlaceBid(ctx, w.users[0], w.auction.ID, 300, "")
	require.NoError(t, err)
	late, err := w.bidding.PlaceBid(ctx, w.users[1], w.auction.ID, 900, "")
	require.NoError(t, err)
	end := early.CreatedAt.Add(time.Millisecond)
	_, err = w.d.NewUpdate().Model((*db.Auction)(nil)).Set("end_at = ?", end).Where("id = ?", w.auction.ID).Exec(ctx)
	require.NoError(t, err)
	_, err = w.d.NewUpdate().Model((*db.Bid)(nil)).Set("created_at = ?", end).Where("id = ?", late.ID).Exec(ctx)
	require.NoError(t, err)
	time.Sleep(time.Until(end) + 10*time.Millisecond) // the close task runs at the end

	s, err := w.bidding.Close(ctx, w.auction.ID, false)
	require.NoError(t, err)
	require.NotNil(t, s)
	require.NotNil(t, s.Final, "the pending bids were decided by the close")
	require.NotNil(t, s.Winner)
	assert.Equal(t, early.ID, s.Winner.ID, "the bid placed a millisecond before the end wins")
	got, err := db.BidByID(ctx, w.d, late.ID)
	require.NoError(t, err)
	assert.Equal(t, db.BidRejected, got.Status)
	assert.Equal(t, auction.ReasonClosed, *got.Reason)

	again, err := w.bidding.Close(ctx, w.auction.ID, false)
	require.NoError(t, err)
	assert.Nil(t, again, "closing twice does nothing")
	_, err = w.bidding.ReconcileReleases(ctx)
	require.NoError(t, err)
	w.checkSettled(t)
}

// A bid placed after the close is refused, and one that cannot be closed yet is not.
func TestCloseWaitsForTheEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newBidWorld(t, 1)
	s, err := w.bidding.Close(ctx, w.auction.ID, false)
	require.NoError(t, err)
	assert.Nil(t, s, "an auction that has not ended is not closed")
	_, err = w.d.NewUpdate().Model((*db.Auction)(nil)).Set("end_at = ?", time.Now().UTC()).Where("id = ?", w.auction.ID).Exec(ctx)
	require.NoError(t, err)
	s, err = w.bidding.Close(ctx, w.auction.ID, false)
	require.NoError(t, err)
	require.NotNil(t, s)
	assert.Nil(t, s.Winner, "no bids, no winner")
	_, err = w.bidding.PlaceBid(ctx, w.users[0], w.auction.ID, 500, "")
	assert.ErrorIs(t, err, auction.ErrAuctionClosed)
	_, err = w.bidding.PlaceBid(ctx, w.users[0], w.auction.ID, 500, "with-key")
	assert.ErrorIs(t, err, auction.ErrAuctionClosed)
	s, err = w.bidding.Close(ctx, 999999, false)
	require.NoError(t, err)
	assert.Nil(t, s, "a deleted auction has nothing to close")
}

// A bid being placed when the close comes holds the auction (KEY SHARE) until it commits;
// the close waits for it, and must then see it pending, decide it and let it win, not
// settle the auction as it was before the wait and leave the bid pending with its points
// held. (SQLite has one writer at a time, so there the bid is always wholly before or
// after the close: the other tests cover it.)
func TestCloseSeesABidCommittedWhileItWaitedForTheLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newBidWorld(t, 1)
	if w.d.Kind != db.Postgres {
		t.Skip("needs row locks; runs in the PostgreSQL pass")
	}
	tx, err := w.d.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck // after the commit: a no-op
	bid := &db.Bid{AuctionID: w.auction.ID, BidderID: w.users[0], Amount: 300}
	_, err = db.PlaceHold(ctx, tx, bid, nil) // PostgreSQL: the rules are gavel_refusal
	require.NoError(t, err)
	require.NotZero(t, bid.ID)
	// The auction ends while the bid is in flight.
	_, err = w.d.NewUpdate().Model((*db.Auction)(nil)).Set("end_at = ?", time.Now().UTC()).Where("id = ?", w.auction.ID).Exec(ctx)
	require.NoError(t, err)

	type result struct {
		s   *auction.Settlement
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := w.bidding.Close(ctx, w.auction.ID, false)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("the close did not wait for the bid in flight: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, tx.Commit())
	r := <-done
	require.NoError(t, r.err)
	require.NotNil(t, r.s)
	require.NotNil(t, r.s.Final, "the bid committed during the wait was decided by the close")
	require.NotNil(t, r.s.Winner)
	assert.Equal(t, bid.ID, r.s.Winner.ID)
	w.checkSettled(t)
}
