package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
)

// HoldBatcher places bids as PlaceHold does on PostgreSQL, but the bids that arrive while earlier ones
// are being placed go to the database together, in one call of gavel_place_bids and one
// commit (PostgreSQL only). A bid that arrives when a flush is free goes at once, alone,
// so batching costs nothing when the load is light; under load the waiting bids share a
// commit instead of each waiting for its own. The zero value is not ready: use
// NewHoldBatcher.
type HoldBatcher struct {
	db         *DB
	maxFlushes int // batches in flight at once
	maxBatch   int

	mu      sync.Mutex
	queue   []*holdRequest
	running int

	statements, bids atomic.Int64
}

// Stats tells how many statements placed how many bids so far.
func (h *HoldBatcher) Stats() (statements, bids int64) { return h.statements.Load(), h.bids.Load() }

type holdRequest struct {
	ctx      context.Context
	bid      *Bid
	answered bool     // the statement gave the bid its outcome
	refused  *Refused // why the rules refused the bid
	err      error
	done     chan struct{}
}

// NewHoldBatcher returns a HoldBatcher on d with up to maxFlushes batches in flight, of
// up to maxBatch bids each.
func NewHoldBatcher(d *DB, maxFlushes, maxBatch int) *HoldBatcher {
	return &HoldBatcher{db: d, maxFlushes: max(maxFlushes, 1), maxBatch: max(maxBatch, 1)}
}

// Place is PlaceHold through the batcher. A bid whose ctx is done before its batch is
// sent is not placed (ctx's error); once sent, it is placed or refused whatever happens to
// ctx, as its statement carries others' bids too.
func (h *HoldBatcher) Place(ctx context.Context, b *Bid) (*Refused, error) {
	r := &holdRequest{ctx: ctx, bid: b, done: make(chan struct{})}
	h.mu.Lock()
	h.queue = append(h.queue, r)
	flush := h.running < h.maxFlushes
	if flush {
		h.running++
	}
	h.mu.Unlock()
	if flush {
		h.flush(true)
	}
	<-r.done
	return r.refused, r.err
}

// flush places queued batches until the queue is empty. A caller of Place flushes one
// batch only (which holds its own bid, unless more than a batch was waiting before it),
// then hands the rest to a goroutine and waits for its own outcome, so that it answers its
// request without serving everyone else's first.
func (h *HoldBatcher) flush(caller bool) {
	for {
		h.mu.Lock()
		if len(h.queue) == 0 {
			h.running--
			h.mu.Unlock()
			return
		}
		n := min(len(h.queue), h.maxBatch)
		batch := make([]*holdRequest, n)
		copy(batch, h.queue)
		h.queue = h.queue[n:]
		h.mu.Unlock()

		h.place(batch)
		if caller {
			go h.flush(false)
			return
		}
	}
}

// place places a batch and tells each request its outcome.
func (h *HoldBatcher) place(batch []*holdRequest) {
	defer func(all []*holdRequest) {
		for _, r := range all {
			close(r.done)
		}
	}(batch)
	var live []*holdRequest // those whose callers still wait
	for _, r := range batch {
		if r.err = r.ctx.Err(); r.err == nil {
			live = append(live, r)
		}
	}
	h.statements.Add(int64(min(len(live), 1)))
	h.bids.Add(int64(len(live)))
	switch len(live) {
	case 0:
		return
	case 1:
		r := live[0]
		r.refused, r.err = PlaceHold(r.ctx, h.db, r.bid, nil)
		return
	}
	batch = live
	// The batch is placed for bids whose callers may have given up: not for their contexts.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := retryTransient(ctx, func() error { return placeHolds(ctx, h.db, batch) })
	var pe pgdriver.Error
	if err == nil || !errors.As(err, &pe) {
		// Placed, or an error that may have come after the commit (the connection lost):
		// placing the bids again could place them twice, so each gets the error.
		if err == nil {
			err = errNoOutcome
		}
		for _, r := range batch {
			if r.err == nil && !r.answered {
				r.err = err
			}
		}
		return
	}
	// The server refused the statement, so nothing of it was written, and no bid of the
	// batch explains it alone: place each bid alone, so that each gets its own outcome.
	for _, r := range batch {
		r.refused, r.err = PlaceHold(ctx, h.db, r.bid, nil)
	}
}

// errNoOutcome is the error of a bid the statement returned no row for, which cannot happen.
var errNoOutcome = errors.New("place holds: the statement gave a bid no outcome")

// placeHolds places the batch in one call of gavel_place_bids and records each bid's
// outcome in its request.
func placeHolds(ctx context.Context, idb bun.IDB, batch []*holdRequest) error {
	auctions := make([]int64, len(batch))
	bidders := make([]int64, len(batch))
	amounts := make([]int64, len(batch))
	maxes := make([]*int64, len(batch))
	kinds := make([]string, len(batch))
	for i, r := range batch {
		auctions[i], bidders[i], amounts[i] = r.bid.AuctionID, r.bid.BidderID, r.bid.Amount
		maxes[i], kinds[i] = r.bid.MaxAmount, r.bid.Kind
		if kinds[i] == "" {
			kinds[i] = KindBid
		}
	}
	var rows []placed
	err := idb.NewRaw(`SELECT ord, id, status, start_price, current_price, leading_bid_id, start_at, end_at,
	bid_id, bid_at, bid_amount, short, refusal
FROM gavel_place_bids(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[])`,
		pgdialect.Array(auctions), pgdialect.Array(bidders), pgdialect.Array(amounts), pgdialect.Array(maxes),
		pgdialect.Array(kinds)).Scan(ctx, &rows)
	if err != nil {
		return fmt.Errorf("place holds: %w", err)
	}
	for _, row := range rows {
		if row.Ord < 1 || row.Ord > len(batch) {
			continue // cannot happen
		}
		r := batch[row.Ord-1]
		r.answered = true
		switch {
		case row.ID == nil:
			r.err = ErrNotFound
		case row.Short:
			r.err = ErrInsufficient
		case row.Refusal != nil:
			a := &Auction{ID: *row.ID, Status: row.Status, StartPrice: row.StartPrice, CurrentPrice: row.CurrentPrice,
				LeadingBidID: row.LeadingBidID, StartAt: row.StartAt.UTC(), EndAt: row.EndAt.UTC()}
			r.refused = &Refused{Code: *row.Refusal, Auction: a}
		case row.BidID != nil:
			r.bid.ID, r.bid.Status, r.bid.CreatedAt = *row.BidID, BidPending, row.BidAt.UTC()
			r.bid.Kind, r.bid.Amount = kinds[row.Ord-1], *row.BidAmount
		}
	}
	return nil
}
