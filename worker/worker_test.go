package worker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/jobs"
	"github.com/gavelhq/gavel/testenv"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newAuction(t *testing.T, d *db.DB, start time.Time) *db.Auction {
	t.Helper()
	ctx := context.Background()
	u := &db.User{Email: "w@example.com", EmailKey: "w@example.com", PasswordHash: "x", Nickname: "w",
		BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "other"}
	if err := db.InsertUser(ctx, d, u); err != nil && !errors.Is(err, db.ErrDuplicate) {
		t.Fatal(err)
	}
	u, err := db.UserByEmailKey(ctx, d, "w@example.com")
	require.NoError(t, err)
	a := &db.Auction{SellerID: u.ID, Name: "lot", StartPrice: 5, CurrentPrice: 5, Status: db.StatusReady,
		StartAt: start.UTC(), EndAt: start.Add(time.Hour).UTC()}
	require.NoError(t, db.InsertAuction(ctx, d, a))
	return a
}

func TestAuctionOpenTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	mux := Mux(testenv.Discard(), d, nil)

	due := newAuction(t, d, time.Now().Add(-time.Second))
	early := newAuction(t, d, time.Now().Add(time.Hour))
	for _, a := range []*db.Auction{due, early} {
		task, _ := jobs.NewAuctionOpenTask(a.ID, a.StartAt)
		require.NoError(t, mux.ProcessTask(ctx, task))
	}
	got, err := db.AuctionByID(ctx, d, due.ID, false)
	require.NoError(t, err)
	assert.Equal(t, db.StatusPending, got.Status)
	got, err = db.AuctionByID(ctx, d, early.ID, false)
	require.NoError(t, err)
	assert.Equal(t, db.StatusReady, got.Status, "a task that runs early opens nothing")

	// Running it again is harmless.
	task, _ := jobs.NewAuctionOpenTask(due.ID, due.StartAt)
	require.NoError(t, mux.ProcessTask(ctx, task))

	err = mux.ProcessTask(ctx, asynq.NewTask(jobs.TypeAuctionOpen, []byte("{not json")))
	assert.ErrorIs(t, err, asynq.SkipRetry, "a bad payload is not retried")
}

func TestScheduleOpenEnqueuesOncePerStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	defer rdb.Close()
	client := jobs.NewClient(rdb)
	e := &jobs.Enqueuer{Client: client}
	at := time.Now().Add(time.Hour)
	require.NoError(t, e.ScheduleOpen(ctx, 42, at))
	require.NoError(t, e.ScheduleOpen(ctx, 42, at), "the same start again is not an error")
	require.NoError(t, e.ScheduleOpen(ctx, 42, at.Add(time.Minute)), "a new start gets a task of its own")
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(jobs.QueueCritical)
	require.NoError(t, err)
	assert.Equal(t, 2, info.Scheduled)
}

func TestBidDecideTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	mux := Mux(testenv.Discard(), d, nil)
	a := newAuction(t, d, time.Now().Add(-time.Second))
	bidder := &db.User{Email: "bidder@example.com", EmailKey: "bidder@example.com", PasswordHash: "x", Nickname: "bidder",
		BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "female"}
	require.NoError(t, db.InsertUser(ctx, d, bidder))
	_, err := (&auction.Wallet{DB: d}).Charge(ctx, bidder.ID, 100, "")
	require.NoError(t, err)
	bid, err := (&auction.Bidding{DB: d}).PlaceBid(ctx, bidder.ID, a.ID, 5, "")
	require.NoError(t, err)

	task, _ := jobs.NewBidDecideTask(a.ID, bid.ID)
	require.NoError(t, mux.ProcessTask(ctx, task))
	require.NoError(t, mux.ProcessTask(ctx, task), "a duplicate finds nothing to decide")
	got, err := db.BidByID(ctx, d, bid.ID)
	require.NoError(t, err)
	assert.Equal(t, db.BidLeading, got.Status)

	logTask, _ := jobs.NewBidLogTask([]int64{bid.ID})
	require.NoError(t, mux.ProcessTask(ctx, logTask))
	require.NoError(t, mux.ProcessTask(ctx, logTask), "logging twice is harmless")
	var logs []db.BidLog
	require.NoError(t, d.NewSelect().Model(&logs).Scan(ctx))
	require.Len(t, logs, 1)
	assert.Equal(t, "female", logs[0].Gender)
	assert.True(t, logs[0].Success)
	assert.Equal(t, auction.Age(bidder.BirthDate, time.Now()), logs[0].Age)

	gone, _ := jobs.NewBidDecideTask(999999, 1)
	assert.NoError(t, mux.ProcessTask(ctx, gone), "an auction without pending bids has nothing to decide")
}

func TestPointsReleaseTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	mux := Mux(testenv.Discard(), d, nil)
	a := newAuction(t, d, time.Now().Add(-time.Second))
	bidding := &auction.Bidding{DB: d}
	var ids []int64
	for i, amount := range []int64{5, 50} {
		u := &db.User{Email: fmt.Sprintf("r%d@example.com", i), EmailKey: fmt.Sprintf("r%d@example.com", i), PasswordHash: "x",
			Nickname: "r", BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "male"}
		require.NoError(t, db.InsertUser(ctx, d, u))
		_, err := (&auction.Wallet{DB: d}).Charge(ctx, u.ID, 100, "")
		require.NoError(t, err)
		bid, err := bidding.PlaceBid(ctx, u.ID, a.ID, amount, "")
		require.NoError(t, err)
		ids = append(ids, u.ID)
		_ = bid
	}
	dec, err := bidding.Decide(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, dec.Released, 1, "the first bid is outbid in the same batch")
	task, _ := jobs.NewPointsReleaseTask(dec.Released[0].ID)
	for range 3 {
		require.NoError(t, mux.ProcessTask(ctx, task), "a release delivered again changes nothing")
	}
	bal, err := db.BalanceOf(ctx, d, ids[0])
	require.NoError(t, err)
	assert.Equal(t, db.Balance{Available: 100, Held: 0}, bal)
	rows, err := db.LedgerPage(ctx, d, ids[0], 0, 10)
	require.NoError(t, err)
	assert.Len(t, rows, 3, "charge, hold, one release")
}
