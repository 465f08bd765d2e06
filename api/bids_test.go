package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type bidOut struct {
	ID        int64   `json:"id"`
	AuctionID int64   `json:"auction_id"`
	Amount    int64   `json:"amount"`
	Status    string  `json:"status"`
	Reason    *string `json:"reason"`
	DecidedAt *string `json:"decided_at"`
}

func (c *client) charge(t *testing.T, amount int64) {
	t.Helper()
	require.Equal(t, http.StatusCreated, c.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": amount}).status)
}

func TestBiddingThroughTheAPI(t *testing.T) {
	t.Parallel()
	h := newHarnessWithWorker(t)
	seller := h.login("seller")
	nell := h.login("nell")
	otto := h.login("otto")
	nell.charge(t, 10_000)
	otto.charge(t, 10_000)
	a := seller.createAuction(t, "Clock", 100, -10*time.Second) // started by the clock, opened or not
	bids := fmt.Sprintf("/api/v1/auctions/%d/bids", a.ID)

	// The checks, in the order of api/openapi.yaml.
	assert.Equal(t, http.StatusUnauthorized, h.client().do("POST", bids, map[string]int64{"amount": 100}).status)
	for _, body := range []string{`{}`, `{"amount": 0}`, `{"amount": "100"}`, `{"amount": 1.5}`} {
		res := nell.do("POST", bids, body)
		assert.Equal(t, http.StatusBadRequest, res.status, body)
	}
	assert.Equal(t, http.StatusNotFound, nell.do("POST", "/api/v1/auctions/999999/bids", map[string]int64{"amount": 100}).status)
	res := seller.do("POST", bids, map[string]int64{"amount": 100})
	assert.Equal(t, "own_auction", res.problemCode(t))
	res = nell.do("POST", bids, map[string]int64{"amount": 99})
	assert.Equal(t, http.StatusUnprocessableEntity, res.status)
	assert.Equal(t, "bid_too_low", res.problemCode(t))
	var tooLow struct {
		MinNextBid int64 `json:"min_next_bid"`
	}
	res.decode(t, &tooLow)
	assert.Equal(t, int64(100), tooLow.MinNextBid, "a bid_too_low says the least bid that would do")
	res = nell.do("POST", bids, map[string]int64{"amount": 10_001})
	assert.Equal(t, "insufficient_points", res.problemCode(t))
	later := seller.createAuction(t, "Later", 100, time.Hour)
	res = nell.do("POST", fmt.Sprintf("/api/v1/auctions/%d/bids", later.ID), map[string]int64{"amount": 100})
	assert.Equal(t, http.StatusConflict, res.status)
	assert.Equal(t, "auction_not_started", res.problemCode(t))
	var notStarted struct {
		StartAt string `json:"start_at"`
		Detail  string `json:"detail"`
	}
	res.decode(t, &notStarted)
	startAt, err := time.Parse(time.RFC3339, notStarted.StartAt)
	require.NoError(t, err, "an auction_not_started says when bidding opens: %s", res.body)
	want, err := time.Parse(time.RFC3339, later.StartAt)
	require.NoError(t, err)
	assert.True(t, want.Equal(startAt), "start_at %s, the auction's %s", startAt, want)
	assert.Contains(t, notStarted.Detail, notStarted.StartAt)

	// Accepted and decided within the wait: 201 with the decision.
	res = nell.do("POST", bids, map[string]int64{"amount": 100}, "Prefer", "wait=5", "Idempotency-Key", "n1")
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var first bidOut
	res.decode(t, &first)
	assert.Equal(t, "leading", first.Status)
	assert.Equal(t, fmt.Sprintf("/api/v1/bids/%d", first.ID), res.header.Get("Location"))

	// Without a wait: 202 pending, then decided by the worker.
	res = otto.do("POST", bids, map[string]int64{"amount": 150})
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	var second bidOut
	res.decode(t, &second)
	assert.Equal(t, "pending", second.Status)
	require.Eventually(t, func() bool {
		var b bidOut
		otto.do("GET", fmt.Sprintf("/api/v1/bids/%d", second.ID), nil).decode(t, &b)
		return b.Status == "leading"
	}, 10*time.Second, 20*time.Millisecond)

	// The same key and body is the same bid; another body is refused.
	res = nell.do("POST", bids, map[string]int64{"amount": 100}, "Idempotency-Key", "n1")
	var replay bidOut
	res.decode(t, &replay)
	assert.Equal(t, first.ID, replay.ID)
	assert.Equal(t, "outbid", replay.Status)
	res = nell.do("POST", bids, map[string]int64{"amount": 500}, "Idempotency-Key", "n1")
	assert.Equal(t, "idempotency_key_reused", res.problemCode(t))

	// Points: nell's outbid bid comes back (a points:release task), otto holds his lead.
	require.Eventually(t, func() bool {
		nb, _ := nell.balance(t)
		return nb == points{10_000, 0}
	}, 10*time.Second, 20*time.Millisecond)
	ob, _ := otto.balance(t)
	assert.Equal(t, points{9_850, 150}, ob)

	// Reading bids: only the bidder sees a bid; the public history is masked, newest first.
	assert.Equal(t, http.StatusNotFound, nell.do("GET", fmt.Sprintf("/api/v1/bids/%d", second.ID), nil).status)
	var history struct {
		Items []struct {
			Amount         int64  `json:"amount"`
			BidderNickname string `json:"bidder_nickname"`
		} `json:"items"`
	}
	assert.Equal(t, http.StatusNotFound, h.client().do("GET", "/api/v1/auctions/999999/bids", nil).status)
	h.client().do("GET", bids, nil).decode(t, &history)
	require.Len(t, history.Items, 2)
	assert.Equal(t, int64(150), history.Items[0].Amount)
	assert.Equal(t, "ot***", history.Items[0].BidderNickname)
	assert.Equal(t, "ne***", history.Items[1].BidderNickname)
	var mine struct {
		Items []bidOut `json:"items"`
	}
	nell.do("GET", "/api/v1/me/bids?status=outbid", nil).decode(t, &mine)
	require.Len(t, mine.Items, 1)
	assert.Equal(t, first.ID, mine.Items[0].ID)
	assert.Equal(t, http.StatusBadRequest, nell.do("GET", "/api/v1/me/bids?status=winning", nil).status)

	var view struct {
		CurrentPrice int64 `json:"current_price"`
		MinNextBid   int64 `json:"min_next_bid"`
		BidCount     int64 `json:"bid_count"`
		LeadingBid   *struct {
			Amount         int64  `json:"amount"`
			BidderNickname string `json:"bidder_nickname"`
		} `json:"leading_bid"`
	}
	h.client().do("GET", fmt.Sprintf("/api/v1/auctions/%d", a.ID), nil).decode(t, &view)
	assert.Equal(t, int64(150), view.CurrentPrice)
	assert.Equal(t, int64(160), view.MinNextBid)
	assert.Equal(t, int64(2), view.BidCount)
	require.NotNil(t, view.LeadingBid)
	assert.Equal(t, "ot***", view.LeadingBid.BidderNickname)

	// The ledger shows the hold and the release of nell's bid, newest first.
	var ledger struct {
		Items []struct {
			Kind string `json:"kind"`
		} `json:"items"`
	}
	nell.do("GET", "/api/v1/me/points/ledger", nil).decode(t, &ledger)
	var kinds []string
	for _, it := range ledger.Items {
		kinds = append(kinds, it.Kind)
	}
	assert.Equal(t, "bid_release bid_hold charge", strings.Join(kinds, " "))

	// Metrics: the API counts bids by result, the worker decisions by outcome and latency.
	metrics := h.metrics()
	assert.Contains(t, metrics, `gavel_bids_placed_total{result="bid_too_low"} 1`)
	assert.Contains(t, metrics, `gavel_bids_placed_total{result="own_auction"} 1`)
	assert.Contains(t, metrics, `gavel_bids_placed_total{result="accepted"} 3`, "two bids and a replay")
	if h.db.Kind == db.Postgres { // bids without a key share statements there
		assert.Regexp(t, `(?m)^gavel_bid_placement_statements_total [1-9]`, metrics)
		assert.Regexp(t, `(?m)^gavel_bid_placement_bids_total [1-9]`, metrics)
	}
	n, err := testutil.GatherAndCount(h.workerMetrics, "gavel_bids_decided_total", "gavel_bid_decision_seconds", "gavel_queue_tasks")
	require.NoError(t, err)
	assert.Equal(t, 3, n, "two outcomes are not both seen yet, but every family is there: %d", n)
	leading, err := testutil.GatherAndCount(h.workerMetrics, "gavel_bids_decided_total")
	require.NoError(t, err)
	assert.Equal(t, 1, leading, "both bids led when decided")

	// The worker logged both decisions for the recommendations.
	require.Eventually(t, func() bool {
		n, err := h.db.NewSelect().Model((*db.BidLog)(nil)).Count(context.Background())
		return err == nil && n == 2
	}, 10*time.Second, 20*time.Millisecond)
}
