package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/live"
	"github.com/gin-gonic/gin"
)

func (s *Server) handleSubscribe(c *gin.Context) {
	s.subscription(c, s.notifier.Subscribe)
}

func (s *Server) handleUnsubscribe(c *gin.Context) {
	s.subscription(c, s.notifier.Unsubscribe)
}

func (s *Server) subscription(c *gin.Context, change func(context.Context, int64, int64) error) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	if err := change(c.Request.Context(), id, currentUserID(c)); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) handleLike(c *gin.Context)   { s.like(c, true) }
func (s *Server) handleUnlike(c *gin.Context) { s.like(c, false) }

func (s *Server) like(c *gin.Context, liked bool) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	if err := s.likes.Set(c.Request.Context(), id, currentUserID(c), liked); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) handleMySubscriptions(c *gin.Context) {
	page, err := s.auctionPage(c, func(f *db.ListFilter) { f.SubscriberID = currentUserID(c) })
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (s *Server) handleNotifications(c *gin.Context) {
	var bad badParams
	unread := false
	if raw, has := c.GetQuery("unread"); has {
		v, err := strconv.ParseBool(raw)
		if err != nil {
			bad.add("unread", "must be true or false")
		}
		unread = v
	}
	before, limit, ok := s.idPage(c, &bad)
	if !ok {
		return
	}
	rows, err := s.notifier.Notifications(c.Request.Context(), currentUserID(c), before, unread, limit+1)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageOf(s, rows, limit, live.FromDB, func(n db.Notification) int64 { return n.ID }))
}

func (s *Server) handleMarkRead(c *gin.Context) {
	var req struct {
		UpToID int64 `json:"up_to_id"`
	}
	if p := decodeJSON(c.Request, &req); p != nil {
		writeProblem(c, p)
		return
	}
	if err := s.notifier.MarkRead(c.Request.Context(), currentUserID(c), req.UpToID); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// sse starts an event stream: headers that keep proxies from buffering it, then the
// status line at once.
func sse(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	c.Writer.Flush()
}

// writeEvent writes one event; the caller flushes.
func writeEvent(c *gin.Context, m live.Message) error {
	_, err := fmt.Fprintf(c.Writer, "id: %s\nevent: %s\ndata: %s\n\n", m.ID, m.Event, m.Data)
	return err
}

// stamped is the event's data with the fields every client may rely on added to the JSON
// object: server_time (now, for countdowns on clients whose clock is wrong) and, for
// auction events published without it, the auction's end_at.
func stamped(m live.Message, endAt string) live.Message {
	d := bytes.TrimRight(m.Data, " \n")
	if len(d) < 2 || d[len(d)-1] != '}' {
		return m
	}
	out := make([]byte, 0, len(d)+80)
	out = append(out, d[:len(d)-1]...)
	sep := func() {
		if len(out) > 1 {
			out = append(out, ',')
		}
	}
	if endAt != "" && !bytes.Contains(d, []byte(`"end_at"`)) {
		sep()
		out = append(out, `"end_at":"`...)
		out = append(out, endAt...)
		out = append(out, '"')
	}
	if !bytes.Contains(d, []byte(`"server_time"`)) {
		sep()
		out = append(out, `"server_time":"`...)
		out = append(out, live.Timestamp(time.Now())...)
		out = append(out, '"')
	}
	out = append(out, '}')
	m.Data = out
	return m
}

// flush sends what was written; a client that accepts nothing for the write timeout is
// cut off (its handler would otherwise hang in a write forever).
func (s *Server) flush(c *gin.Context) error {
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	return rc.Flush()
}

// pump sends the client's live events, skipping those `seen` says were sent already,
// with a comment line every heartbeat, until the client goes, falls behind (the hub drops
// it) or the server stops.
func (s *Server) pump(c *gin.Context, client *live.Client, seen func(*live.Message) bool, shape func(live.Message) live.Message) {
	ticker := time.NewTicker(s.heartbeat)
	defer ticker.Stop()
	done := c.Request.Context().Done()
	for {
		select {
		case <-done:
			return
		case <-ticker.C:
			if _, err := fmt.Fprint(c.Writer, ": keep-alive\n\n"); err != nil || s.flush(c) != nil {
				return
			}
		case m, ok := <-client.C:
			if !ok {
				return // dropped for falling behind, or the server is stopping
			}
			if seen(m) {
				continue
			}
			if writeEvent(c, shape(*m)) != nil {
				return
			}
			// Write what else is waiting before the one flush.
			for more := true; more; {
				select {
				case m, ok := <-client.C:
					if !ok {
						_ = s.flush(c)
						return
					}
					if !seen(m) && writeEvent(c, shape(*m)) != nil {
						return
					}
				default:
					more = false
				}
			}
			if s.flush(c) != nil {
				return
			}
		}
	}
}

// handleAuctionStream serves an auction's price and status events. The client subscribes
// to the hub before the replay is read, and the replay's last ID filters the live events,
// so nothing falls between the two and nothing comes twice.
func (s *Server) handleAuctionStream(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	last := c.GetHeader("Last-Event-ID")
	if last != "" && !live.ValidStreamID(last) {
		writeProblem(c, invalid("Last-Event-ID", "must be an event ID of this stream"))
		return
	}
	ctx := c.Request.Context()
	a, err := s.catalogue.Get(ctx, id, 0)
	if err != nil {
		s.fail(c, err)
		return
	}
	if isHead(c) {
		sse(c)
		return
	}
	release, p := s.streams.open(c.ClientIP(), 0)
	if p != nil {
		writeProblem(c, p)
		return
	}
	defer release()
	client := s.hub.Auction(id)
	defer s.hub.Remove(client)
	var first []live.Message
	known := false
	if last != "" {
		// Replay from Redis what came after the client's last event, if Redis still holds
		// that event; otherwise (an emptied Redis, an ID older than what is kept) the
		// client gets the current state from the database, as a new one does.
		if known, err = live.Holds(ctx, s.redis, id, last); err == nil && known {
			first, err = live.Replay(ctx, s.redis, id, last)
		}
	}
	if err == nil && !known {
		// The current state, as a price event and a status event under the newest event's
		// ID (a DONE auction's names the winner).
		var at string
		if at, err = live.LastID(ctx, s.redis, id); err == nil {
			first = currentState(a, at)
			last = at
		}
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	endAt := timestamp(a.EndAt)
	sse(c)
	for _, m := range first {
		if writeEvent(c, stamped(m, endAt)) != nil {
			return
		}
		last = m.ID
	}
	if s.flush(c) != nil {
		return
	}
	s.pump(c, client, func(m *live.Message) bool {
		if last != "" && !live.StreamIDLess(last, m.ID) {
			return true
		}
		last = m.ID
		return false
	}, func(m live.Message) live.Message {
		if m.Event == "status" {
			// An auction opened: a later event carries the end_at it has now.
			var st live.StatusEvent
			if json.Unmarshal(m.Data, &st) == nil && st.EndAt != "" {
				endAt = st.EndAt
			}
		}
		return stamped(m, endAt)
	})
}

// currentState is an auction's state as its stream's first events, under the ID at.
func currentState(a *db.AuctionView, at string) []live.Message {
	endAt := timestamp(a.EndAt)
	price := live.PriceEvent{AuctionID: a.ID, CurrentPrice: a.CurrentPrice, MinNextBid: auction.MinNextBid(&a.Auction),
		BidCount: a.BidCount, At: live.Timestamp(a.UpdatedAt), EndAt: endAt}
	status := live.StatusEvent{AuctionID: a.ID, Status: a.Status, EndAt: endAt}
	if a.Status == db.StatusDone && a.LeadingAmount != nil && a.LeadingNickname != nil &&
		a.LeadingStatus != nil && *a.LeadingStatus == db.BidWon {
		status.Winner = &live.Winner{BidderNickname: auction.MaskNickname(*a.LeadingNickname), Amount: *a.LeadingAmount}
	}
	return []live.Message{
		{ID: at, Event: "price", Data: mustJSON(price)},
		{ID: at, Event: "status", Data: mustJSON(status)},
	}
}

// handleNotificationStream serves the caller's notifications; with Last-Event-ID it
// first replays the unread ones after it.
func (s *Server) handleNotificationStream(c *gin.Context) {
	var after int64
	if raw := c.GetHeader("Last-Event-ID"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			writeProblem(c, invalid("Last-Event-ID", "must be a notification ID"))
			return
		}
		after = n
	}
	ctx := c.Request.Context()
	user := currentUserID(c)
	if isHead(c) {
		sse(c)
		return
	}
	release, p := s.streams.open(c.ClientIP(), user)
	if p != nil {
		writeProblem(c, p)
		return
	}
	defer release()
	client := s.hub.User(user)
	defer s.hub.Remove(client)
	var missed []db.Notification
	if c.GetHeader("Last-Event-ID") != "" {
		var err error
		if missed, err = s.notifier.Missed(ctx, user, after, 1000); err != nil {
			s.fail(c, err)
			return
		}
	}
	sse(c)
	var sent recentIDs
	for _, n := range missed {
		if writeEvent(c, stamped(live.Message{ID: strconv.FormatInt(n.ID, 10), Event: "notification", Data: mustJSON(live.FromDB(n))}, "")) != nil {
			return
		}
		sent.add(n.ID)
	}
	if s.flush(c) != nil {
		return
	}
	// A notification may come live after its replay, or twice when its push was done
	// again (a retried task, the scheduler's push-notifications): it is sent once.
	s.pump(c, client, func(m *live.Message) bool {
		id, _ := strconv.ParseInt(m.ID, 10, 64)
		return !sent.add(id)
	}, func(m live.Message) live.Message { return stamped(m, "") })
}

// recentIDs remembers the last recentIDsKept IDs added, to send each notification once.
type recentIDs struct {
	set  map[int64]bool
	ring []int64
	next int
}

const recentIDsKept = 1024

// add remembers id and reports whether it is new.
func (r *recentIDs) add(id int64) bool {
	if r.set == nil {
		r.set, r.ring = map[int64]bool{}, make([]int64, 0, recentIDsKept)
	}
	if r.set[id] {
		return false
	}
	if len(r.ring) < recentIDsKept {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % recentIDsKept
	}
	r.set[id] = true
	return true
}

// mustJSON marshals the event types of package live, which always marshal.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("api: marshal %T: %v", v, err))
	}
	return b
}

func (s *Server) handleRecommendations(c *gin.Context) {
	limit := 10
	if raw, has := c.GetQuery("limit"); has {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 50 {
			writeProblem(c, invalid("limit", "must be an integer from 1 to 50"))
			return
		}
		limit = n
	}
	items, source, err := s.recs.For(c.Request.Context(), currentUserID(c), limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := struct {
		Items  []auctionSummaryJSON `json:"items"`
		Source string               `json:"source"`
	}{Items: make([]auctionSummaryJSON, 0, len(items)), Source: source}
	for _, it := range items {
		out.Items = append(out.Items, toSummaryJSON(it))
	}
	c.JSON(http.StatusOK, out)
}
