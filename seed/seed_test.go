package seed_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/imagestore"
	"github.com/gavelhq/gavel/seed"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeedLoadsConsistentDataAndCanRunAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	store, err := imagestore.NewDir(t.TempDir())
	require.NoError(t, err)
	o := seed.Options{Auctions: 600, Users: 20, ImagesPerAuction: 2, Seed: 7}
	res, err := seed.Run(ctx, testenv.Discard(), d, store, o)
	require.NoError(t, err)
	assert.EqualValues(t, 20, res.Users)
	assert.EqualValues(t, 600, res.Auctions)
	assert.InDelta(t, 1200, res.Images, 300)

	// Every seeded user can log in with a predictable e-mail and bid with points that a
	// charge in the ledger accounts for.
	assert.EqualValues(t, 1, res.FirstUserID)
	assert.EqualValues(t, 20, res.LastUserID)
	for _, id := range []int64{res.FirstUserID, res.LastUserID} {
		u, err := (&auction.Accounts{DB: d}).Authenticate(ctx, seed.Email(id), "gavel-demo")
		require.NoError(t, err, seed.Email(id))
		assert.EqualValues(t, seed.DefaultPoints, u.PointsAvailable)
		var sum int64
		require.NoError(t, d.NewSelect().Model((*db.LedgerEntry)(nil)).ColumnExpr("COALESCE(SUM(delta), 0)").
			Where("user_id = ?", id).Scan(ctx, &sum))
		assert.Equal(t, u.PointsAvailable, sum, "the ledger accounts for the points")
	}

	var rows []db.Auction
	require.NoError(t, d.NewSelect().Model(&rows).Scan(ctx))
	require.Len(t, rows, 600)
	now := time.Now()
	statuses := map[string]int{}
	for _, a := range rows {
		statuses[a.Status]++
		assert.Equal(t, a.StartPrice, a.CurrentPrice, "no bids: the price is the start price")
		assert.True(t, a.EndAt.After(a.StartAt))
		assert.LessOrEqual(t, a.EndAt.Sub(a.StartAt), 30*24*time.Hour)
		switch a.Status {
		case db.StatusDone:
			assert.True(t, a.EndAt.Before(now), "a DONE auction has ended")
		case db.StatusPending:
			assert.True(t, a.StartAt.Before(now) && a.EndAt.After(now), "a PENDING auction is open")
		case db.StatusReady:
			assert.True(t, a.StartAt.After(now), "a READY auction has not started")
		}
	}
	assert.Len(t, statuses, 3, "every status is there: %v", statuses)

	// Image rows point at files the store serves.
	var imgs []db.AuctionImage
	require.NoError(t, d.NewSelect().Model(&imgs).Limit(5).Scan(ctx))
	for _, img := range imgs {
		f, err := store.Open(ctx, img.StorageKey)
		require.NoError(t, err)
		b, _ := io.ReadAll(f)
		f.Close()
		assert.EqualValues(t, img.Size, len(b))
	}

	// A second run appends, and the ids the database hands out afterwards are free.
	res, err = seed.Run(ctx, testenv.Discard(), d, store, seed.Options{Auctions: 50, Users: 5, ImagesPerAuction: 1})
	require.NoError(t, err)
	assert.EqualValues(t, 21, res.FirstUserID, "the second run's users follow the first's")
	n, err := d.NewSelect().Model((*db.Auction)(nil)).Count(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 650, n)
	a := &db.Auction{SellerID: rows[0].SellerID, Name: "after seeding", StartPrice: 1, CurrentPrice: 1,
		Status: db.StatusReady, StartAt: now.Add(time.Hour), EndAt: now.Add(2 * time.Hour)}
	require.NoError(t, db.InsertAuction(ctx, d, a))
	assert.Greater(t, a.ID, int64(650))
}

// TestSeedKeepsTheSchema checks, on PostgreSQL, that a load into empty tables, which drops
// their indexes, foreign keys and unreferenced primary keys to make them again at the end,
// leaves every index and constraint as the migrations made it.
func TestSeedKeepsTheSchema(t *testing.T) {
	if !testenv.Postgres() {
		t.Skip("only the PostgreSQL load drops and makes again indexes and constraints")
	}
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	schema := func() []string {
		var defs []string
		require.NoError(t, d.NewRaw(`SELECT tablename || ': ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
			UNION ALL SELECT conrelid::regclass::text || ': ' || conname || ' ' || pg_get_constraintdef(oid)
			FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
			ORDER BY 1`).Scan(ctx, &defs))
		return defs
	}
	before := schema()
	require.Contains(t, before, "auction_words: auction_words_pkey PRIMARY KEY (auction_id, word)")
	store, err := imagestore.NewDir(t.TempDir())
	require.NoError(t, err)
	_, err = seed.Run(ctx, testenv.Discard(), d, store, seed.Options{Auctions: 200, Users: 5, ImagesPerAuction: 1})
	require.NoError(t, err)
	assert.Equal(t, before, schema())
}
