package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
)

// HoldBatcher places bids as PlaceHold does, but the bids that arrive while earlier ones
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
	bid     *Bid
	auction *Auction
	now     time.Time
	err     error
	done    chan struct{}
}

// NewHoldBatcher returns a HoldBatcher on d with up to maxFlushes batches in flight, of
// up to maxBatch bids each.
func NewHoldBatcher(d *DB, maxFlushes, maxBatch int) *HoldBatcher {
	return &HoldBatcher{db: d, maxFlushes: max(maxFlushes, 1), maxBatch: max(maxBatch, 1)}
}

// Place is PlaceHold through the batcher. Once queued, the bid is placed (or refused)
// whatever happens to ctx: a caller that gives up does not undo a bid that others' commit
// carries; ctx bounds only the wait for a batch of one.
func (h *HoldBatcher) Place(ctx context.Context, b *Bid) (*Auction, time.Time, error) {
	r := &holdRequest{bid: b, done: make(chan struct{})}
	h.mu.Lock()
	h.queue = append(h.queue, r)
	flush := h.running < h.maxFlushes
	if flush {
		h.running++
	}
	h.mu.Unlock()
	if flush {
		h.flush(ctx, true)
	}
	<-r.done
	return r.auction, r.now, r.err
}

// flush places queued batches until the queue is empty. The caller's own bid is in the
// first batch it takes (it queued it before), so after that batch the caller hands the
// rest to a goroutine and goes back to answer its request.
func (h *HoldBatcher) flush(ctx context.Context, caller bool) {
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

		h.place(ctx, batch)
		if caller {
			go h.flush(context.WithoutCancel(ctx), false)
			return
		}
	}
}

// place places a batch and tells each request its outcome.
func (h *HoldBatcher) place(ctx context.Context, batch []*holdRequest) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	h.statements.Add(1)
	h.bids.Add(int64(len(batch)))
	if len(batch) == 1 {
		r := batch[0]
		r.auction, r.now, r.err = PlaceHold(ctx, h.db, r.bid)
		return
	}
	// The batch is placed for bids whose callers may have given up: not for their contexts.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := retryTransient(ctx, func() error { return placeHolds(ctx, h.db, batch) })
	var pe pgdriver.Error
	if err == nil || !errors.As(err, &pe) {
		// Placed, or an error that may have come after the commit (the connection lost):
		// placing the bids again could place them twice, so each gets the error.
		if err == nil {
			err = errors.New("place holds: the batch gave a bid no outcome") // cannot happen
		}
		for _, r := range batch {
			if r.err == nil && r.auction == nil {
				r.err = err
			}
		}
		return
	}
	// The server refused the statement, so nothing of it was written, and no bid of the
	// batch explains it alone: place each bid alone, so that each gets its own outcome.
	for _, r := range batch {
		r.auction, r.now, r.err = PlaceHold(ctx, h.db, r.bid)
	}
}

// placeHolds places the batch in one call of gavel_place_bids.
func placeHolds(ctx context.Context, d *DB, batch []*holdRequest) error {
	auctions := make([]int64, len(batch))
	bidders := make([]int64, len(batch))
	amounts := make([]int64, len(batch))
	for i, r := range batch {
		auctions[i], bidders[i], amounts[i] = r.bid.AuctionID, r.bid.BidderID, r.bid.Amount
	}
	var rows []struct {
		Ord int `bun:"ord"`
		placed
		Short bool `bun:"short"`
	}
	err := d.NewRaw(`SELECT * FROM gavel_place_bids(?::bigint[], ?::bigint[], ?::bigint[])`,
		pgdialect.Array(auctions), pgdialect.Array(bidders), pgdialect.Array(amounts)).Scan(ctx, &rows)
	if err != nil {
		return fmt.Errorf("place holds: %w", err)
	}
	for _, row := range rows {
		if row.Ord < 1 || row.Ord > len(batch) {
			continue // cannot happen
		}
		r := batch[row.Ord-1]
		switch {
		case row.Auction.ID == 0:
			r.err = ErrNotFound
		case row.Short:
			r.err = ErrInsufficient
		default:
			r.auction, r.now = row.outcome(r.bid)
		}
	}
	return nil
}
