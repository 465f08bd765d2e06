package worker

import (
	"context"
	"encoding/json"
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
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(jobs.QueueDefault)
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
	task, _ := jobs.NewPointsReleaseTask([]int64{dec.Released[0].ID, 999999})
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

func TestWindowDecideTaskDecidesEveryAuctionAndQueuesFollowUps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	rdb := testenv.Redis(t)
	defer rdb.Close()
	mux := Mux(testenv.Discard(), d, rdb)
	bidding := &auction.Bidding{DB: d}
	var users []int64
	for i := range 2 {
		u := &db.User{Email: fmt.Sprintf("w%d@example.com", i), EmailKey: fmt.Sprintf("w%d@example.com", i), PasswordHash: "x",
			Nickname: "w", BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "male"}
		require.NoError(t, db.InsertUser(ctx, d, u))
		_, err := (&auction.Wallet{DB: d}).Charge(ctx, u.ID, 1000, "")
		require.NoError(t, err)
		users = append(users, u.ID)
	}
	hot := newAuction(t, d, time.Now().Add(-time.Second))
	quiet := newAuction(t, d, time.Now().Add(-time.Second))
	place := func(user, auctionID, amount int64) {
		_, err := bidding.PlaceBid(ctx, user, auctionID, amount, "")
		require.NoError(t, err)
	}
	place(users[0], hot.ID, 10)
	place(users[1], hot.ID, 20)
	place(users[0], hot.ID, 20) // too low once 20 leads
	place(users[1], quiet.ID, 7)

	task, _ := jobs.NewWindowDecideTask(time.Now())
	require.NoError(t, mux.ProcessTask(ctx, task))
	pending, err := db.AuctionsWithPending(ctx, d, 10)
	require.NoError(t, err)
	assert.Empty(t, pending)
	for _, a := range []*db.Auction{hot, quiet} {
		got, err := db.AuctionByID(ctx, d, a.ID, false)
		require.NoError(t, err)
		lead, err := db.BidByID(ctx, d, *got.LeadingBidID)
		require.NoError(t, err)
		assert.Equal(t, got.CurrentPrice, lead.Amount)
		assert.Equal(t, users[1], lead.BidderID)
	}

	inspector := asynq.NewInspectorFromRedisClient(rdb)
	byType := map[string][]byte{}
	for _, q := range []string{jobs.QueueCritical, jobs.QueueDefault, jobs.QueueLow} {
		tasks, err := inspector.ListPendingTasks(q)
		require.NoError(t, err)
		for _, ti := range tasks {
			assert.NotContains(t, byType, ti.Type, "one follow-up task of each kind")
			byType[ti.Type] = ti.Payload
		}
	}
	var release jobs.PointsReleasePayload
	require.NoError(t, json.Unmarshal(byType[jobs.TypePointsRelease], &release))
	assert.Len(t, release.BidIDs, 2, "the outbid first bid and the rejected one")
	var logged jobs.BidLogPayload
	require.NoError(t, json.Unmarshal(byType[jobs.TypeBidLog], &logged))
	assert.Len(t, logged.BidIDs, 4)
	var notify jobs.NotifyEventsPayload
	require.NoError(t, json.Unmarshal(byType[jobs.TypeNotifyEvents], &notify))
	assert.Len(t, notify.OutboxIDs, 1, "the round's events are in one outbox row, committed with the decisions")
	kinds := map[string]int{}
	for _, e := range notify.Events {
		kinds[e.Kind]++
		if e.Kind == auction.EventOutbid || e.Kind == auction.EventBidRejected {
			assert.Equal(t, users[0], e.UserID)
		}
	}
	assert.Equal(t, map[string]int{auction.EventPriceChanged: 2, auction.EventOutbid: 1, auction.EventBidRejected: 1}, kinds)

	again, _ := jobs.NewWindowDecideTask(time.Now())
	require.NoError(t, mux.ProcessTask(ctx, again), "a window with nothing pending is done at once")
}

// A window's task decides no earlier than its window's end, so a bid committed in its
// window after a worker picked the task up is still the task's to decide. (Asynq schedules
// by whole seconds: a task scheduled for the window's end could start up to a second
// early, and the bids of the rest of its window waited for the reconciliation.)
func TestWindowDecideTaskWaitsForItsWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	mux := Mux(testenv.Discard(), d, nil)
	u := &db.User{Email: "late@example.com", EmailKey: "late@example.com", PasswordHash: "x",
		Nickname: "late", BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "other"}
	require.NoError(t, db.InsertUser(ctx, d, u))
	_, err := (&auction.Wallet{DB: d}).Charge(ctx, u.ID, 1000, "")
	require.NoError(t, err)
	a := newAuction(t, d, time.Now().Add(-time.Second))

	task, _ := jobs.NewWindowDecideTask(time.Now().Add(time.Second)) // a window a second ahead
	var p jobs.BidDecidePayload
	require.NoError(t, json.Unmarshal(task.Payload(), &p))
	done := make(chan error, 1)
	go func() { done <- mux.ProcessTask(ctx, task) }()
	bid, err := (&auction.Bidding{DB: d}).PlaceBid(ctx, u.ID, a.ID, 10, "") // while the task waits
	require.NoError(t, err)
	require.NoError(t, <-done)
	assert.False(t, time.Now().Before(time.Unix(0, p.NotBefore)), "decided no earlier than its window's end")
	got, err := db.BidByID(ctx, d, bid.ID)
	require.NoError(t, err)
	assert.Equal(t, db.BidLeading, got.Status, "the bid placed while the task waited is decided by it")
}

func TestScheduleDecisionQueuesOneTaskPerWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	defer rdb.Close()
	e := &jobs.Enqueuer{Client: jobs.NewClient(rdb)}
	other := &jobs.Enqueuer{Client: jobs.NewClient(rdb)} // another API instance
	for i := range 50 {
		require.NoError(t, e.ScheduleDecision(ctx, 1, int64(i)))
		require.NoError(t, other.ScheduleDecision(ctx, 2, int64(100+i)))
	}
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(jobs.QueueCritical)
	require.NoError(t, err)
	// 100 calls within a few windows: one task per window, however many instances.
	assert.GreaterOrEqual(t, info.Scheduled+info.Pending, 1)
	assert.Less(t, info.Scheduled+info.Pending, 50)
	perBid := &jobs.Enqueuer{Client: jobs.NewClient(rdb), PerBid: true}
	require.NoError(t, perBid.ScheduleDecision(ctx, 3, 1000))
	require.NoError(t, perBid.ScheduleDecision(ctx, 3, 1000), "the same bid again is no error")
	after, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(jobs.QueueCritical)
	require.NoError(t, err)
	assert.Equal(t, info.Scheduled+info.Pending+1, after.Scheduled+after.Pending)
}

// A window's task that finds an auction held by another round skips it, then looks again
// a window later and decides its bids: the holder's read may have come before they
// committed, and no later task may come for them. (PostgreSQL: SQLite has one writer, so
// nothing is ever held by another round.)
func TestWindowDecideTaskComesBackForAHeldAuction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	if d.Kind != db.Postgres {
		t.Skip("only PostgreSQL has concurrent decision rounds; the CI runs this on PostgreSQL")
	}
	rdb := testenv.Redis(t)
	defer rdb.Close()
	mux := Mux(testenv.Discard(), d, rdb)
	u := &db.User{Email: "held@example.com", EmailKey: "held@example.com", PasswordHash: "x",
		Nickname: "h", BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "male"}
	require.NoError(t, db.InsertUser(ctx, d, u))
	_, err := (&auction.Wallet{DB: d}).Charge(ctx, u.ID, 1000, "")
	require.NoError(t, err)
	a := newAuction(t, d, time.Now().Add(-time.Second))
	bid, err := (&auction.Bidding{DB: d}).PlaceBid(ctx, u.ID, a.ID, 10, "")
	require.NoError(t, err)

	// Another round holds the auction for a while (as a round in flight does).
	tx, err := d.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = db.LockAuctions(ctx, tx, []int64{a.ID}, db.LockDecide)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		task, _ := jobs.NewWindowDecideTask(time.Now().Add(-time.Minute))
		done <- mux.ProcessTask(ctx, task)
	}()
	time.Sleep(3 * jobs.DecisionWindow)
	require.NoError(t, tx.Rollback())
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the task did not end")
	}
	got, err := db.BidByID(ctx, d, bid.ID)
	require.NoError(t, err)
	assert.Equal(t, db.BidLeading, got.Status, "decided by the task that skipped its auction")
}

// A failed decision tries again soon, within a second at first and never more than 5 s
// apart (the age at which the scheduler's reconcile-bids would decide its bids instead);
// other tasks keep Asynq's backoff.
func TestDecisionsRetrySoon(t *testing.T) {
	decide, _ := jobs.NewBidDecideTask(1, 1)
	var prev time.Duration
	for n := 1; n <= 25; n++ {
		d := retryDelay(n, errors.New("EOF"), decide)
		if n == 1 && d > time.Second {
			t.Errorf("first retry of a decision after %v, want within 1s", d)
		}
		if d > 5*time.Second || d < prev {
			t.Errorf("retry %d of a decision after %v (the one before: %v), want growing and at most 5s", n, d, prev)
		}
		prev = d
	}
	bidLog, _ := jobs.NewBidLogTask([]int64{1})
	if d := retryDelay(1, errors.New("EOF"), bidLog); d < 15*time.Second {
		t.Errorf("first retry of a bid log after %v, want Asynq's default (15s or more)", d)
	}
}
