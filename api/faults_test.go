package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/jobs"
	"github.com/gavelhq/gavel/testenv"
	"github.com/gavelhq/gavel/worker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBidsSurviveAStoppedWorkerAndAnEmptiedRedis places bids through the API while a
// worker decides them, stops the worker mid-run, empties Redis (queues and all), starts a
// new worker and runs the reconciliation: every accepted bid ends decided, one leads, and
// every point is where it should be.
func TestBidsSurviveAStoppedWorkerAndAnEmptiedRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	rdb := testenv.Redis(t)
	defer rdb.Close()
	startWorker := func() func() {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- worker.Run(wctx, testenv.Discard(), d, rdb, worker.Config{Concurrency: 4, ShutdownTimeout: 10 * time.Millisecond})
		}()
		return func() { cancel(); require.NoError(t, <-done) }
	}
	h := startServer(t, d, rdb, &jobs.Enqueuer{Client: jobs.NewClient(rdb)})
	seller := h.login("seller")
	a := seller.createAuction(t, "Fault-tolerant lot", 100, -10*time.Second)
	var bidders []*client
	var ids []int64
	for i := range 10 {
		c := h.login(fmt.Sprintf("fb%d", i))
		c.charge(t, 10_000_000)
		_, id := c.balance(t)
		bidders = append(bidders, c)
		ids = append(ids, id)
	}
	stopFirst := startWorker()

	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for i, c := range bidders {
		wg.Go(func() {
			for k := range 30 {
				amount := int64(100 + (k*len(bidders)+i)*50)
				res := c.do("POST", fmt.Sprintf("/api/v1/auctions/%d/bids", a.ID), map[string]int64{"amount": amount})
				switch res.status {
				case http.StatusAccepted, http.StatusCreated:
					mu.Lock()
					accepted++
					mu.Unlock()
				case http.StatusUnprocessableEntity: // below the minimum by now
				default:
					t.Errorf("bid: %d %s", res.status, res.body)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	stopFirst() // the worker goes away in the middle of the run
	wg.Wait()
	require.NoError(t, rdb.FlushDB(ctx).Err(), "Redis loses every queue")

	stranded, err := d.NewSelect().Model((*db.Bid)(nil)).Where("status = ?", db.BidPending).Count(ctx)
	require.NoError(t, err)
	require.Positive(t, stranded, "the fault left bids whose tasks are gone")

	stopSecond := startWorker()
	bidding := &auction.Bidding{DB: d}
	ds, err := bidding.Reconcile(ctx, 0)
	require.NoError(t, err)
	assert.EqualValues(t, stranded, auction.CountDecided(ds), "the reconciliation decided what the lost tasks would have")
	_, err = bidding.ReconcileReleases(ctx)
	require.NoError(t, err)
	stopSecond()

	var bids []db.Bid
	require.NoError(t, d.NewSelect().Model(&bids).Where("b.auction_id = ?", a.ID).Scan(ctx))
	assert.Len(t, bids, accepted, "every accepted bid is in the database")
	leaders, highest := 0, int64(0)
	held := map[int64]int64{}
	for _, b := range bids {
		assert.NotEqual(t, db.BidPending, b.Status, "bid %d still pending", b.ID)
		if b.Status == db.BidLeading {
			leaders++
			held[b.BidderID] += b.Amount
		}
		if b.Status != db.BidRejected {
			highest = max(highest, b.Amount)
		}
	}
	assert.Equal(t, 1, leaders)
	got, err := db.AuctionByID(ctx, d, a.ID, false)
	require.NoError(t, err)
	assert.Equal(t, highest, got.CurrentPrice, "the leader is the highest bid that led")
	for _, id := range ids { // read from the database: the sessions went with Redis
		bal, err := db.BalanceOf(ctx, d, id)
		require.NoError(t, err)
		assert.EqualValues(t, 10_000_000, bal.Available+bal.Held, "user %d: points conserved", id)
		assert.Equal(t, held[id], bal.Held, "user %d holds exactly their leading bid", id)
		ledger, err := db.LedgerTotals(ctx, d, id)
		require.NoError(t, err)
		assert.Equal(t, bal, ledger, "user %d: the ledger explains the balance", id)
	}
}
