package auction

import (
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIncrementTable(t *testing.T) {
	for _, tc := range []struct{ price, inc int64 }{
		{1, 10}, {999, 10}, {1_000, 100}, {9_999, 100}, {10_000, 500}, {99_999, 500},
		{100_000, 1_000}, {999_999, 1_000}, {1_000_000, 5_000}, {50_000_000, 5_000},
	} {
		assert.Equal(t, tc.inc, Increment(tc.price), "price %d", tc.price)
	}
	lead := int64(7)
	assert.Equal(t, int64(500), MinNextBid(&db.Auction{StartPrice: 500, CurrentPrice: 500}), "no bid: the start price")
	assert.Equal(t, int64(1_100), MinNextBid(&db.Auction{StartPrice: 500, CurrentPrice: 1_000, LeadingBidID: &lead}))
}

func TestMaskNickname(t *testing.T) {
	for in, want := range map[string]string{"neo": "ne***", "nemo": "ne***", "ab": "a***", "a": "a***", "": "***", "Łukasz": "Łu***"} {
		assert.Equal(t, want, MaskNickname(in), in)
	}
}

func TestSniffImage(t *testing.T) {
	assert.Equal(t, "image/jpeg", SniffImage([]byte{0xFF, 0xD8, 0xFF, 0xDB}))
	assert.Equal(t, "image/png", SniffImage([]byte("\x89PNG\r\n\x1a\n....")))
	assert.Equal(t, "image/gif", SniffImage([]byte("GIF87a....")))
	assert.Equal(t, "image/webp", SniffImage([]byte("RIFF\x00\x00\x00\x00WEBPVP8L")))
	for _, bad := range []string{"", "RIFF\x00\x00\x00\x00WAVE", "<svg xmlns='http://www.w3.org/2000/svg'/>", "GIF90a", "\x89PNG"} {
		assert.Empty(t, SniffImage([]byte(bad)), "%q", bad)
	}
}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse")
	assert.True(t, CheckPassword(h, "correct horse"))
	assert.False(t, CheckPassword(h, "correct horsf"))
	assert.NotEqual(t, h, HashPassword("correct horse"), "salted")
	assert.False(t, CheckPassword("garbage", "x"))
}

// caseBid is the bid of step i of a case, as placed (a pending proxy bid's amount is its
// maximum; a buy-now's the buy-now price).
func caseBid(c DecisionCase, i int, end time.Time) *db.Bid {
	s := c.Steps[i]
	b := &db.Bid{ID: int64(i + 1), AuctionID: 1, BidderID: int64(s.Who + 10), Kind: db.KindBid, Amount: s.Amount,
		Status: db.BidPending, CreatedAt: end.Add(s.At)}
	switch {
	case s.Kind == db.KindBuyNow:
		b.Kind, b.Amount = db.KindBuyNow, c.BuyNow
	case s.Max > 0:
		b.Amount, b.MaxAmount = s.Max, &s.Max
	}
	return b
}

// caseAuction is the auction of a case, open, ending at end + c.Moved.
func caseAuction(c DecisionCase, end time.Time) *db.Auction {
	a := &db.Auction{ID: 1, SellerID: 1, StartPrice: c.Start, CurrentPrice: c.Start, Status: db.StatusPending,
		StartAt: end.Add(-48 * time.Hour), EndAt: end.Add(c.Moved), OriginalEndAt: &end, ExtensionSeconds: c.Extension}
	if c.Reserve > 0 {
		a.ReservePrice = &c.Reserve
	}
	if c.BuyNow > 0 {
		a.BuyNowPrice = &c.BuyNow
	}
	return a
}

func wantStatus(b *db.Bid) string {
	if b.Reason != nil {
		return b.Status + ":" + *b.Reason
	}
	return b.Status
}

// TestDecisionRules runs every DecisionCase through the rules alone, a bid at a time.
func TestDecisionRules(t *testing.T) {
	end := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range DecisionCases {
		t.Run(c.Name, func(t *testing.T) {
			a := caseAuction(c, end)
			var leader *db.Bid
			bids := make([]*db.Bid, len(c.Steps))
			for i, s := range c.Steps {
				bids[i] = caseBid(c, i, end)
				decidedAt := end.Add(-time.Hour)
				leader = DecideOne(a, leader, bids[i], decidedAt)
				assert.Equal(t, s.Price, a.CurrentPrice, "step %d: the price", i)
				if s.Leader == Nobody {
					assert.Nil(t, leader, "step %d: no leader", i)
				} else if assert.NotNil(t, leader, "step %d: a leader", i) {
					assert.Equal(t, int64(s.Leader+10), leader.BidderID, "step %d: the leader", i)
					assert.Equal(t, a.CurrentPrice, leader.Amount, "step %d: the leading bid's amount is the price", i)
					assert.Equal(t, leader.ID, *a.LeadingBidID, "step %d", i)
				}
			}
			for i, s := range c.Steps {
				assert.Equal(t, s.Want, wantStatus(bids[i]), "step %d: its status", i)
			}
			assert.Equal(t, c.BidCount, a.BidCount, "bid_count")
			if c.Sold() {
				assert.Equal(t, db.StatusDone, a.Status, "a buy-now closes the auction")
				assert.Equal(t, end.Add(-time.Hour), a.EndAt, "end_at: the buy-now's decision")
			} else {
				assert.Equal(t, db.StatusPending, a.Status)
				assert.Equal(t, end.Add(c.EndMoved), a.EndAt, "end_at")
			}
			win, pay, rest, reason := Settle(a, leader)
			if c.Winner == Nobody {
				assert.False(t, win, "no winner")
				assert.Equal(t, c.Unmet, reason == ReasonReserveNotMet, "reserve not met")
				return
			}
			require.True(t, win, "a winner")
			assert.Equal(t, int64(c.Winner+10), leader.BidderID, "the winner")
			assert.Equal(t, c.Pay, pay, "the price paid")
			assert.Equal(t, leader.Held()-c.Pay, rest, "the rest of what it held comes back")
		})
	}
}

// TestRefusalRules runs every RefusalCase through Refusal.
func TestRefusalRules(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range RefusalCases {
		kind := c.Kind
		if kind == "" {
			kind = db.KindBid
		}
		got := RefusalCode(Refusal(c.State(now), kind, c.Bidder(), c.Offer, now))
		assert.Equal(t, c.Want, got, c.Name)
	}
}
