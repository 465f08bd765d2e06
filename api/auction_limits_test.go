package api_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadyAuctionsPerSellerAreCapped(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	t.Cleanup(func() { rdb.Close() })
	h := startServerWith(t, testenv.DB(t), rdb, func(d *api.Deps) { d.MaxReadyAuctions = 3 })
	seller := h.login("prolific")
	create := func(c *client, in time.Duration) response {
		start := time.Now().Add(in)
		return c.do("POST", "/api/v1/auctions", map[string]any{
			"name": "Lot", "start_price": 10, "start_at": rfc(start), "end_at": rfc(start.Add(time.Hour)),
		})
	}
	// Auctions whose start has come are open, not READY: they do not count.
	for range 2 {
		require.Equal(t, http.StatusCreated, create(seller, -time.Second).status)
	}
	var first auctionOut
	create(seller, time.Hour).decode(t, &first)
	create(seller, time.Hour)
	create(seller, time.Hour)
	res := create(seller, time.Hour)
	require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
	assert.Equal(t, "too_many_auctions", res.problemCode(t))

	other := h.login("modest")
	assert.Equal(t, http.StatusCreated, create(other, time.Hour).status, "the cap is per seller")

	require.Equal(t, http.StatusNoContent, seller.do("DELETE", fmt.Sprintf("/api/v1/auctions/%d", first.ID), nil).status)
	assert.Equal(t, http.StatusCreated, create(seller, time.Hour).status, "a deleted auction frees its place")
	assert.Equal(t, http.StatusConflict, create(seller, time.Hour).status)

	// Concurrent creations cannot pass the cap together.
	racer := h.login("racer")
	var wg sync.WaitGroup
	codes := make(chan int, 10)
	for range 10 {
		wg.Go(func() { codes <- create(racer, time.Hour).status })
	}
	wg.Wait()
	close(codes)
	created := 0
	for code := range codes {
		if code == http.StatusCreated {
			created++
		} else {
			assert.Equal(t, http.StatusConflict, code)
		}
	}
	assert.Equal(t, 3, created)
}
