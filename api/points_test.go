package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/gavelhq/gavel/db"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type points struct {
	Available int64 `json:"available"`
	Held      int64 `json:"held"`
}

func (c *client) balance(t *testing.T) (points, int64) {
	t.Helper()
	var me struct {
		ID     int64  `json:"id"`
		Points points `json:"points"`
	}
	res := c.do("GET", "/api/v1/me", nil)
	require.Equal(t, http.StatusOK, res.status)
	res.decode(t, &me)
	return me.Points, me.ID
}

func TestChargeWithIdempotencyKeyCreditsOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.login("payer")

	var first, again points
	res := c.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 700}, "Idempotency-Key", "charge-1")
	require.Equal(t, http.StatusCreated, res.status)
	res.decode(t, &first)
	assert.Equal(t, points{700, 0}, first)

	res = c.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 700}, "Idempotency-Key", "charge-1")
	require.Equal(t, http.StatusCreated, res.status, "a replay answers like the original")
	res.decode(t, &again)
	assert.Equal(t, first, again)

	res = c.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 900}, "Idempotency-Key", "charge-1")
	assert.Equal(t, http.StatusUnprocessableEntity, res.status)
	assert.Equal(t, "idempotency_key_reused", res.problemCode(t))

	// Keys belong to a user: another user may use the same one.
	other := h.login("other")
	res = other.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 5}, "Idempotency-Key", "charge-1")
	require.Equal(t, http.StatusCreated, res.status)

	res = c.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 300})
	require.Equal(t, http.StatusCreated, res.status)
	bal, _ := c.balance(t)
	assert.Equal(t, points{1000, 0}, bal)
}

func TestConcurrentChargesSumExactly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.login("many")
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res := c.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": int64(i + 1)},
				"Idempotency-Key", fmt.Sprintf("k-%d", i))
			assert.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		})
	}
	wg.Wait()
	bal, id := c.balance(t)
	assert.Equal(t, points{n * (n + 1) / 2, 0}, bal)
	totals, err := db.LedgerTotals(context.Background(), h.db, id)
	require.NoError(t, err)
	assert.Equal(t, db.Balance{Available: bal.Available, Held: bal.Held}, totals, "the ledger explains the balance")
	rows, err := db.LedgerPage(context.Background(), h.db, id, 0, 1000)
	require.NoError(t, err)
	assert.Len(t, rows, n, "one ledger row per charge")
}

func TestConcurrentRepeatsOfOneKeyCreditOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.login("retry")
	const n = 20
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res := c.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": 250}, "Idempotency-Key", "same-key")
			assert.Equal(t, http.StatusCreated, res.status, "%s", res.body)
			bodies[i] = string(res.body)
		})
	}
	wg.Wait()
	for _, b := range bodies {
		assert.JSONEq(t, `{"available":250,"held":0}`, b)
	}
	bal, _ := c.balance(t)
	assert.Equal(t, points{250, 0}, bal)
}

func TestLedgerPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.login("pager")
	for i := range 7 {
		require.Equal(t, http.StatusCreated, c.do("POST", "/api/v1/me/points/charges", map[string]int64{"amount": int64(i + 1)}).status)
	}
	var amounts []int64
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		path := "/api/v1/me/points/ledger?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := c.do("GET", path, nil)
		require.Equal(t, http.StatusOK, res.status)
		var page struct {
			Items []struct {
				Kind  string `json:"kind"`
				Delta int64  `json:"delta"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		res.decode(t, &page)
		for _, it := range page.Items {
			assert.Equal(t, "charge", it.Kind)
			amounts = append(amounts, it.Delta)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	assert.Equal(t, []int64{7, 6, 5, 4, 3, 2, 1}, amounts, "newest first, each row once")

	// Another user's cursor is still a cursor, but a tampered one is refused.
	res := c.do("GET", "/api/v1/me/points/ledger?cursor=eyJiIjoxfQ.AAAAAAAAAAAAAAAA", nil)
	assert.Equal(t, http.StatusBadRequest, res.status)
}
