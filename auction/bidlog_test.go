package auction_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// LogBids records each decided bid once with its bidder's age at the decision, counted
// as Age counts it (on PostgreSQL in SQL, on SQLite in Go), around birthdays and 29
// February; pending bids are left for a retry.
func TestLogBidsAgesAndSuccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newBidWorld(t, 0)
	cases := []struct{ birth, decided time.Time }{
		{date(2000, 2, 29), date(2023, 2, 28)},
		{date(2000, 2, 29), date(2023, 3, 1)},
		{date(2000, 2, 29), date(2024, 2, 29)},
		{date(1990, 12, 31), date(2025, 12, 30).Add(23*time.Hour + 59*time.Minute)},
		{date(1990, 12, 31), date(2025, 12, 31)},
		{date(1990, 1, 1), date(2026, 1, 1).Add(-time.Nanosecond * 1000)},
	}
	var ids []int64
	want := map[int64]db.BidLog{}
	for i, c := range cases {
		u := &db.User{Email: fmt.Sprintf("age%d@x", i), EmailKey: fmt.Sprintf("age%d@x", i), PasswordHash: "x",
			Nickname: "n", BirthDate: c.birth, Gender: []string{"male", "female", "other"}[i%3]}
		require.NoError(t, db.InsertUser(ctx, w.d, u))
		status := []string{db.BidLeading, db.BidRejected}[i%2]
		decided := c.decided.UTC()
		bid := &db.Bid{AuctionID: w.auction.ID, BidderID: u.ID, Amount: int64(100 + i), Status: status,
			CreatedAt: decided.Add(-time.Second), DecidedAt: &decided}
		require.NoError(t, db.InsertBid(ctx, w.d, bid))
		ids = append(ids, bid.ID)
		want[bid.ID] = db.BidLog{BidID: bid.ID, AuctionID: w.auction.ID, BidderID: u.ID, Age: auction.Age(c.birth, decided),
			Gender: u.Gender, Amount: bid.Amount, Success: status != db.BidRejected}
	}
	pending := &db.Bid{AuctionID: w.auction.ID, BidderID: w.seller, Amount: 1, Status: db.BidPending, CreatedAt: time.Now().UTC()}
	require.NoError(t, db.InsertBid(ctx, w.d, pending))

	err := w.bidding.LogBids(ctx, append(ids, pending.ID))
	assert.True(t, errors.Is(err, auction.ErrBidDecisionPending), "a pending bid makes the task retry: %v", err)
	require.NoError(t, w.bidding.LogBids(ctx, ids), "again: each bid is logged once")

	var logs []db.BidLog
	require.NoError(t, w.d.NewSelect().Model(&logs).Order("bid_id").Scan(ctx))
	require.Len(t, logs, len(cases))
	for _, l := range logs {
		got := l
		got.CreatedAt = time.Time{}
		assert.Equal(t, want[l.BidID], got)
	}
	assert.Equal(t, []int{22, 23, 24, 34, 35, 35}, []int{logs[0].Age, logs[1].Age, logs[2].Age, logs[3].Age, logs[4].Age, logs[5].Age})
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
