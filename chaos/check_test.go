package chaos_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/chaos"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checker passes a settled auction, then catches each kind of loss made on purpose: a
// balance changed behind the ledger's back, an accepted bid that vanished, a like lost.
func TestCheckerCatchesLostData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	var users []int64
	for i := range 3 {
		u := &db.User{Email: fmt.Sprintf("c%d@example.com", i), EmailKey: fmt.Sprintf("c%d@example.com", i), PasswordHash: "x",
			Nickname: "c", BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "other"}
		require.NoError(t, db.InsertUser(ctx, d, u))
		_, err := (&auction.Wallet{DB: d}).Charge(ctx, u.ID, 1000, "")
		require.NoError(t, err)
		users = append(users, u.ID)
	}
	a := &db.Auction{SellerID: users[0], Name: "Lot", StartPrice: 100, CurrentPrice: 100, Status: db.StatusPending,
		StartAt: time.Now().Add(-time.Second).UTC(), EndAt: time.Now().Add(time.Hour).UTC()}
	require.NoError(t, db.InsertAuction(ctx, d, a))
	bidding := &auction.Bidding{DB: d}
	var accepted []int64
	for i, amount := range []int64{100, 300} {
		b, err := bidding.PlaceBid(ctx, users[1+i], a.ID, amount, "")
		require.NoError(t, err)
		accepted = append(accepted, b.ID)
	}
	dec, err := bidding.Decide(ctx, a.ID)
	require.NoError(t, err)
	for _, r := range dec.Released {
		require.NoError(t, bidding.Release(ctx, r.ID))
	}
	_, err = d.NewUpdate().Model((*db.Auction)(nil)).Set("end_at = ?", time.Now().UTC()).Where("id = ?", a.ID).Exec(ctx)
	require.NoError(t, err)
	_, err = bidding.Close(ctx, a.ID, false)
	require.NoError(t, err)
	require.NoError(t, db.ApplyLikes(ctx, d, []db.LikeChange{{AuctionID: a.ID, UserID: users[1], Liked: true}}))
	likes := map[[2]int64]bool{{a.ID, users[1]}: true, {a.ID, users[2]}: false}

	problems, err := chaos.Check(ctx, d, accepted, likes)
	require.NoError(t, err)
	assert.Empty(t, problems, "a clean run")

	_, err = d.NewUpdate().Model((*db.User)(nil)).Set("points_available = points_available + 1").Where("id = ?", users[2]).Exec(ctx)
	require.NoError(t, err)
	likes[[2]int64{a.ID, users[2]}] = true // a like that the database lost
	problems, err = chaos.Check(ctx, d, append(accepted, 999999), likes)
	require.NoError(t, err)
	assert.Len(t, problems, 4, "%v", problems)
	assert.Contains(t, fmt.Sprint(problems), "balances the ledger does not explain: 1")
	assert.Contains(t, fmt.Sprint(problems), "users whose points are not conserved: 1")
	assert.Contains(t, fmt.Sprint(problems), "accepted bid 999999")
	assert.Contains(t, fmt.Sprint(problems), fmt.Sprintf("like of user %d", users[2]))
}
