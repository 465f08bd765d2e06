package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type winnerOut struct {
	BidderNickname string `json:"bidder_nickname"`
	Amount         int64  `json:"amount"`
}

// An auction closes at its end through its auction:close task, shows its winner, the
// winner's bid is won and the seller's ledger has the payout; an auction whose end was
// moved later is not closed at the old time.
func TestAuctionsCloseOnTimeAndShowTheirWinner(t *testing.T) {
	t.Parallel()
	h := newHarnessWithWorker(t)
	seller := h.login("seller")
	nell := h.login("nell")
	otto := h.login("otto")
	nell.charge(t, 10_000)
	otto.charge(t, 10_000)

	start := time.Now().Add(2 * time.Second).Truncate(time.Second)
	create := func(name string) auctionOut {
		res := seller.do("POST", "/api/v1/auctions", map[string]any{"name": name, "start_price": 100,
			"start_at": rfc(start), "end_at": rfc(start.Add(2 * time.Second))})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var a auctionOut
		res.decode(t, &a)
		return a
	}
	sold, moved := create("Sold"), create("Moved")
	res := seller.do("PATCH", fmt.Sprintf("/api/v1/auctions/%d", moved.ID), map[string]any{"end_at": rfc(start.Add(time.Hour))})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)

	time.Sleep(time.Until(start) + 100*time.Millisecond)
	path := fmt.Sprintf("/api/v1/auctions/%d", sold.ID)
	bids := path + "/bids"
	res = nell.do("POST", bids, map[string]int64{"amount": 100}, "Prefer", "wait=10")
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	res = otto.do("POST", bids, map[string]int64{"amount": 300}, "Prefer", "wait=10")
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var win bidOut
	res.decode(t, &win)

	end := start.Add(2 * time.Second)
	var a struct {
		Status string     `json:"status"`
		Winner *winnerOut `json:"winner"`
	}
	require.Eventually(t, func() bool {
		seller.do("GET", path, nil).decode(t, &a)
		return a.Status == "DONE"
	}, 5*time.Second, 20*time.Millisecond)
	t.Logf("closed %v after its end", time.Since(end))
	require.NotNil(t, a.Winner)
	assert.Equal(t, winnerOut{BidderNickname: "ot***", Amount: 300}, *a.Winner)

	var mine struct {
		Items []bidOut `json:"items"`
	}
	otto.do("GET", "/api/v1/me/bids", nil).decode(t, &mine)
	require.NotEmpty(t, mine.Items)
	assert.Equal(t, win.ID, mine.Items[0].ID)
	assert.Equal(t, "won", mine.Items[0].Status)
	otto.do("GET", "/api/v1/me/bids?status=won", nil).decode(t, &mine)
	assert.Len(t, mine.Items, 1)

	var ledger struct {
		Items []struct {
			Kind      string `json:"kind"`
			Delta     int64  `json:"delta"`
			HeldDelta int64  `json:"held_delta"`
		} `json:"items"`
	}
	seller.do("GET", "/api/v1/me/points/ledger", nil).decode(t, &ledger)
	require.NotEmpty(t, ledger.Items)
	assert.Equal(t, "payout", ledger.Items[0].Kind)
	assert.EqualValues(t, 300, ledger.Items[0].Delta)
	otto.do("GET", "/api/v1/me/points/ledger", nil).decode(t, &ledger)
	assert.Equal(t, "winning_payment", ledger.Items[0].Kind)
	assert.EqualValues(t, -300, ledger.Items[0].HeldDelta)
	var me struct {
		Points struct {
			Available int64 `json:"available"`
			Held      int64 `json:"held"`
		} `json:"points"`
	}
	otto.do("GET", "/api/v1/me", nil).decode(t, &me)
	assert.EqualValues(t, 0, me.Points.Held)
	assert.EqualValues(t, 9_700, me.Points.Available)

	var still auctionOut
	seller.do("GET", fmt.Sprintf("/api/v1/auctions/%d", moved.ID), nil).decode(t, &still)
	assert.NotEqual(t, "DONE", still.Status, "the old end no longer closes it")
}
