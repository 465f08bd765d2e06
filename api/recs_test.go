package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/recommend"
	"github.com/gavelhq/gavel/testenv"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type recsOut struct {
	Items []struct {
		ID int64 `json:"id"`
	} `json:"items"`
	Source string `json:"source"`
}

func (c *client) recommendations(t *testing.T) (recsOut, time.Duration) {
	t.Helper()
	start := time.Now()
	res := c.do("GET", "/api/v1/me/recommendations", nil)
	took := time.Since(start)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var out recsOut
	res.decode(t, &out)
	return out, took
}

func (c *client) id(t *testing.T) int64 {
	t.Helper()
	var me struct {
		ID int64 `json:"id"`
	}
	c.do("GET", "/api/v1/me", nil).decode(t, &me)
	return me.ID
}

// switchable is a recommender that can be healthy, hang, or answer garbage, and counts
// the calls that reach it.
type switchable struct {
	healthy http.Handler
	mode    atomic.Value // "ok", "hang", "garbage"
	calls   atomic.Int64
	release chan struct{}
}

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	switch s.mode.Load() {
	case "hang":
		select {
		case <-s.release:
		case <-r.Context().Done():
		}
	case "garbage":
		_, _ = w.Write([]byte("<html>not json"))
	default:
		s.healthy.ServeHTTP(w, r)
	}
}

func recsHarness(t *testing.T) (*harness, *switchable, *recommend.Ranker, *prometheus.Registry) {
	t.Helper()
	d := testenv.DB(t)
	rdb := testenv.Redis(t)
	t.Cleanup(func() { rdb.Close() })
	ranker := &recommend.Ranker{DB: d, Log: testenv.Discard()}
	sw := &switchable{healthy: ranker.Handler(), release: make(chan struct{})}
	sw.mode.Store("ok")
	rec := httptest.NewServer(sw)
	t.Cleanup(func() { close(sw.release); rec.Close() })
	reg := prometheus.NewRegistry()
	h := startServerWith(t, d, rdb, func(deps *api.Deps) {
		deps.Registry = reg
		deps.Recommender = recommend.ClientConfig{URL: rec.URL, Timeout: 200 * time.Millisecond, Failures: 3, OpenFor: 500 * time.Millisecond}
	})
	return h, sw, ranker, reg
}

// A user of a segment whose members bid on an auction gets it recommended; a user of
// another segment, and the auction's own seller, get the fallback.
func TestRecommendationsFollowTheSegment(t *testing.T) {
	t.Parallel()
	h, _, ranker, _ := recsHarness(t)
	ctx := context.Background()
	seller, popularSeller := h.login("seller"), h.login("pop")
	target, other := h.login("target"), h.login("other")
	_, err := h.db.NewUpdate().Model((*db.User)(nil)).Set("gender = 'male'").Where("id = ?", other.id(t)).Exec(ctx)
	require.NoError(t, err)
	hot := seller.createAuction(t, "Hot", 100, -time.Second)
	cold := seller.createAuction(t, "Cold", 100, -time.Second)
	liked := popularSeller.createAuction(t, "Liked", 100, -time.Second)
	_, err = h.db.NewUpdate().Model((*db.Auction)(nil)).Set("like_count = 5").Where("id = ?", liked.ID).Exec(ctx)
	require.NoError(t, err)
	var logs []db.BidLog
	for i, a := range []int64{hot.ID, hot.ID, hot.ID, cold.ID} {
		bidder := h.login(fmt.Sprintf("bidder%d", i)).id(t)
		bid := &db.Bid{AuctionID: a, BidderID: bidder, Amount: 100, Status: db.BidRejected, CreatedAt: time.Now().UTC()}
		require.NoError(t, db.InsertBid(ctx, h.db, bid))
		logs = append(logs, db.BidLog{BidID: bid.ID, AuctionID: a, BidderID: bidder, Age: 36, Gender: "female",
			Amount: 100, Success: false, CreatedAt: time.Now().UTC()})
	}
	require.NoError(t, db.InsertBidLogs(ctx, h.db, logs))
	require.NoError(t, ranker.Refresh(ctx))

	got, _ := target.recommendations(t)
	assert.Equal(t, "personalized", got.Source)
	require.Len(t, got.Items, 2)
	assert.Equal(t, hot.ID, got.Items[0].ID, "three bidders of the segment beat one")
	assert.Equal(t, cold.ID, got.Items[1].ID)

	got, _ = other.recommendations(t)
	assert.Equal(t, "fallback", got.Source, "no bid logs for that segment")
	require.NotEmpty(t, got.Items)
	assert.Equal(t, liked.ID, got.Items[0].ID, "the fallback is the most liked")

	got, _ = seller.recommendations(t)
	assert.Equal(t, "fallback", got.Source, "the seller's own auctions are left out")
	for _, it := range got.Items {
		assert.NotEqual(t, hot.ID, it.ID)
		assert.NotEqual(t, cold.ID, it.ID)
	}
	assert.Equal(t, http.StatusBadRequest, target.do("GET", "/api/v1/me/recommendations?limit=51", nil).status)
	assert.Equal(t, http.StatusUnauthorized, h.client().do("GET", "/api/v1/me/recommendations", nil).status)
}

// A recommender that is down, hangs or answers garbage gives the fallback, never an
// error; the breaker opens after three failures (calls stop reaching it) and closes again
// once it recovers; the rest of the API is unaffected meanwhile.
func TestRecommenderFailuresFallBackAndTripTheBreaker(t *testing.T) {
	t.Parallel()
	h, sw, _, reg := recsHarness(t)
	u := h.login("u")
	state := func() float64 {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == "gavel_recommender_breaker_state" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return -1
	}
	for _, mode := range []string{"garbage", "hang"} {
		sw.mode.Store(mode)
		got, took := u.recommendations(t)
		assert.Equal(t, "fallback", got.Source, mode)
		assert.Less(t, took, 2*time.Second, "%s: the timeout bounds the wait", mode)
	}
	got, _ := u.recommendations(t) // the third failure in a row
	assert.Equal(t, "fallback", got.Source)
	assert.EqualValues(t, 2, state(), "open")
	before := sw.calls.Load()
	for range 5 {
		got, took := u.recommendations(t)
		assert.Equal(t, "fallback", got.Source)
		assert.Less(t, took, 150*time.Millisecond, "an open breaker answers at once")
	}
	assert.Equal(t, before, sw.calls.Load(), "no call reaches the recommender while the breaker is open")
	assert.Equal(t, http.StatusOK, h.client().do("GET", "/api/v1/auctions", nil).status, "the rest of the API works")

	sw.mode.Store("ok")
	time.Sleep(600 * time.Millisecond) // past OpenFor: the next call tries again
	u.recommendations(t)
	assert.EqualValues(t, 0, state(), "closed again after a good answer")
	assert.Greater(t, sw.calls.Load(), before)
}

// The recommender stopped altogether: fallback.
func TestStoppedRecommenderFallsBack(t *testing.T) {
	t.Parallel()
	d := testenv.DB(t)
	rdb := testenv.Redis(t)
	t.Cleanup(func() { rdb.Close() })
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL
	gone.Close()
	h := startServerWith(t, d, rdb, func(deps *api.Deps) {
		deps.Recommender = recommend.ClientConfig{URL: url, Timeout: 200 * time.Millisecond}
	})
	got, _ := h.login("u").recommendations(t)
	assert.Equal(t, "fallback", got.Source)
}
