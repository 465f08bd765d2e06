package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// formatsAuction is what the formats add to an Auction.
type formatsAuction struct {
	ID              int64   `json:"id"`
	Status          string  `json:"status"`
	CurrentPrice    int64   `json:"current_price"`
	EndAt           string  `json:"end_at"`
	OriginalEndAt   string  `json:"original_end_at"`
	Extension       int64   `json:"extension_seconds"`
	ReservePrice    *int64  `json:"reserve_price"`
	ReserveMet      *bool   `json:"reserve_met"`
	BuyNowPrice     *int64  `json:"buy_now_price"`
	BuyNowAvailable bool    `json:"buy_now_available"`
	BidCount        int64   `json:"bid_count"`
	Winner          *winner `json:"winner"`
}

type winner struct {
	BidderNickname string `json:"bidder_nickname"`
	Amount         int64  `json:"amount"`
}

type formatsBid struct {
	ID        int64   `json:"id"`
	Kind      string  `json:"kind"`
	Amount    *int64  `json:"amount"`
	MaxAmount *int64  `json:"max_amount"`
	Status    string  `json:"status"`
	Reason    *string `json:"reason"`
}

// listFormats lists an auction with the formats' fields, starting now.
func (c *client) listFormats(t *testing.T, fields map[string]any, lasts time.Duration) formatsAuction {
	t.Helper()
	start := time.Now().Add(-time.Second)
	body := map[string]any{"name": "Clock", "start_price": 100, "start_at": rfc(start), "end_at": rfc(start.Add(lasts))}
	for k, v := range fields {
		body[k] = v
	}
	res := c.do("POST", "/api/v1/auctions", body)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var a formatsAuction
	res.decode(t, &a)
	return a
}

func (c *client) auction(t *testing.T, id int64) formatsAuction {
	t.Helper()
	var a formatsAuction
	res := c.do("GET", fmt.Sprintf("/api/v1/auctions/%d", id), nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	res.decode(t, &a)
	return a
}

func (c *client) bidWait(t *testing.T, auctionID int64, body any, want int) formatsBid {
	t.Helper()
	res := c.do("POST", fmt.Sprintf("/api/v1/auctions/%d/bids", auctionID), body, "Prefer", "wait=5")
	require.Equal(t, want, res.status, "%s", res.body)
	var b formatsBid
	res.decode(t, &b)
	return b
}

func ptrTo[T any](v T) *T { return &v }

// TestAuctionFormatsOverHTTP walks the formats as a client sees them: the fields and their
// validation, the reserve seen by the seller only, a proxy bid lifted to the reserve and
// defending, buy-it-now refused once the reserve is met, the public history of every
// price change, a buy-now that closes an auction and pays the seller, and soft close.
func TestAuctionFormatsOverHTTP(t *testing.T) {
	t.Parallel()
	h := newHarnessWithWorker(t)
	seller, alice, bob := h.login("seller"), h.login("alice"), h.login("bob")
	alice.charge(t, 10_000)
	bob.charge(t, 10_000)

	// Validation: the prices against each other, the extension's range, the two bid fields.
	for field, extra := range map[string]map[string]any{
		"reserve_price":     {"reserve_price": 99},
		"buy_now_price":     {"buy_now_price": 100},
		"extension_seconds": {"extension_seconds": 3601},
	} {
		start := time.Now().Add(time.Hour)
		body := map[string]any{"name": "Bad", "start_price": 100, "start_at": rfc(start), "end_at": rfc(start.Add(time.Hour))}
		for k, v := range extra {
			body[k] = v
		}
		res := seller.do("POST", "/api/v1/auctions", body)
		assert.Equal(t, http.StatusBadRequest, res.status, "%s: %s", field, res.body)
		assert.Contains(t, string(res.body), `"field":"`+field+`"`)
	}
	res := seller.do("POST", "/api/v1/auctions", map[string]any{"name": "Bad", "start_price": 100, "reserve_price": 500,
		"buy_now_price": 400, "start_at": rfc(time.Now().Add(time.Hour)), "end_at": rfc(time.Now().Add(2 * time.Hour))})
	assert.Equal(t, http.StatusBadRequest, res.status, "a buy-now below the reserve: %s", res.body)

	// PATCH while READY sets and clears them.
	ready := seller.createAuction(t, "Ready", 100, time.Hour)
	path := fmt.Sprintf("/api/v1/auctions/%d", ready.ID)
	res = seller.do("PATCH", path, map[string]any{"reserve_price": 300, "buy_now_price": 900, "extension_seconds": 120})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var patched formatsAuction
	res.decode(t, &patched)
	assert.Equal(t, ptrTo(int64(300)), patched.ReservePrice)
	assert.Equal(t, ptrTo(int64(900)), patched.BuyNowPrice)
	assert.Equal(t, int64(120), patched.Extension)
	res = seller.do("PATCH", path, map[string]any{"reserve_price": nil})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	res.decode(t, &patched)
	assert.Nil(t, patched.ReservePrice, "null clears the reserve")
	assert.Nil(t, patched.ReserveMet)
	assert.Equal(t, ptrTo(int64(900)), patched.BuyNowPrice, "what PATCH leaves out stays")

	a := seller.listFormats(t, map[string]any{"reserve_price": 400, "buy_now_price": 2_000}, time.Hour)
	assert.Equal(t, ptrTo(int64(400)), a.ReservePrice, "the seller sees the reserve")
	assert.Equal(t, a.EndAt, a.OriginalEndAt)
	seen := alice.auction(t, a.ID)
	assert.Nil(t, seen.ReservePrice, "nobody else does")
	assert.Equal(t, ptrTo(false), seen.ReserveMet)
	assert.True(t, seen.BuyNowAvailable)

	bids := fmt.Sprintf("/api/v1/auctions/%d/bids", a.ID)
	for _, body := range []any{map[string]any{"amount": 500, "max_amount": 600}, map[string]any{}} {
		res := alice.do("POST", bids, body)
		assert.Equal(t, http.StatusBadRequest, res.status, "both fields or neither: %s", res.body)
		assert.Equal(t, "validation_failed", res.problemCode(t))
	}
	res = alice.do("POST", bids, map[string]any{"max_amount": 99})
	assert.Equal(t, http.StatusUnprocessableEntity, res.status, "a maximum below min_next_bid: %s", res.body)
	assert.Equal(t, "bid_too_low", res.problemCode(t))

	// alice's maximum of 500 passes the reserve: she leads at the reserve, holding 500.
	ab := alice.bidWait(t, a.ID, map[string]any{"max_amount": 500}, http.StatusCreated)
	assert.Equal(t, "bid", ab.Kind)
	assert.Equal(t, "leading", ab.Status)
	assert.Equal(t, ptrTo(int64(400)), ab.Amount)
	assert.Equal(t, ptrTo(int64(500)), ab.MaxAmount)
	pts, _ := alice.balance(t)
	assert.Equal(t, int64(500), pts.Held, "a proxy bid holds its maximum")
	seen = bob.auction(t, a.ID)
	assert.Equal(t, ptrTo(true), seen.ReserveMet)
	assert.False(t, seen.BuyNowAvailable, "the reserve is met")
	res = bob.do("POST", fmt.Sprintf("/api/v1/auctions/%d/buy", a.ID), nil)
	assert.Equal(t, http.StatusConflict, res.status, "%s", res.body)
	assert.Equal(t, "buy_now_unavailable", res.problemCode(t))

	// bob's 420 is beaten at once by alice's maximum: she leads at 430.
	bb := bob.bidWait(t, a.ID, map[string]any{"amount": 420}, http.StatusCreated)
	assert.Equal(t, "outbid", bb.Status)
	var again formatsBid
	alice.do("GET", fmt.Sprintf("/api/v1/bids/%d", ab.ID), nil).decode(t, &again)
	assert.Equal(t, ptrTo(int64(430)), again.Amount, "the defending bid's amount rises to the price")
	assert.Equal(t, int64(430), bob.auction(t, a.ID).CurrentPrice)
	var hist struct {
		Items []struct {
			Amount         int64  `json:"amount"`
			BidderNickname string `json:"bidder_nickname"`
		} `json:"items"`
	}
	h.client().do("GET", bids, nil).decode(t, &hist)
	require.Len(t, hist.Items, 2, "every change of the price or the leader")
	assert.Equal(t, int64(430), hist.Items[0].Amount)
	assert.Equal(t, "al***", hist.Items[0].BidderNickname)
	assert.Equal(t, int64(400), hist.Items[1].Amount)

	// A pending proxy bid shows no amount yet.
	res = bob.do("POST", bids, map[string]any{"max_amount": 1_000})
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	var pending formatsBid
	res.decode(t, &pending)
	assert.Equal(t, "pending", pending.Status)
	assert.Nil(t, pending.Amount)

	// Buy-it-now on a fresh auction: won at once, DONE, the seller paid.
	b := seller.listFormats(t, map[string]any{"buy_now_price": 1_000}, time.Hour)
	res = bob.do("POST", fmt.Sprintf("/api/v1/auctions/%d/buy", b.ID), nil, "Prefer", "wait=5", "Idempotency-Key", "buy-1")
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var bought formatsBid
	res.decode(t, &bought)
	assert.Equal(t, "buy_now", bought.Kind)
	assert.Equal(t, "won", bought.Status)
	assert.Equal(t, ptrTo(int64(1_000)), bought.Amount)
	res = bob.do("POST", fmt.Sprintf("/api/v1/auctions/%d/buy", b.ID), nil, "Idempotency-Key", "buy-1")
	require.Equal(t, http.StatusCreated, res.status, "a replay answers the first: %s", res.body)
	var replay formatsBid
	res.decode(t, &replay)
	assert.Equal(t, bought.ID, replay.ID)
	done := h.client().auction(t, b.ID)
	assert.Equal(t, "DONE", done.Status)
	require.NotNil(t, done.Winner)
	assert.Equal(t, "bo***", done.Winner.BidderNickname)
	res = alice.do("POST", fmt.Sprintf("/api/v1/auctions/%d/bids", b.ID), map[string]any{"amount": 200})
	assert.Equal(t, "auction_closed", res.problemCode(t), "%s", res.body)
	require.Eventually(t, func() bool {
		p, _ := seller.balance(t)
		return p.Available == 1_000
	}, 5*time.Second, 20*time.Millisecond, "the seller is paid the buy-now price")

	// Soft close: a bid in the last extension_seconds moves end_at.
	s := seller.listFormats(t, map[string]any{"extension_seconds": 120}, time.Minute)
	alice.bidWait(t, s.ID, map[string]any{"amount": 150}, http.StatusCreated)
	moved := h.client().auction(t, s.ID)
	assert.Equal(t, s.OriginalEndAt, moved.OriginalEndAt)
	end, err := time.Parse(time.RFC3339, moved.EndAt)
	require.NoError(t, err)
	orig, err := time.Parse(time.RFC3339, s.OriginalEndAt)
	require.NoError(t, err)
	assert.True(t, end.After(orig.Add(50*time.Second)), "end_at %s moved past %s", end, orig)
}
