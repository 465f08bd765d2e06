package db_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
)

// The list reads' statement cache (PostgreSQL): a statement pushed out while a read runs
// it stays open until that read is done, then is closed; reads of more distinct texts than
// the cache holds, at once, all answer right.
func TestStatementCacheClosesOnlyWhatNoReadRuns(t *testing.T) {
	if !testenv.Postgres() {
		t.Skip("the statement cache is PostgreSQL's; SQLite reads are formatted by bun")
	}
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)

	run, release, err := db.PreparedForTest(ctx, d, "SELECT 1 AS held")
	require.NoError(t, err)
	for i := range db.StmtCacheSizeForTest + 5 { // pushes the held one out
		other, done, err := db.PreparedForTest(ctx, d, fmt.Sprintf("SELECT %d AS filler", i))
		require.NoError(t, err)
		require.NoError(t, other())
		done()
	}
	assert.Equal(t, db.StmtCacheSizeForTest, db.StmtCacheLenForTest(d))
	require.NoError(t, run(), "pushed out while held: still open")
	release()
	assert.Error(t, run(), "pushed out and released: closed")

	seller := insertUser(t, d, "cache@x")
	for i := range 30 {
		a := &db.Auction{SellerID: seller.ID, Name: fmt.Sprintf("lot %d", i), Description: "long words", StartPrice: int64(1 + i),
			CurrentPrice: int64(1 + i), Status: db.StatusReady, StartAt: time.Now().Add(time.Hour), EndAt: time.Now().Add(2 * time.Hour)}
		require.NoError(t, db.InsertAuction(ctx, d, a))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for limit := int64(1); limit <= int64(db.StmtCacheSizeForTest)+40; limit++ {
				for _, sort := range []string{db.SortNewest, db.SortPriceAsc} {
					page, err := db.ListAuctions(ctx, d, db.ListFilter{Sort: sort, Limit: limit + int64(g)})
					if !assert.NoError(t, err) {
						return
					}
					assert.Len(t, page, int(min(limit+int64(g), 30)))
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, db.StmtCacheLenForTest(d), db.StmtCacheSizeForTest)
}

// Every list read keeps its generic plan from its first run on a connection: never
// planned again for its arguments, not even the pages after a cursor or within a price
// range, for which PostgreSQL's default (plan_cache_mode auto) plans every run. A URL
// that sets plan_cache_mode has its way.
func TestListReadsArePlannedOncePerConnection(t *testing.T) {
	if !testenv.Postgres() {
		t.Skip("plan caching is PostgreSQL's; SQLite reads are formatted by bun")
	}
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	d.SetMaxOpenConns(1) // every read and the check below share one session
	seller := insertUser(t, d, "plans@x")
	for i := range 30 {
		a := &db.Auction{SellerID: seller.ID, Name: fmt.Sprintf("brass lamp %d", i), Description: "long words",
			StartPrice: int64(1 + i), CurrentPrice: int64(1 + i), Status: db.StatusPending,
			StartAt: time.Now().Add(-time.Hour), EndAt: time.Now().Add(time.Duration(i+1) * time.Hour)}
		require.NoError(t, db.InsertAuction(ctx, d, a))
	}
	low, high := int64(3), int64(25)
	for i := range 8 {
		after := &db.ListPosition{Time: time.Now().Add(time.Duration(i) * time.Hour), ID: 1}
		_, err := db.ListAuctions(ctx, d, db.ListFilter{Sort: db.SortEndingSoon, Status: db.StatusPending,
			MinPrice: &low, MaxPrice: &high, After: after, Limit: 21})
		require.NoError(t, err)
		_, err = db.ListAuctions(ctx, d, db.ListFilter{Sort: db.SortPriceAsc, Q: "lamp", Limit: 21})
		require.NoError(t, err)
	}
	var plans struct {
		Statements int64 `bun:"statements"`
		Custom     int64 `bun:"custom"`
		Generic    int64 `bun:"generic"`
	}
	require.NoError(t, d.NewRaw(`SELECT count(*) AS statements, coalesce(sum(custom_plans), 0) AS custom,
		coalesce(sum(generic_plans), 0) AS generic FROM pg_prepared_statements`).Scan(ctx, &plans))
	assert.GreaterOrEqual(t, plans.Statements, int64(2), "the reads are prepared")
	assert.Zero(t, plans.Custom, "no read planned for its arguments")
	assert.GreaterOrEqual(t, plans.Generic, int64(2))

	raw := testenv.DatabaseURL(t)
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	own, err := db.Open(ctx, raw+sep+"plan_cache_mode=auto", "")
	require.NoError(t, err)
	defer own.Close()
	var mode string
	require.NoError(t, own.NewRaw("SHOW plan_cache_mode").Scan(ctx, &mode))
	assert.Equal(t, "auto", mode)
}

// Every list read's page is scanned by scanSummaries on PostgreSQL's prepared path; in a
// transaction the same reads are formatted and scanned by bun. Both must give the same
// summaries, to the time zone of each time and the thumbnail of each row, for every shape
// of read (a sort of auctions, one word, two words, a prefix of several words).
func TestSummariesScanAsBunScansThem(t *testing.T) {
	if !testenv.Postgres() {
		t.Skip("only PostgreSQL's list reads are prepared and scanned without bun")
	}
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	seller := insertUser(t, d, "scan@x")
	for i := range 7 {
		a := &db.Auction{SellerID: seller.ID, Name: fmt.Sprintf("copper kettle %d", i), Description: "a kettle",
			StartPrice: int64(10 + i), CurrentPrice: int64(10 + i), Status: db.StatusPending,
			StartAt: time.Now().Add(-time.Hour), EndAt: time.Now().Add(time.Duration(i+1) * time.Hour)}
		if i%3 == 0 {
			a.Name = fmt.Sprintf("copper kettledrum %d", i)
		}
		require.NoError(t, db.InsertAuction(ctx, d, a))
		if i%2 == 0 {
			_, err := d.NewRaw("UPDATE auctions SET thumbnail_id = ?, bid_count = ?, like_count = ? WHERE id = ?",
				1000+i, i, 2*i, a.ID).Exec(ctx)
			require.NoError(t, err)
		}
	}
	reads := []db.ListFilter{
		{Sort: db.SortNewest, Limit: 21},
		{Sort: db.SortEndingSoon, Status: db.StatusPending, Limit: 21},
		{Sort: db.SortPriceDesc, Q: "kettle", Limit: 21},
		{Sort: db.SortMostBids, Q: "copper kettle", Limit: 21},
		{Sort: db.SortPopular, Q: "kett", Limit: 21},
	}
	for _, f := range reads {
		prepared, err := db.ListAuctions(ctx, d, f)
		require.NoError(t, err)
		var formatted []db.AuctionSummary
		require.NoError(t, d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			formatted, err = db.ListAuctions(ctx, tx, f)
			return err
		}))
		require.NotEmpty(t, prepared, "%+v", f)
		assert.Equal(t, formatted, prepared, "%+v", f)
		for i := range prepared {
			assert.Equal(t, formatted[i].CreatedAt.Location().String(), prepared[i].CreatedAt.Location().String())
		}
	}
}
