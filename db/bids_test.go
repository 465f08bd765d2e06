package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/require"
)

// RecordDecisions writes each bid's status, reason and decision time, and each auction's
// price, lead, count and time, NULLs included, and leaves the other columns alone.
func TestRecordDecisions(t *testing.T) {
	t.Parallel()
	d := testenv.DB(t)
	ctx := context.Background()
	u := insertUser(t, d, "lead@x")
	var as []db.Auction
	for i := range 2 {
		a := &db.Auction{SellerID: u.ID, Name: fmt.Sprintf("lot %d", i), Description: "long words", StartPrice: 1,
			CurrentPrice: 1, Status: db.StatusPending, StartAt: time.Now().Add(-time.Hour), EndAt: time.Now().Add(time.Hour)}
		require.NoError(t, db.InsertAuction(ctx, d, a))
		as = append(as, *a)
	}
	var bs []db.Bid
	for _, amount := range []int64{400, 500, 2} {
		bid := &db.Bid{AuctionID: as[0].ID, BidderID: u.ID, Amount: amount, Status: db.BidPending, CreatedAt: time.Now().UTC()}
		require.NoError(t, db.InsertBid(ctx, d, bid))
		bs = append(bs, *bid)
	}
	earlier, at := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)
	tooLow := "bid_too_low"
	bs[0].Status, bs[0].DecidedAt = db.BidOutbid, &earlier
	bs[1].Status, bs[1].DecidedAt = db.BidLeading, &at
	bs[2].Status, bs[2].Reason, bs[2].DecidedAt = db.BidRejected, &tooLow, &at
	as[0].CurrentPrice, as[0].LeadingBidID, as[0].BidCount, as[0].UpdatedAt = 500, &bs[1].ID, 3, at
	as[1].CurrentPrice, as[1].LeadingBidID, as[1].BidCount, as[1].UpdatedAt = 1, nil, 0, at
	require.NoError(t, db.RecordDecisions(ctx, d, bs, as))
	for i, want := range as {
		got, err := db.AuctionByID(ctx, d, want.ID, false)
		require.NoError(t, err)
		require.Equal(t, want.CurrentPrice, got.CurrentPrice, "auction %d", i)
		require.Equal(t, want.LeadingBidID, got.LeadingBidID, "auction %d", i)
		require.Equal(t, want.BidCount, got.BidCount, "auction %d", i)
		require.True(t, at.Equal(got.UpdatedAt), "auction %d: updated_at %v", i, got.UpdatedAt)
		require.Equal(t, fmt.Sprintf("lot %d", i), got.Name)
		require.Equal(t, "long words", got.Description)
	}
	for i, want := range bs {
		got, err := db.BidByID(ctx, d, want.ID)
		require.NoError(t, err)
		require.Equal(t, want.Status, got.Status, "bid %d", i)
		require.Equal(t, want.Reason, got.Reason, "bid %d", i)
		require.NotNil(t, got.DecidedAt, "bid %d", i)
		require.True(t, want.DecidedAt.Equal(*got.DecidedAt), "bid %d: decided_at %v", i, got.DecidedAt)
		require.Equal(t, want.Amount, got.Amount, "bid %d", i)
	}
}

// insertUser inserts a user with the e-mail address and returns it.
func insertUser(t *testing.T, d *db.DB, email string) *db.User {
	t.Helper()
	u := &db.User{Email: email, EmailKey: email, PasswordHash: "x", Nickname: "n",
		BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "other", Role: "user"}
	require.NoError(t, db.InsertUser(context.Background(), d, u))
	return u
}
