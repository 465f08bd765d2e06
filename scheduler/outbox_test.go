package scheduler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/jobs"
	"github.com/gavelhq/gavel/live"
	"github.com/gavelhq/gavel/scheduler"
	"github.com/gavelhq/gavel/testenv"
	"github.com/gavelhq/gavel/worker"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outboxWorld is a seller, two bidders with points and a subscriber, and two open
// auctions: `open` ends in an hour, `ending` in a moment.
type outboxWorld struct {
	ctx                      context.Context
	d                        *db.DB
	rdb                      *redis.Client
	bidding                  *auction.Bidding
	jobs                     []scheduler.Job
	seller, a, b, subscriber int64
	open, ending             *db.Auction
	endingAt                 time.Time
	placed                   []int64
	wantOutbid, wantRejected []int64 // bids whose bidder must hear of it
	wantWinner, wantSoldTo   int64
	wantPriceTo              int64
}

func newOutboxWorld(t *testing.T) *outboxWorld {
	t.Helper()
	ctx := context.Background()
	w := &outboxWorld{ctx: ctx, d: testenv.DB(t), rdb: testenv.Redis(t)}
	t.Cleanup(func() { w.rdb.Close() })
	w.bidding = &auction.Bidding{DB: w.d, Log: testenv.Discard()}
	user := func(name string, points int64) int64 {
		u := &db.User{Email: name + "@example.com", EmailKey: name + "@example.com", PasswordHash: "x", Nickname: name,
			BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "other"}
		require.NoError(t, db.InsertUser(ctx, w.d, u))
		if points > 0 {
			_, err := (&auction.Wallet{DB: w.d}).Charge(ctx, u.ID, points, "")
			require.NoError(t, err)
		}
		return u.ID
	}
	w.seller, w.a, w.b, w.subscriber = user("seller", 0), user("alice", 1000), user("bob", 1000), user("sub", 0)
	lot := func(end time.Time) *db.Auction {
		a := &db.Auction{SellerID: w.seller, Name: "lot", StartPrice: 5, CurrentPrice: 5, Status: db.StatusPending,
			StartAt: time.Now().Add(-time.Second).UTC(), EndAt: end.UTC()}
		require.NoError(t, db.InsertAuction(ctx, w.d, a))
		return a
	}
	w.open = lot(time.Now().Add(time.Hour))
	w.endingAt = time.Now().Add(1500 * time.Millisecond)
	w.ending = lot(w.endingAt)
	require.NoError(t, (&auction.Notifier{DB: w.d}).Subscribe(ctx, w.open.ID, w.subscriber))
	w.jobs = scheduler.Jobs(scheduler.Deps{Log: testenv.Discard(), DB: w.d, Redis: w.rdb, StaleAfter: time.Millisecond})

	place := func(user, auctionID, amount int64) int64 {
		bid, err := w.bidding.PlaceBid(ctx, user, auctionID, amount, "")
		require.NoError(t, err)
		w.placed = append(w.placed, bid.ID)
		return bid.ID
	}
	first := place(w.a, w.open.ID, 10)
	place(w.b, w.open.ID, 20)
	low := place(w.a, w.open.ID, 20) // too low once 20 leads
	place(w.b, w.ending.ID, 7)
	w.wantOutbid, w.wantRejected = []int64{first}, []int64{low}
	w.wantWinner, w.wantSoldTo, w.wantPriceTo = w.b, w.seller, w.subscriber
	return w
}

// run runs the scheduler jobs with the names given, once.
func (w *outboxWorld) run(t *testing.T, names ...string) string {
	t.Helper()
	js, err := scheduler.Select(w.jobs, names)
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, scheduler.RunOnce(w.ctx, testenv.Discard(), js, &out, nil))
	return out.String()
}

// settle waits for the end of `ending` and closes it with the scheduler's batch, whose
// follow-ups go to Redis.
func (w *outboxWorld) settle(t *testing.T) {
	t.Helper()
	time.Sleep(time.Until(w.endingAt) + 50*time.Millisecond)
	assert.Regexp(t, `close-ended-auctions +ok +processed=1 `, w.run(t, "close-ended-auctions"))
}

// queued lists the pending tasks of every queue by type.
func (w *outboxWorld) queued(t *testing.T) map[string][]*asynq.TaskInfo {
	t.Helper()
	inspector := asynq.NewInspectorFromRedisClient(w.rdb)
	byType := map[string][]*asynq.TaskInfo{}
	for _, q := range []string{jobs.QueueCritical, jobs.QueueDefault, jobs.QueueLow} {
		tasks, err := inspector.ListPendingTasks(q)
		if !errors.Is(err, asynq.ErrQueueNotFound) {
			require.NoError(t, err)
		}
		for _, ti := range tasks {
			byType[ti.Type] = append(byType[ti.Type], ti)
		}
	}
	return byType
}

// checkNotified checks that every user the decisions and the settlement concern has the
// notification in the database, that each was published to its user's live stream
// (messages), and that the outbox is empty.
func (w *outboxWorld) checkNotified(t *testing.T, messages []string) {
	t.Helper()
	var ns []db.Notification
	require.NoError(t, w.d.NewSelect().Model(&ns).OrderExpr("n.id").Scan(w.ctx))
	// has reports whether user has a notification of the kind about the auction whose
	// data has key equal to value.
	has := func(user int64, kind string, auctionID int64, key string, value any) bool {
		for _, n := range ns {
			var data map[string]any
			require.NoError(t, json.Unmarshal([]byte(n.Data), &data))
			if n.UserID == user && n.Kind == kind && n.AuctionID == auctionID && fmt.Sprint(data[key]) == fmt.Sprint(value) {
				return true
			}
		}
		return false
	}
	for _, id := range w.wantOutbid {
		assert.True(t, has(w.a, auction.EventOutbid, w.open.ID, "bid_id", id), "outbid bid %d", id)
	}
	for _, id := range w.wantRejected {
		assert.True(t, has(w.a, auction.EventBidRejected, w.open.ID, "bid_id", id), "rejected bid %d", id)
	}
	assert.True(t, has(w.wantPriceTo, auction.EventPriceChanged, w.open.ID, "current_price", 20), "the subscriber hears of the price")
	assert.True(t, has(w.wantWinner, auction.EventAuctionWon, w.ending.ID, "amount", 7), "the winner hears of the win")
	assert.True(t, has(w.wantSoldTo, auction.EventAuctionSold, w.ending.ID, "winner_nickname", "bob"), "the seller hears of the sale")
	published := strings.Join(messages, "\n")
	for _, n := range ns {
		assert.Contains(t, published, fmt.Sprintf("u %d %d notification ", n.UserID, n.ID), "notification %d (%s) was pushed live", n.ID, n.Kind)
	}
	assert.Contains(t, published, fmt.Sprintf("a %d ", w.open.ID), "the auction's new price was pushed live")
	left, err := w.d.NewSelect().Model((*db.OutboxRow)(nil)).Count(w.ctx)
	require.NoError(t, err)
	assert.Zero(t, left, "every outbox row is pushed and deleted")
}

// listen subscribes to the live channel and returns a function that collects what was
// published until then.
func (w *outboxWorld) listen(t *testing.T) func() []string {
	t.Helper()
	sub := w.rdb.Subscribe(w.ctx, live.ChannelOf(w.rdb))
	_, err := sub.Receive(w.ctx)
	require.NoError(t, err)
	t.Cleanup(func() { sub.Close() })
	return func() []string {
		var got []string
		for {
			ctx, cancel := context.WithTimeout(w.ctx, 300*time.Millisecond)
			m, err := sub.ReceiveMessage(ctx)
			cancel()
			if err != nil {
				return got
			}
			got = append(got, m.Payload)
		}
	}
}

// Decisions and a settlement commit their events to the outbox; Redis is then emptied, so
// every notify:events task is lost. push-notifications still delivers every notification,
// stored and live, once.
func TestNotificationsSurviveAnEmptiedRedis(t *testing.T) {
	t.Parallel()
	w := newOutboxWorld(t)
	mux := worker.Mux(testenv.Discard(), w.d, w.rdb)
	task, _ := jobs.NewWindowDecideTask(time.Now())
	require.NoError(t, mux.ProcessTask(w.ctx, task))
	w.settle(t)
	require.Len(t, w.queued(t)[jobs.TypeNotifyEvents], 2, "the decision round's push and the settlement's")
	rows, err := w.d.NewSelect().Model((*db.OutboxRow)(nil)).Count(w.ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 2, rows, "one outbox row for the decision round, one for the settlement")

	require.NoError(t, w.rdb.FlushDB(w.ctx).Err()) // every queued task is gone
	collect := w.listen(t)
	assert.Regexp(t, `push-notifications +ok +processed=2 `, w.run(t, "push-notifications"))
	w.checkNotified(t, collect())
	assert.Regexp(t, `push-notifications +ok +processed=0 `, w.run(t, "push-notifications"), "nothing left to push")
}

// Bids whose decision tasks were lost are decided by reconcile-bids, and its decisions get
// the follow-ups of a worker's: releases, bid logs and the push of their notifications.
func TestReconciledDecisionsHaveTheirFollowUps(t *testing.T) {
	t.Parallel()
	w := newOutboxWorld(t)
	time.Sleep(5 * time.Millisecond) // older than StaleAfter
	// Four bids decided, then the two outbid and rejected ones released.
	assert.Regexp(t, `reconcile-bids +ok +processed=6 `, w.run(t, "reconcile-bids"))
	byType := w.queued(t)
	for _, kind := range []string{jobs.TypePointsRelease, jobs.TypeBidLog, jobs.TypeNotifyEvents} {
		assert.Len(t, byType[kind], 1, "one %s task for the reconciliation's decisions", kind)
	}

	// The worker runs what reconcile-bids queued, then the settlement's follow-ups.
	collect := w.listen(t)
	mux := worker.Mux(testenv.Discard(), w.d, w.rdb)
	runQueued := func() {
		for _, tasks := range w.queued(t) {
			for _, ti := range tasks {
				require.NoError(t, mux.ProcessTask(w.ctx, asynq.NewTask(ti.Type, ti.Payload)), ti.Type)
			}
		}
		require.NoError(t, w.rdb.FlushDB(w.ctx).Err())
		// Asynq's clients register a queue once per process, and the inspector lists only
		// registered queues: register them again for the next look.
		require.NoError(t, w.rdb.SAdd(w.ctx, "asynq:queues", jobs.QueueCritical, jobs.QueueDefault, jobs.QueueLow).Err())
	}
	runQueued()
	w.settle(t)
	runQueued()
	w.checkNotified(t, collect())

	for _, id := range w.placed {
		b, err := db.BidByID(w.ctx, w.d, id)
		require.NoError(t, err)
		assert.NotEqual(t, db.BidPending, b.Status)
	}
	unlogged, err := db.UnloggedBids(w.ctx, w.d, 10)
	require.NoError(t, err)
	assert.Empty(t, unlogged, "the bid log task logged every decided bid")
}
