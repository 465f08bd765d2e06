package scheduler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/scheduler"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBatchJobsOpenDueAuctionsAndPurgeKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	u := &db.User{Email: "s@example.com", EmailKey: "s@example.com", PasswordHash: "x", Nickname: "s",
		BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "male"}
	require.NoError(t, db.InsertUser(ctx, d, u))
	var ids []int64
	for _, start := range []time.Duration{-time.Minute, -time.Second, time.Hour} {
		a := &db.Auction{SellerID: u.ID, Name: "lot", StartPrice: 1, CurrentPrice: 1, Status: db.StatusReady,
			StartAt: time.Now().Add(start).UTC(), EndAt: time.Now().Add(start + time.Hour).UTC()}
		require.NoError(t, db.InsertAuction(ctx, d, a))
		ids = append(ids, a.ID)
	}
	// A word no name has any more: count-search-words prunes it.
	gone := &db.Auction{SellerID: u.ID, Name: "Quokka", StartPrice: 1, CurrentPrice: 1, Status: db.StatusReady,
		StartAt: time.Now().Add(time.Hour).UTC(), EndAt: time.Now().Add(2 * time.Hour).UTC()}
	require.NoError(t, db.InsertAuction(ctx, d, gone))
	_, err := db.DeleteAuctionIfEditable(ctx, d, gone.ID, u.ID)
	require.NoError(t, err)
	old := &db.IdempotencyKey{UserID: u.ID, Scope: "x", Key: "old", RequestHash: "h"}
	_, err = db.ClaimIdempotencyKey(ctx, d, old)
	require.NoError(t, err)
	_, err = d.NewUpdate().Model((*db.IdempotencyKey)(nil)).Set("created_at = ?", time.Now().Add(-72*time.Hour).UTC()).
		Where("key = 'old'").Exec(ctx)
	require.NoError(t, err)
	fresh := &db.IdempotencyKey{UserID: u.ID, Scope: "x", Key: "fresh", RequestHash: "h"}
	_, err = db.ClaimIdempotencyKey(ctx, d, fresh)
	require.NoError(t, err)

	jobs := scheduler.Jobs(scheduler.Deps{Log: testenv.Discard(), DB: d})
	var first, second strings.Builder
	require.NoError(t, scheduler.RunOnce(ctx, testenv.Discard(), jobs, &first, nil))
	require.NoError(t, scheduler.RunOnce(ctx, testenv.Discard(), jobs, &second, nil), "running twice is harmless")
	assert.Len(t, strings.Split(strings.TrimSpace(first.String()), "\n"), len(jobs), "a summary line per job")
	assert.Regexp(t, `(?m)^open-due-auctions +ok +processed=2 skipped=0 failed=0 took=`, first.String())
	assert.Regexp(t, `(?m)^open-due-auctions +ok +processed=0 `, second.String())

	want := []string{db.StatusPending, db.StatusPending, db.StatusReady}
	for i, id := range ids {
		a, err := db.AuctionByID(ctx, d, id, false)
		require.NoError(t, err)
		assert.Equal(t, want[i], a.Status)
	}
	n, err := d.NewSelect().Model((*db.IdempotencyKey)(nil)).Count(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n, "keys older than 48 h are purged, fresh ones kept")
	var words []string
	require.NoError(t, d.NewRaw("SELECT word FROM search_terms ORDER BY word").Scan(ctx, &words))
	assert.Equal(t, []string{"lot"}, words, "the words no name has are pruned")

	_, err = scheduler.Select(jobs, []string{"nope"})
	assert.Error(t, err)
}
