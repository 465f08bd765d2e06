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

// SubscribersOf answers for many auctions at once, each with its own subscribers only.
func TestSubscribersOf(t *testing.T) {
	t.Parallel()
	d := testenv.DB(t)
	ctx := context.Background()
	var users []int64
	for i := range 3 {
		users = append(users, insertUser(t, d, fmt.Sprintf("s%d@x", i)).ID)
	}
	var auctions []int64
	for range 3 {
		a := &db.Auction{SellerID: users[0], Name: "lot", StartPrice: 1, CurrentPrice: 1, Status: db.StatusReady,
			StartAt: time.Now().Add(time.Hour), EndAt: time.Now().Add(2 * time.Hour)}
		require.NoError(t, db.InsertAuction(ctx, d, a))
		auctions = append(auctions, a.ID)
	}
	for _, s := range [][2]int{{0, 1}, {0, 2}, {1, 2}} {
		_, err := db.Subscribe(ctx, d, auctions[s[0]], users[s[1]])
		require.NoError(t, err)
	}
	subs, err := db.SubscribersOf(ctx, d, auctions)
	require.NoError(t, err)
	require.ElementsMatch(t, []int64{users[1], users[2]}, subs[auctions[0]])
	require.Equal(t, []int64{users[2]}, subs[auctions[1]])
	require.Empty(t, subs[auctions[2]])
	none, err := db.SubscribersOf(ctx, d, nil)
	require.NoError(t, err)
	require.Empty(t, none)
}
