package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gin-gonic/gin"
)

type bidJSON struct {
	ID        int64   `json:"id"`
	AuctionID int64   `json:"auction_id"`
	Kind      string  `json:"kind"`
	Amount    *int64  `json:"amount"`
	MaxAmount *int64  `json:"max_amount"`
	Status    string  `json:"status"`
	Reason    *string `json:"reason"`
	CreatedAt string  `json:"created_at"`
	DecidedAt *string `json:"decided_at"`
}

type publicBidJSON struct {
	Amount         int64  `json:"amount"`
	BidderNickname string `json:"bidder_nickname"`
	CreatedAt      string `json:"created_at"`
}

func toBidJSON(b *db.Bid) bidJSON {
	out := bidJSON{ID: b.ID, AuctionID: b.AuctionID, Kind: b.Kind, MaxAmount: b.MaxAmount, Status: b.Status,
		Reason: b.Reason, CreatedAt: timestamp(b.CreatedAt)}
	if b.MaxAmount == nil || b.Status != db.BidPending { // a pending proxy bid offers nothing yet
		amount := b.Amount
		out.Amount = &amount
	}
	if b.DecidedAt != nil {
		t := timestamp(*b.DecidedAt)
		out.DecidedAt = &t
	}
	return out
}

// maxWait is the longest `Prefer: wait=N` is honoured.
const maxWait = 10 * time.Second

// preferWait reads `Prefer: wait=N`; anything missing, malformed or unknown is ignored.
func preferWait(h http.Header) time.Duration {
	for _, v := range h.Values("Prefer") {
		for _, pref := range strings.Split(v, ",") {
			name, value, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n <= 0 {
				return 0
			}
			return min(time.Duration(n)*time.Second, maxWait)
		}
	}
	return 0
}

func (s *Server) handlePlaceBid(c *gin.Context) {
	var req struct {
		Amount    *int64 `json:"amount"`
		MaxAmount *int64 `json:"max_amount"`
	}
	if p := decodeJSON(c.Request, &req); p != nil {
		writeProblem(c, p)
		return
	}
	var o auction.Order
	switch {
	case req.Amount != nil && req.MaxAmount != nil:
		writeProblem(c, invalid("max_amount", "cannot be given with amount: a bid is straight (amount) or proxy (max_amount)"))
		return
	case req.MaxAmount != nil:
		if *req.MaxAmount < 1 {
			writeProblem(c, invalid("max_amount", "must be a positive integer"))
			return
		}
		o.Max = req.MaxAmount
	case req.Amount == nil || *req.Amount < 1:
		writeProblem(c, invalid("amount", "is required (or max_amount for a proxy bid): a positive integer"))
		return
	default:
		o.Amount = *req.Amount
	}
	s.placeOrder(c, o)
}

// handleBuyNow buys the auction at its buy-now price: a bid of kind buy_now, answered as a bid.
func (s *Server) handleBuyNow(c *gin.Context) {
	if c.Request.ContentLength > 0 {
		var empty struct{}
		if p := decodeJSON(c.Request, &empty); p != nil {
			writeProblem(c, p)
			return
		}
	}
	s.placeOrder(c, auction.Order{Kind: db.KindBuyNow})
}

// placeOrder places a bid or a buy-now and answers 202, or 201 once decided.
func (s *Server) placeOrder(c *gin.Context, o auction.Order) {
	key, p := idempotencyKey(c)
	if p != nil {
		writeProblem(c, p)
		return
	}
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	bid, err := s.bidding.Place(ctx, currentUserID(c), id, o, key)
	if err != nil {
		p := problemFor(c, s.log, err)
		s.metrics.bids.WithLabelValues(p.Code).Inc()
		explainRefusal(p, err)
		writeProblem(c, p)
		return
	}
	s.metrics.bids.WithLabelValues("accepted").Inc()
	c.Header("Location", "/api/v1/bids/"+strconv.FormatInt(bid.ID, 10))
	if wait := preferWait(c.Request.Header); wait > 0 && bid.Status == db.BidPending {
		bid = s.awaitDecision(ctx, bid, wait)
	}
	status := http.StatusAccepted
	if bid.Status != db.BidPending {
		status = http.StatusCreated
	}
	c.JSON(status, toBidJSON(bid))
}

// explainRefusal adds to a refused bid's problem what the client needs to try again: the
// minimum next bid, or when bidding opens, from the auction as the rules saw it when they
// refused the bid (auction.RefusedError: no second read).
func explainRefusal(p *Problem, err error) {
	var refused *auction.RefusedError
	if !errors.As(err, &refused) || refused.Auction == nil {
		return
	}
	a := refused.Auction
	switch p.Code {
	case "bid_too_low":
		min := auction.MinNextBid(a)
		p.MinNextBid = &min
		p.Detail = fmt.Sprintf("The bid is below the minimum next bid, %d.", min)
	case "auction_not_started":
		at := timestamp(a.StartAt)
		p.StartAt = &at
		p.Detail = "The auction has not started; bidding opens at " + at + "."
	}
}

// awaitDecision re-reads the bid with a growing pause (5 ms doubling to 200 ms) until it
// is decided or the wait is over; a decision usually comes within tens of milliseconds.
func (s *Server) awaitDecision(ctx context.Context, bid *db.Bid, wait time.Duration) *db.Bid {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	pause := 5 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return bid
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
		b, err := s.bidding.Bid(ctx, bid.ID, bid.BidderID)
		if err != nil {
			return bid
		}
		if b.Status != db.BidPending {
			return b
		}
	}
}

func (s *Server) handleGetBid(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	bid, err := s.bidding.Bid(c.Request.Context(), id, currentUserID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toBidJSON(bid))
}

var bidStatuses = map[string]bool{db.BidPending: true, db.BidLeading: true, db.BidOutbid: true, db.BidRejected: true, db.BidWon: true}

func (s *Server) handleMyBids(c *gin.Context) {
	var bad badParams
	status, has := c.GetQuery("status")
	if has && !bidStatuses[status] {
		bad.add("status", "must be one of pending, leading, outbid, rejected, won")
	}
	before, limit, ok := s.idPage(c, &bad)
	if !ok {
		return
	}
	rows, err := s.bidding.BidsOf(c.Request.Context(), currentUserID(c), status, before, limit+1)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageOf(s, rows, limit, func(b db.Bid) bidJSON { return toBidJSON(&b) }, func(b db.Bid) int64 { return b.ID }))
}

func (s *Server) handleAuctionBids(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	before, limit, ok := s.idPage(c, &badParams{})
	if !ok {
		return
	}
	rows, err := s.bidding.History(c.Request.Context(), id, before, limit+1)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageOf(s, rows, limit, func(b db.PublicBid) publicBidJSON {
		return publicBidJSON{Amount: b.Amount, BidderNickname: auction.MaskNickname(b.BidderNickname), CreatedAt: timestamp(b.CreatedAt)}
	}, func(b db.PublicBid) int64 { return b.ID }))
}

// pageOf makes a page of at most limit items from rows (fetched with one extra, which
// says whether there is a next page), with an id-based cursor.
func pageOf[R, T any](s *Server, rows []R, limit int64, conv func(R) T, id func(R) int64) Page[T] {
	page := Page[T]{Items: make([]T, 0, min(int64(len(rows)), limit))}
	for i, r := range rows {
		if int64(i) == limit {
			next := s.cursors.encode(idCursor{Before: id(rows[i-1])})
			page.NextCursor = &next
			break
		}
		page.Items = append(page.Items, conv(r))
	}
	return page
}
