package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/live"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sseEvent struct {
	ID, Event, Data string
}

// stream opens an event stream as c and sends its events to the returned channel, which
// is closed when the stream ends.
func (c *client) stream(t *testing.T, path, lastEventID string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.h.srv.URL+path, nil)
	require.NoError(t, err)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := c.http.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	assert.Equal(t, "no", res.Header.Get("X-Accel-Buffering"))
	out := make(chan sseEvent, 100000)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.Event != "" {
					out <- e
				}
				e = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				e.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.Data = line[6:]
			}
		}
	}()
	return out, cancel
}

func next(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case e, ok := <-events:
		require.True(t, ok, "the stream ended")
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return sseEvent{}
}

// nextPrice is the next event that is not a status event (such as the auction's opening).
func nextPrice(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	e := next(t, events)
	for e.Event == "status" {
		e = next(t, events)
	}
	return e
}

func TestSubscriptions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller, sub := h.login("seller"), h.login("sub")
	a := seller.createAuction(t, "Lamp", 100, time.Hour)
	path := fmt.Sprintf("/api/v1/auctions/%d/subscription", a.ID)
	assert.Equal(t, http.StatusUnauthorized, h.client().do("PUT", path, nil).status)
	for range 2 {
		assert.Equal(t, http.StatusNoContent, sub.do("PUT", path, nil).status, "subscribing is idempotent")
	}
	var got auctionOut
	sub.do("GET", fmt.Sprintf("/api/v1/auctions/%d", a.ID), nil).decode(t, &got)
	assert.EqualValues(t, 1, got.SubscriberCount)
	assert.True(t, got.SubscribedByMe)
	var page struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	sub.do("GET", "/api/v1/me/subscriptions", nil).decode(t, &page)
	require.Len(t, page.Items, 1)
	assert.Equal(t, a.ID, page.Items[0].ID)
	for range 2 {
		assert.Equal(t, http.StatusNoContent, sub.do("DELETE", path, nil).status, "unsubscribing is idempotent")
	}
	sub.do("GET", fmt.Sprintf("/api/v1/auctions/%d", a.ID), nil).decode(t, &got)
	assert.EqualValues(t, 0, got.SubscriberCount)
	sub.do("GET", "/api/v1/me/subscriptions", nil).decode(t, &page)
	assert.Empty(t, page.Items)
	assert.Equal(t, http.StatusNotFound, sub.do("PUT", "/api/v1/auctions/999999/subscription", nil).status)
	res := sub.do("POST", "/api/v1/me/notifications/read", map[string]int64{"up_to_id": 0})
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Equal(t, http.StatusBadRequest, sub.do("GET", "/api/v1/me/notifications?unread=maybe", nil).status)
}

type notificationOut struct {
	ID        int64           `json:"id"`
	Kind      string          `json:"kind"`
	AuctionID int64           `json:"auction_id"`
	Data      json.RawMessage `json:"data"`
	ReadAt    *string         `json:"read_at"`
}

func (c *client) notifications(t *testing.T, query string) []notificationOut {
	t.Helper()
	var page struct {
		Items []notificationOut `json:"items"`
	}
	c.do("GET", "/api/v1/me/notifications"+query, nil).decode(t, &page)
	return page.Items
}

// A subscriber gets price_changed, the previous leader outbid, the winner auction_won and
// the seller auction_sold, stored and live; unread and mark-read work.
func TestNotificationsOfABiddingAndItsEnd(t *testing.T) {
	t.Parallel()
	h := newHarnessWithWorker(t)
	seller, sub, nell, otto := h.login("seller"), h.login("sub"), h.login("nell"), h.login("otto")
	nell.charge(t, 10_000)
	otto.charge(t, 10_000)
	start := time.Now().Add(2 * time.Second).Truncate(time.Second)
	res := seller.do("POST", "/api/v1/auctions", map[string]any{"name": "Clock", "start_price": 100,
		"start_at": rfc(start), "end_at": rfc(start.Add(2 * time.Second))})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var a auctionOut
	res.decode(t, &a)
	require.Equal(t, http.StatusNoContent, sub.do("PUT", fmt.Sprintf("/api/v1/auctions/%d/subscription", a.ID), nil).status)
	subStream, stop := sub.stream(t, "/api/v1/me/notifications/stream", "")
	defer stop()
	sellerStream, stopSeller := seller.stream(t, "/api/v1/me/notifications/stream", "")
	defer stopSeller()

	time.Sleep(time.Until(start) + 100*time.Millisecond)
	bids := fmt.Sprintf("/api/v1/auctions/%d/bids", a.ID)
	require.Equal(t, http.StatusCreated, nell.do("POST", bids, map[string]int64{"amount": 100}, "Prefer", "wait=10").status)
	e := next(t, subStream)
	assert.Equal(t, "notification", e.Event)
	assert.Contains(t, e.Data, `"kind":"price_changed"`)
	assert.Contains(t, e.Data, `"current_price":100`)
	res = otto.do("POST", bids, map[string]int64{"amount": 300}, "Prefer", "wait=10")
	require.Equal(t, http.StatusCreated, res.status)
	var win bidOut
	res.decode(t, &win)
	e = next(t, subStream)
	assert.Contains(t, e.Data, `"current_price":300`)

	e = next(t, sellerStream)
	assert.Contains(t, e.Data, `"kind":"auction_sold"`)
	assert.Contains(t, e.Data, `"winner_nickname":"otto"`)

	outbid := nell.notifications(t, "")
	require.Len(t, outbid, 1, "nell hears that she was outbid, not of her own bid")
	assert.Equal(t, "outbid", outbid[0].Kind)
	assert.JSONEq(t, fmt.Sprintf(`{"bid_id": %d, "amount": 100, "current_price": 300}`, mustBidOf(t, nell)), string(outbid[0].Data))
	won := otto.notifications(t, "")
	require.Len(t, won, 1)
	assert.Equal(t, "auction_won", won[0].Kind)
	assert.JSONEq(t, fmt.Sprintf(`{"bid_id": %d, "amount": 300}`, win.ID), string(won[0].Data))

	all := sub.notifications(t, "")
	require.Len(t, all, 2)
	assert.Greater(t, all[0].ID, all[1].ID, "newest first")
	require.Equal(t, http.StatusNoContent, sub.do("POST", "/api/v1/me/notifications/read", map[string]int64{"up_to_id": all[1].ID}).status)
	unread := sub.notifications(t, "?unread=true")
	require.Len(t, unread, 1)
	assert.Equal(t, all[0].ID, unread[0].ID)
	require.Equal(t, http.StatusNoContent, sub.do("POST", "/api/v1/me/notifications/read", map[string]int64{"up_to_id": all[0].ID}).status)
	assert.Empty(t, sub.notifications(t, "?unread=true"))
	assert.NotNil(t, sub.notifications(t, "")[0].ReadAt)
}

// mustBidOf returns the ID of the user's newest bid.
func mustBidOf(t *testing.T, c *client) int64 {
	t.Helper()
	var page struct {
		Items []bidOut `json:"items"`
	}
	c.do("GET", "/api/v1/me/bids", nil).decode(t, &page)
	require.NotEmpty(t, page.Items)
	return page.Items[0].ID
}

// The auction stream starts with the current price, then sends every decision's price
// in order; a client that reconnects with Last-Event-ID gets exactly what it missed; a
// stalled client is dropped without delaying the others.
func TestAuctionStreamOrderReplayAndStalledClients(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller := h.login("seller")
	a := seller.createAuction(t, "Vase", 100, -time.Second)
	path := fmt.Sprintf("/api/v1/auctions/%d/stream", a.ID)
	pub := live.Publisher{Redis: h.redis}
	publish := func(from, to int) {
		for p := from; p <= to; p++ {
			require.NoError(t, pub.PublishPrice(context.Background(), live.PriceEvent{AuctionID: a.ID, CurrentPrice: int64(p), BidCount: int64(p)}))
		}
	}
	events, stop := h.client().stream(t, path, "")
	first := next(t, events)
	assert.Equal(t, "price", first.Event)
	assert.Equal(t, "0-0", first.ID, "no event yet")
	assert.JSONEq(t, fmt.Sprintf(`{"auction_id": %d, "current_price": 100, "min_next_bid": 100, "bid_count": 0, "at": %q, "end_at": %q, "server_time": %q}`,
		a.ID, decodeField(t, first.Data, "at"), a.EndAt, decodeField(t, first.Data, "server_time")), first.Data)
	// Then the status, under the same ID.
	status := next(t, events)
	assert.Equal(t, "status", status.Event)
	assert.Equal(t, "0-0", status.ID)
	assert.JSONEq(t, fmt.Sprintf(`{"auction_id": %d, "status": %q, "end_at": %q, "winner": null, "server_time": %q}`,
		a.ID, a.Status, a.EndAt, decodeField(t, status.Data, "server_time")), status.Data)

	// A stalled client: it sends the request and never reads.
	stalled, err := net.Dial("tcp", strings.TrimPrefix(h.srv.URL, "http://"))
	require.NoError(t, err)
	defer stalled.Close()
	_, err = fmt.Fprintf(stalled, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	require.NoError(t, err)

	publish(101, 150)
	var ids []string
	for p := 101; p <= 150; p++ {
		e := next(t, events)
		assert.Equal(t, fmt.Sprint(p), decodeField(t, e.Data, "current_price"), "in order, no gaps")
		ids = append(ids, e.ID)
	}
	stop()
	// Missed while away, published in one pipeline as a decision round does, with another
	// auction's price and a price not above the last (dropped) among them.
	var missed []live.PriceEvent
	for p := 151; p <= 160; p++ {
		missed = append(missed, live.PriceEvent{AuctionID: a.ID, CurrentPrice: int64(p), BidCount: int64(p)},
			live.PriceEvent{AuctionID: a.ID + 1_000_000, CurrentPrice: int64(p)})
	}
	require.NoError(t, pub.PublishPrices(context.Background(), append(missed, live.PriceEvent{AuctionID: a.ID, CurrentPrice: 160})))
	again, stop2 := h.client().stream(t, path, ids[len(ids)-1])
	defer stop2()
	for p := 151; p <= 160; p++ {
		e := next(t, again)
		assert.Equal(t, fmt.Sprint(p), decodeField(t, e.Data, "current_price"), "replayed exactly what was missed")
	}

	// Enough data to fill the stalled connection's socket buffers (200 events of 50 KB,
	// sent on the channel as the publisher would): the reading client still gets every
	// one, in order, and the stalled one is dropped.
	pad := strings.Repeat("x", 50_000)
	const burst = 600
	for i := range burst {
		data := fmt.Sprintf(`{"auction_id":%d,"n":%d,"pad":%q}`, a.ID, i, pad)
		require.NoError(t, h.redis.Publish(context.Background(), live.ChannelOf(h.redis),
			fmt.Sprintf("a %d 99999999999999-%d price %s", a.ID, i, data)).Err())
	}
	for i := range burst {
		e := next(t, again)
		require.Equal(t, fmt.Sprint(i), decodeField(t, e.Data, "n"))
	}
	require.NoError(t, pub.PublishStatus(context.Background(), live.StatusEvent{AuctionID: a.ID, Status: "DONE"}))
	time.Sleep(3 * time.Second) // past the stream write timeout
	_ = stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1<<20)
	var n int
	var readErr error
	for readErr == nil {
		var m int
		m, readErr = stalled.Read(buf)
		n += m
	}
	var timeout net.Error
	assert.False(t, errors.As(readErr, &timeout) && timeout.Timeout(), "the server hung up on the stalled client")
	assert.Less(t, n, burst*50_000, "the stalled client did not get every event")
}

func decodeField(t *testing.T, data, field string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(data), &m))
	return strings.Trim(string(m[field]), `"`)
}

// Two API instances on one Redis: a session made on one works on the other, and a client
// of one sees the events caused through the other.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	one := newHarnessWithWorker(t)
	two := startServer(t, one.db, one.redis)
	seller, nell := one.login("seller"), one.login("nell")
	nell.charge(t, 1_000)
	a := seller.createAuction(t, "Rug", 100, -time.Second)

	onTwo := &client{h: two, http: nell.http, headers: map[string]string{}}
	var me struct {
		Nickname string `json:"nickname"`
	}
	onTwo.do("GET", "/api/v1/me", nil).decode(t, &me)
	assert.Equal(t, "nell", me.Nickname, "the session works on the other instance")

	events, stop := two.client().stream(t, fmt.Sprintf("/api/v1/auctions/%d/stream", a.ID), "")
	defer stop()
	next(t, events) // the current state: price, then status
	next(t, events)
	require.Equal(t, http.StatusCreated, nell.do("POST", fmt.Sprintf("/api/v1/auctions/%d/bids", a.ID),
		map[string]int64{"amount": 250}, "Prefer", "wait=10").status)
	e := nextPrice(t, events)
	assert.Equal(t, "price", e.Event)
	assert.Equal(t, "250", decodeField(t, e.Data, "current_price"))
	assert.Equal(t, "260", decodeField(t, e.Data, "min_next_bid"))
}

// A reconnecting notification stream replays the unread notifications after
// Last-Event-ID, an idle stream gets heartbeat comments, and stopping the server ends
// every stream.
func TestNotificationStreamReplayHeartbeatAndShutdown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller, sub := h.login("seller"), h.login("sub")
	a := seller.createAuction(t, "Desk", 100, -time.Second)
	require.Equal(t, http.StatusNoContent, sub.do("PUT", fmt.Sprintf("/api/v1/auctions/%d/subscription", a.ID), nil).status)
	notifier := &auction.Notifier{DB: h.db, Publisher: live.Publisher{Redis: h.redis}}
	price := func(bidID, amount int64) {
		require.NoError(t, notifier.Deliver(context.Background(), []auction.Event{{Kind: auction.EventPriceChanged,
			AuctionID: a.ID, BidID: bidID, UserID: 999999, CurrentPrice: amount, BidCount: bidID, At: time.Now()}}))
	}
	events, stop := sub.stream(t, "/api/v1/me/notifications/stream", "")
	price(1, 200)
	price(2, 300)
	first, second := next(t, events), next(t, events)
	assert.Contains(t, first.Data, `"current_price":200`)
	assert.Contains(t, second.Data, `"current_price":300`)
	stop()
	price(3, 400)
	price(3, 400) // the same event delivered again: stored and sent once
	price(4, 500)
	again, stop2 := sub.stream(t, "/api/v1/me/notifications/stream", second.ID)
	defer stop2()
	assert.Contains(t, next(t, again).Data, `"current_price":400`)
	assert.Contains(t, next(t, again).Data, `"current_price":500`)
	price(5, 600)
	assert.Contains(t, next(t, again).Data, `"current_price":600`, "then live")
	select {
	case e, ok := <-again:
		assert.False(t, ok, "nothing more, got %v", e)
	case <-time.After(300 * time.Millisecond):
	}

	// Heartbeats on an idle stream.
	req, err := http.NewRequest("GET", h.srv.URL+fmt.Sprintf("/api/v1/auctions/%d/stream", a.ID), nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	deadline := time.Now().Add(3 * time.Second)
	found := false
	for !found && time.Now().Before(deadline) && sc.Scan() {
		found = sc.Text() == ": keep-alive"
	}
	assert.True(t, found, "a comment line within the heartbeat")

	h.api.Close()
	select {
	case _, ok := <-again:
		for ok {
			_, ok = <-again
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived the server's Close")
	}
}

// A client that reconnects with a Last-Event-ID that Redis no longer holds (Redis was
// emptied) gets the auction's current state from the database, not nothing.
func TestAuctionStreamAfterAnEmptiedRedis(t *testing.T) {
	t.Parallel()
	h := newHarnessWithWorker(t)
	seller, nell := h.login("seller"), h.login("nell")
	nell.charge(t, 1_000)
	a := seller.createAuction(t, "Lamp", 100, -time.Second)
	path := fmt.Sprintf("/api/v1/auctions/%d/stream", a.ID)
	events, stop := h.client().stream(t, path, "")
	next(t, events) // the current state: price, then status
	next(t, events)
	require.Equal(t, http.StatusCreated, nell.do("POST", fmt.Sprintf("/api/v1/auctions/%d/bids", a.ID),
		map[string]int64{"amount": 250}, "Prefer", "wait=10").status)
	seen := nextPrice(t, events)
	require.Equal(t, "250", decodeField(t, seen.Data, "current_price"))
	stop()

	require.NoError(t, h.redis.FlushDB(context.Background()).Err())
	again, stop2 := h.client().stream(t, path, seen.ID)
	defer stop2()
	e := next(t, again)
	assert.Equal(t, "price", e.Event)
	assert.Equal(t, "250", decodeField(t, e.Data, "current_price"), "the price from the database")
	e = next(t, again)
	assert.Equal(t, "status", e.Event, "then the status from the database")
}

// An auction's stream sends a status event when the auction opens and when it ends (with
// the winner), every event with end_at and server_time; a new stream of the ended auction
// starts with its final price and its DONE status naming the winner.
func TestAuctionStreamStatusEvents(t *testing.T) {
	t.Parallel()
	h := newHarnessWithWorker(t)
	seller, nell := h.login("seller"), h.login("nell")
	nell.charge(t, 1_000)
	start := time.Now().Add(2 * time.Second).Truncate(time.Second)
	res := seller.do("POST", "/api/v1/auctions", map[string]any{"name": "Clock", "start_price": 100,
		"start_at": rfc(start), "end_at": rfc(start.Add(2 * time.Second))})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var a auctionOut
	res.decode(t, &a)
	path := fmt.Sprintf("/api/v1/auctions/%d/stream", a.ID)
	events, stop := h.client().stream(t, path, "")
	defer stop()
	first, status := next(t, events), next(t, events)
	require.Equal(t, "price", first.Event)
	require.Equal(t, "status", status.Event)
	assert.Equal(t, "READY", decodeField(t, status.Data, "status"))

	time.Sleep(time.Until(start) + 100*time.Millisecond)
	require.Equal(t, http.StatusCreated, nell.do("POST", fmt.Sprintf("/api/v1/auctions/%d/bids", a.ID),
		map[string]int64{"amount": 300}, "Prefer", "wait=10").status)
	var statuses []string
	var done sseEvent
	for done.Event == "" {
		e := next(t, events)
		endAt, err := time.Parse(time.RFC3339, decodeField(t, e.Data, "end_at"))
		require.NoError(t, err, "%s %s", e.Event, e.Data)
		assert.Equal(t, rfc(start.Add(2*time.Second)), rfc(endAt), "%s %s", e.Event, e.Data)
		assert.NotEmpty(t, decodeField(t, e.Data, "server_time"), "%s %s", e.Event, e.Data)
		if e.Event == "status" {
			statuses = append(statuses, decodeField(t, e.Data, "status"))
			if decodeField(t, e.Data, "status") == "DONE" {
				done = e
			}
		}
	}
	assert.Equal(t, []string{"PENDING", "DONE"}, statuses, "a status event on opening and on the end")
	assert.JSONEq(t, `{"bidder_nickname": "ne***", "amount": 300}`, decodeField(t, done.Data, "winner"))

	again, stop2 := h.client().stream(t, path, "")
	defer stop2()
	first, status = next(t, again), next(t, again)
	assert.Equal(t, "price", first.Event)
	assert.Equal(t, "300", decodeField(t, first.Data, "current_price"))
	assert.Equal(t, "status", status.Event)
	assert.Equal(t, "DONE", decodeField(t, status.Data, "status"))
	assert.JSONEq(t, `{"bidder_nickname": "ne***", "amount": 300}`, decodeField(t, status.Data, "winner"))
}
