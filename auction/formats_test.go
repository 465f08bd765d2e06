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

// TestDecisionCasesEndToEnd runs every case of auction.DecisionCases through the product on
// this pass's database: the bids are placed as the API places them (on PostgreSQL by
// gavel_place_bids, half of them with an idempotency key, which places them from Go), decided
// in one round as a worker decides them, their points released, and the auction closed and
// settled as the scheduler closes it (on PostgreSQL by gavel_close_auction). The statuses,
// prices, ends, history and ledger must be the table's; the points of every bidder and the
// seller must add up across all cases.
func TestDecisionCasesEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newBidWorldN(t, 3, 0, charged)
	paid := int64(0)
	for ci, c := range auction.DecisionCases {
		now, err := db.Now(ctx, w.d)
		require.NoError(t, err)
		end := now.Add(time.Hour).Truncate(time.Second)
		a := &db.Auction{SellerID: w.seller, Name: fmt.Sprintf("Case %d", ci), StartPrice: c.Start, CurrentPrice: c.Start,
			Status: db.StatusPending, StartAt: now.Add(-time.Minute), EndAt: end.Add(c.Moved), OriginalEndAt: &end,
			ExtensionSeconds: c.Extension}
		if c.Reserve > 0 {
			a.ReservePrice = &c.Reserve
		}
		if c.BuyNow > 0 {
			a.BuyNowPrice = &c.BuyNow
		}
		require.NoError(t, db.InsertAuction(ctx, w.d, a))

		ids := make([]int64, len(c.Steps))
		for i, s := range c.Steps {
			o := auction.Order{Kind: s.Kind, Amount: s.Amount}
			if s.Max > 0 {
				o.Max = &s.Max
			}
			key := ""
			if i%2 == 1 {
				key = fmt.Sprintf("case-%d-%d", ci, i)
			}
			bid, err := w.bidding.Place(ctx, w.users[s.Who], a.ID, o, key)
			require.NoError(t, err, "%s: step %d is placed", c.Name, i)
			ids[i] = bid.ID
			// The case says when the bid was made, relative to the seller's end.
			_, err = w.d.NewUpdate().Model((*db.Bid)(nil)).Set("created_at = ?", end.Add(s.At)).Where("id = ?", bid.ID).Exec(ctx)
			require.NoError(t, err)
		}
		d, err := w.bidding.Decide(ctx, a.ID)
		require.NoError(t, err, c.Name)
		assert.Len(t, d.Decided, len(c.Steps), "%s: one round decides every step", c.Name)
		for _, r := range d.Released {
			require.NoError(t, w.bidding.Release(ctx, r.ID))
		}

		last := c.Steps[len(c.Steps)-1]
		got, err := db.AuctionByID(ctx, w.d, a.ID, false)
		require.NoError(t, err)
		assert.Equal(t, last.Price, got.CurrentPrice, "%s: the price", c.Name)
		assert.Equal(t, c.BidCount, got.BidCount, "%s: bid_count", c.Name)
		bids, err := db.BidsByIDs(ctx, w.d, ids)
		require.NoError(t, err)
		byID := map[int64]db.Bid{}
		for _, b := range bids {
			byID[b.ID] = b
		}
		for i, s := range c.Steps {
			b := byID[ids[i]]
			status := b.Status
			if b.Reason != nil {
				status += ":" + *b.Reason
			}
			assert.Equal(t, s.Want, status, "%s: step %d", c.Name, i)
		}
		lead := byID[*got.LeadingBidID]
		assert.Equal(t, w.users[last.Leader], lead.BidderID, "%s: the leader", c.Name)
		assert.Equal(t, got.CurrentPrice, lead.Amount, "%s: the leading bid's amount is the price", c.Name)

		// The public history: one entry per step that changed the price or the leading bidder.
		hist, err := w.bidding.History(ctx, a.ID, 0, 100)
		require.NoError(t, err)
		prevPrice, prevLeader, changes := c.Start, auction.Nobody, 0
		for _, s := range c.Steps {
			if s.Price != prevPrice || s.Leader != prevLeader {
				changes++
			}
			prevPrice, prevLeader = s.Price, s.Leader
		}
		if assert.Len(t, hist, changes, "%s: the history", c.Name) && changes > 0 {
			assert.Equal(t, got.CurrentPrice, hist[0].Amount, "%s: the newest entry is the price now", c.Name)
			assert.Equal(t, fmt.Sprintf("bidder%d", last.Leader), hist[0].BidderNickname, "%s", c.Name)
		}

		var s *auction.Settlement
		if c.Sold() {
			assert.Equal(t, db.StatusDone, got.Status, "%s: a buy-now closes the auction", c.Name)
			require.NotNil(t, d.Settled, "%s: and settles it in the decision's transaction", c.Name)
			s = d.Settled
		} else {
			assert.Equal(t, end.Add(c.EndMoved), got.EndAt.UTC(), "%s: end_at", c.Name)
			assert.Equal(t, c.EndMoved > 0, d.EndMoved, "%s: the decision says the end moved", c.Name)
			_, err = w.d.NewUpdate().Model((*db.Auction)(nil)).Set("end_at = ?", now.Add(-time.Second)).Where("id = ?", a.ID).Exec(ctx)
			require.NoError(t, err)
			s, err = w.bidding.Close(ctx, a.ID, false)
			require.NoError(t, err, c.Name)
			require.NotNil(t, s, "%s: closed", c.Name)
		}
		lead, err = bidByID(ctx, w.d, lead.ID)
		require.NoError(t, err)
		ledger := ledgerOf(t, w.d, lead.ID)
		switch {
		case c.Winner == auction.Nobody:
			assert.Nil(t, s.Winner, "%s: no winner", c.Name)
			require.Equal(t, c.Unmet, s.Unmet != nil, "%s: reserve not met", c.Name)
			assert.Equal(t, db.BidRejected, lead.Status, "%s", c.Name)
			assert.Equal(t, auction.ReasonReserveNotMet, *lead.Reason, "%s", c.Name)
			h := lead.Held()
			assert.Equal(t, map[string][2]int64{db.KindBidHold: {-h, h}, db.KindBidRelease: {h, -h}}, ledger,
				"%s: everything it held comes back", c.Name)
		default:
			require.NotNil(t, s.Winner, "%s: a winner", c.Name)
			assert.Equal(t, w.users[c.Winner], s.Winner.BidderID, "%s: the winner", c.Name)
			assert.Equal(t, c.Pay, s.Winner.Amount, "%s: the price paid", c.Name)
			assert.Equal(t, db.BidWon, lead.Status, "%s", c.Name)
			h := lead.Held()
			want := map[string][2]int64{db.KindBidHold: {-h, h}, db.KindWinningPayment: {0, -c.Pay}, db.KindPayout: {c.Pay, 0}}
			if rest := h - c.Pay; rest > 0 {
				want[db.KindBidRelease] = [2]int64{rest, -rest}
			}
			assert.Equal(t, want, ledger, "%s: the winner pays the price and gets the rest back", c.Name)
			paid += c.Pay
		}
	}

	// Every auction is closed and every bid released or paid: nobody holds anything, and the
	// bidders' points went to the seller to the point.
	total := int64(0)
	for _, u := range w.users {
		bal, err := db.BalanceOf(ctx, w.d, u)
		require.NoError(t, err)
		assert.Zero(t, bal.Held, "bidder %d holds nothing after the closes", u)
		total += bal.Available
		ledger, err := db.LedgerTotals(ctx, w.d, u)
		require.NoError(t, err)
		assert.Equal(t, bal, ledger, "bidder %d: the ledger adds up to the balance", u)
	}
	assert.Equal(t, 3*charged-paid, total, "the bidders paid exactly the prices")
	seller, err := db.BalanceOf(ctx, w.d, w.seller)
	require.NoError(t, err)
	assert.Equal(t, db.Balance{Available: paid}, seller, "the seller received exactly the prices")
}

// TestRefusalConformance runs every case of auction.RefusalCases through gavel_refusal, the
// copy of auction.Refusal that places bids on PostgreSQL.
func TestRefusalConformance(t *testing.T) {
	t.Parallel()
	d := testenv.DB(t)
	if d.Kind != db.Postgres {
		t.Skip("gavel_refusal exists on PostgreSQL only; this test runs in the PostgreSQL pass")
	}
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range auction.RefusalCases {
		a := c.State(now)
		kind := c.Kind
		if kind == "" {
			kind = db.KindBid
		}
		offer := c.Offer
		if kind == db.KindBuyNow && a.BuyNowPrice != nil {
			offer = *a.BuyNowPrice
		}
		var got *string
		err := d.NewRaw("SELECT gavel_refusal(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", kind, c.Bidder(), offer, now,
			a.SellerID, a.Status, a.StartAt, a.EndAt, a.StartPrice, a.CurrentPrice, a.LeadingBidID, a.ReservePrice,
			a.BuyNowPrice).Scan(ctx, &got)
		require.NoError(t, err, c.Name)
		code := ""
		if got != nil {
			code = *got
		}
		assert.Equal(t, c.Want, code, "%s: gavel_refusal", c.Name)
		assert.Equal(t, c.Want, auction.RefusalCode(auction.Refusal(a, kind, c.Bidder(), offer, now)), "%s: Refusal", c.Name)
	}
}

func bidByID(ctx context.Context, d *db.DB, id int64) (db.Bid, error) {
	b, err := db.BidByID(ctx, d, id)
	if err != nil {
		return db.Bid{}, err
	}
	return *b, nil
}

// ledgerOf sums the ledger rows of a bid by kind: {delta, held_delta}.
func ledgerOf(t *testing.T, d *db.DB, bidID int64) map[string][2]int64 {
	t.Helper()
	var rows []db.LedgerEntry
	require.NoError(t, d.NewSelect().Model(&rows).Where("bid_id = ?", bidID).Scan(context.Background()))
	out := map[string][2]int64{}
	for _, r := range rows {
		v := out[r.Kind]
		out[r.Kind] = [2]int64{v[0] + r.Delta, v[1] + r.HeldDelta}
	}
	return out
}

// TestConcurrentFormatsOnOneAuction storms an auction that has a reserve, a buy-now price
// and soft close with straight bids, proxy bids and buy-nows from many bidders at once,
// decided by concurrent workers (each bid's task, some run twice): the outcome must be the
// rules' replay of the bids in their decision order, bid by bid, with the end as soft close
// moved it; then the close settles it and every point is accounted for.
func TestConcurrentFormatsOnOneAuction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newBidWorld(t, 40)
	end := w.auction.EndAt
	_, err := w.d.NewUpdate().Model((*db.Auction)(nil)).
		Set("reserve_price = ?, buy_now_price = ?, extension_seconds = ?, original_end_at = ?", 900_000, 900_000, 3600, end).
		Where("id = ?", w.auction.ID).Exec(ctx)
	require.NoError(t, err)
	var accepted, bought atomic.Int64
	place := func(i int, buyNows bool) {
		r := rand.New(rand.NewPCG(uint64(i), 11))
		a, _ := db.AuctionByID(ctx, w.d, w.auction.ID, false)
		var o auction.Order
		switch n := r.IntN(20); {
		case n == 0 && buyNows:
			o.Kind = db.KindBuyNow
		case n < 10:
			m := a.CurrentPrice + int64(r.IntN(4000))
			o.Max = &m
		default:
			o.Amount = max(1, a.CurrentPrice+int64(r.IntN(2000))-100)
		}
		key := ""
		if i%3 == 0 {
			key = fmt.Sprintf("mixed-%d", i)
		}
		bid, err := w.bidding.Place(ctx, w.users[i%len(w.users)], w.auction.ID, o, key)
		switch {
		case err == nil:
			accepted.Add(1)
			if bid.Kind == db.KindBuyNow {
				bought.Add(1)
			}
			for range 1 + i%2 {
				w.decide(t, ctx)
			}
		case errors.Is(err, auction.ErrBidTooLow), errors.Is(err, auction.ErrInsufficientPoints),
			errors.Is(err, auction.ErrBuyNowUnavailable), errors.Is(err, auction.ErrAuctionClosed):
		default:
			t.Errorf("place: %v", err)
		}
	}
	// First straight and proxy bids alone, then buy-nows racing more of them (the reserve,
	// far above the prices, keeps buy-it-now available until one wins).
	for phase, buyNows := range []bool{false, true} {
		var wg sync.WaitGroup
		for i := range 150 {
			wg.Go(func() { place(phase*150+i, buyNows) })
		}
		wg.Wait()
		if phase == 0 {
			require.Greater(t, accepted.Load(), int64(30), "the bids before any buy-now")
		}
	}
	w.decide(t, ctx)
	t.Logf("%d bids accepted, %d of them buy-nows", accepted.Load(), bought.Load())
	w.check(t)

	// Close it (unless a buy-now did) and settle: the bidders' points went to the seller to
	// the price, and nobody holds anything.
	_, err = w.d.NewUpdate().Model((*db.Auction)(nil)).Set("end_at = ?", time.Now().Add(-time.Second).UTC()).
		Where("id = ? AND status <> ?", w.auction.ID, db.StatusDone).Exec(ctx)
	require.NoError(t, err)
	_, err = w.bidding.Close(ctx, w.auction.ID, false)
	require.NoError(t, err)
	a, err := db.AuctionByID(ctx, w.d, w.auction.ID, false)
	require.NoError(t, err)
	require.Equal(t, db.StatusDone, a.Status)
	var paid int64
	if win, err := db.WinnerOf(ctx, w.d, a.ID); err == nil {
		paid = win.Amount
		assert.Equal(t, a.CurrentPrice, win.Amount, "the winner pays the price")
	}
	var total int64
	for _, u := range w.users {
		bal, err := db.BalanceOf(ctx, w.d, u)
		require.NoError(t, err)
		assert.Zero(t, bal.Held, "bidder %d holds nothing after the close", u)
		total += bal.Available
	}
	assert.Equal(t, w.points*int64(len(w.users))-paid, total)
	seller, err := db.BalanceOf(ctx, w.d, w.seller)
	require.NoError(t, err)
	assert.Equal(t, paid, seller.Available)
}
