package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/chaos"
)

// load is the clients' side of the run: what they do and what they were told.
type load struct {
	st       *stats
	rec      *chaos.Recorder
	auctions []int64 // the hot one first
	buyNow   []int64 // those with a buy-now price
	highest  sync.Map
	lastWipe *atomic.Int64 // unix nanos of the last loss of Redis
	events   atomic.Int64  // stream events received

	mu      sync.Mutex
	unknown []pendingCharge // charges whose outcome the client never learnt
}

// pendingCharge is a charge that got no answer (transport error or 5xx): it may or may not
// have been applied, so the client asks again with the same Idempotency-Key until it knows.
type pendingCharge struct {
	u      *user
	key    string
	amount int64
}

// charge asks for a charge and records it once acknowledged.
func (l *load) charge(u *user, amount int64) {
	key := u.key("charge")
	r, err := u.call("charge", "POST", "/api/v1/me/points/charges", map[string]int64{"amount": amount}, map[string]string{"Idempotency-Key": key})
	switch {
	case err == nil && r.status == http.StatusCreated:
		l.rec.Charge(chaos.Charge{UserID: u.id, Amount: amount})
	case err != nil || r.status >= 500:
		l.mu.Lock()
		l.unknown = append(l.unknown, pendingCharge{u, key, amount})
		l.mu.Unlock()
	}
}

// resolveCharges asks again for every charge whose outcome is unknown, with its key,
// until it is acknowledged: then the points in the system must equal the charges
// acknowledged, exactly. It returns those it could not resolve.
func (l *load) resolveCharges(within time.Duration) []string {
	deadline := time.Now().Add(within)
	var failed []string
	for _, c := range l.unknown {
		for {
			r, err := c.u.call("charge", "POST", "/api/v1/me/points/charges", map[string]int64{"amount": c.amount}, map[string]string{"Idempotency-Key": c.key})
			if err == nil && r.status == http.StatusCreated {
				l.rec.Charge(chaos.Charge{UserID: c.u.id, Amount: c.amount})
				break
			}
			if err == nil && r.status < 500 {
				failed = append(failed, fmt.Sprintf("charge %s of user %d asked again: %d %s", c.key, c.u.id, r.status, r.body))
				break
			}
			if time.Now().After(deadline) {
				failed = append(failed, fmt.Sprintf("charge %s of user %d: no answer by the deadline (%v)", c.key, c.u.id, err))
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return failed
}

// bidder is one bidder's loop until ctx ends.
func (l *load) bidder(ctx context.Context, u *user) {
	for ctx.Err() == nil {
		switch n := u.r.IntN(20); {
		case n < 12:
			l.bid(u)
		case n < 13:
			l.readBid(u)
		case n < 15:
			l.like(u)
		case n < 16:
			l.charge(u, 1000)
		case n < 18:
			_, _ = u.call("browse", "GET", "/api/v1/auctions?sort=ending_soon", nil, nil)
		case n < 19:
			_, _ = u.call("recommendations", "GET", "/api/v1/me/recommendations", nil, nil)
		default:
			l.listNotifications(u, "list", 1)
		}
	}
}

// bidBody is a Bid as the API answers it.
type bidBody struct {
	ID        int64  `json:"id"`
	AuctionID int64  `json:"auction_id"`
	Kind      string `json:"kind"`
	Amount    *int64 `json:"amount"`
	MaxAmount *int64 `json:"max_amount"`
	Status    string `json:"status"`
}

func (l *load) bid(u *user) {
	k := l.auctions[0] // half of the bids on the hot auction
	if u.r.IntN(2) == 1 {
		k = l.auctions[1+u.r.IntN(len(l.auctions)-1)]
	}
	h, _ := l.highest.LoadOrStore(k, int64(90))
	amount := h.(int64) + auction.Increment(h.(int64)) + int64(u.r.IntN(3))*10
	var header map[string]string
	if u.r.IntN(3) == 0 { // a third wait for their decision: 201 bodies show decisions
		header = map[string]string{"Prefer": "wait=1"}
	}
	path, body := fmt.Sprintf("/api/v1/auctions/%d/bids", k), any(map[string]int64{"amount": amount})
	switch n := u.r.IntN(40); {
	case n == 0 && len(l.buyNow) > 0: // a buy-now, racing the bids on a lot that has the price
		k = l.buyNow[u.r.IntN(len(l.buyNow))]
		path, body = fmt.Sprintf("/api/v1/auctions/%d/buy", k), nil
	case n < 20: // half are proxy bids, up to a few increments above
		body = map[string]int64{"max_amount": amount + int64(u.r.IntN(5))*auction.Increment(amount)}
	}
	r, err := u.call("bid", "POST", path, body, header)
	if err != nil {
		return
	}
	if r.status < 500 && r.status != http.StatusUnauthorized && body != nil { // a bid, not a buy-now
		l.highest.Store(k, max(h.(int64), amount))
	}
	if r.status == http.StatusAccepted || r.status == http.StatusCreated {
		l.accepted(u, r, "201")
	}
}

// accepted records a bid answered 202 or 201, and the decision a 201 shows.
func (l *load) accepted(u *user, r reply, where string) bidBody {
	var b bidBody
	r.decode(&b)
	if b.ID == 0 {
		return b
	}
	seen := chaos.AcceptedBid{ID: b.ID, UserID: u.id, AuctionID: b.AuctionID, Kind: b.Kind, Max: b.MaxAmount}
	if b.Kind != "buy_now" && b.MaxAmount == nil && b.Amount != nil {
		seen.Amount = *b.Amount
	}
	l.rec.Bid(seen)
	u.bids = append(u.bids, b.ID)
	l.st.mu.Lock()
	l.st.accepted++
	l.st.mu.Unlock()
	if r.status == http.StatusCreated && b.Status != "pending" {
		l.rec.Decision(chaos.ShownDecision{BidID: b.ID, Status: b.Status, Where: where})
	}
	return b
}

// readBid reads one of the user's bids back: what it shows must stand.
func (l *load) readBid(u *user) {
	if len(u.bids) == 0 {
		return
	}
	id := u.bids[u.r.IntN(len(u.bids))]
	r, err := u.call("bid read", "GET", fmt.Sprintf("/api/v1/bids/%d", id), nil, nil)
	if err == nil && r.status == http.StatusOK {
		var b bidBody
		r.decode(&b)
		l.rec.Decision(chaos.ShownDecision{BidID: id, Status: b.Status, Where: "GET /bids"})
	}
}

func (l *load) like(u *user) {
	k := l.auctions[u.r.IntN(len(l.auctions))]
	liked := u.r.IntN(2) == 0
	method := map[bool]string{true: "PUT", false: "DELETE"}[liked]
	before := time.Now().UnixNano()
	r, err := u.call("like", method, fmt.Sprintf("/api/v1/auctions/%d/like", k), nil, nil)
	if err == nil && r.status == http.StatusNoContent && before > l.lastWipe.Load() {
		l.rec.Like(k, u.id, liked)
	}
}

// notificationBody is a Notification as the API shows it.
type notificationBody struct {
	ID        int64  `json:"id"`
	Kind      string `json:"kind"`
	AuctionID int64  `json:"auction_id"`
}

// listNotifications reads up to pages pages of the user's notifications (0: all) and
// records them. It reports whether it read them all.
func (l *load) listNotifications(u *user, where string, pages int) bool {
	cursor := ""
	for page := 0; pages == 0 || page < pages; page++ {
		path := "/api/v1/me/notifications?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r, err := u.call("notifications", "GET", path, nil, nil)
		if err != nil || r.status != http.StatusOK {
			return false
		}
		var p struct {
			Items      []notificationBody `json:"items"`
			NextCursor *string            `json:"next_cursor"`
		}
		r.decode(&p)
		for _, n := range p.Items {
			l.rec.Notification(chaos.ShownNotification{ID: n.ID, UserID: u.id, AuctionID: n.AuctionID, Kind: n.Kind, Where: where})
		}
		if p.NextCursor == nil {
			return true
		}
		cursor = *p.NextCursor
	}
	return true
}

// priceStream follows an auction's stream until ctx ends, reconnecting with
// Last-Event-ID, and records every price it shows.
func (l *load) priceStream(ctx context.Context, u *user, auctionID int64) {
	last := ""
	client := &http.Client{}
	for ctx.Err() == nil {
		a := u.apis[u.r.IntN(len(u.apis))]
		header := map[string]string{}
		if last != "" {
			header["Last-Event-ID"] = last
		}
		err := l.stream(ctx, client, "sse", a, fmt.Sprintf("/api/v1/auctions/%d/stream", auctionID), header, func(id, event, data string) {
			last = id
			l.events.Add(1)
			if event != "price" {
				return
			}
			var p struct {
				AuctionID    int64  `json:"auction_id"`
				CurrentPrice int64  `json:"current_price"`
				BidCount     *int64 `json:"bid_count"`
			}
			if json.Unmarshal([]byte(data), &p) == nil {
				l.rec.Price(chaos.ShownPrice{AuctionID: p.AuctionID, Price: p.CurrentPrice, BidCount: p.BidCount, Where: a.name + " stream"})
			}
		})
		if err != nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// notificationStream follows the user's notification stream until ctx ends and records
// every notification it delivers.
func (l *load) notificationStream(ctx context.Context, u *user) {
	last := ""
	client := &http.Client{Jar: u.c.Jar}
	for ctx.Err() == nil {
		a := u.apis[u.r.IntN(len(u.apis))]
		header := map[string]string{}
		if last != "" {
			header["Last-Event-ID"] = last
		}
		err := l.stream(ctx, client, "notification stream", a, "/api/v1/me/notifications/stream", header, func(id, event, data string) {
			last = id
			l.events.Add(1)
			var n notificationBody
			if event == "notification" && json.Unmarshal([]byte(data), &n) == nil {
				l.rec.Notification(chaos.ShownNotification{ID: n.ID, UserID: u.id, AuctionID: n.AuctionID, Kind: n.Kind, Where: a.name + " notification stream"})
			}
		})
		if err == errUnauthorized {
			_ = u.login()
		}
		if err != nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

var errUnauthorized = errors.New("401 unauthenticated")

// stream reads one connection of an event stream. A transport error is recorded at the
// moment it happened (a stream lives long; what matters is whether its API instance
// was down then), unless the run is ending.
func (l *load) stream(ctx context.Context, client *http.Client, kind string, a api, path string, header map[string]string, on func(id, event, data string)) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", a.url+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	from := time.Now()
	res, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			l.st.failed(kind, a, from, err)
		}
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		l.st.answered(kind, a, res, body)
		if res.StatusCode == http.StatusUnauthorized {
			return errUnauthorized
		}
		return fmt.Errorf("stream: %d", res.StatusCode)
	}
	l.st.answered(kind, a, res, nil)
	err = readEvents(res.Body, on)
	if err != nil && ctx.Err() == nil {
		l.st.failed(kind+" read", a, time.Now(), err)
	}
	return err
}

// readEvents parses text/event-stream, calling on for every event.
func readEvents(body io.Reader, on func(id, event, data string)) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var id, event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event != "" || data != "" {
				on(id, event, data)
			}
			event, data = "", ""
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
	return sc.Err()
}
