package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
