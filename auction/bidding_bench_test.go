package auction_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
)

// BenchmarkBidding places bids from 100 concurrent bidders while 4 goroutines decide them
// (the worker's role), without HTTP or queues: `hot` puts every bid on one auction,
// `spread` spreads them over 1,000; `batch` decides all pending bids of an auction in one
// transaction, `per-bid` one bid per transaction. Each bidder reads the auction's price
// and offers the minimum next bid. It reports accepted and decided bids per second and
// fails if an invariant breaks. Use a fixed count, e.g. -benchtime 10000x, and
// TEST_DATABASE_URL for PostgreSQL.
func BenchmarkBidding(b *testing.B) {
	for _, mode := range []struct {
		name     string
		auctions int
		single   bool
	}{{"hot/batch", 1, false}, {"hot/per-bid", 1, true}, {"spread/batch", 1000, false}} {
		b.Run(mode.name, func(b *testing.B) {
			w := newBidWorldN(b, 100, mode.auctions, 1_000_000_000_000)
			w.bidding.OneBidPerDecision = mode.single
			ctx := context.Background()
			queue := make(chan int64, b.N+1)
			var decided, accepted, next atomic.Int64
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for id := range queue {
						d, err := w.bidding.Decide(ctx, id)
						if err != nil {
							b.Error(err)
							return
						}
						for _, r := range d.Released {
							if err := w.bidding.Release(ctx, r.ID); err != nil {
								b.Error(err)
								return
							}
						}
						decided.Add(int64(len(d.Decided)))
					}
				})
			}
			start := time.Now()
			b.SetParallelism(50) // 100 bidders on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := int(next.Add(1))
					a, err := db.AuctionByID(ctx, w.d, w.auctions[k%len(w.auctions)], false)
					if err != nil {
						b.Error(err)
						return
					}
					bid, err := w.bidding.PlaceBid(ctx, w.users[k%len(w.users)], a.ID, auction.MinNextBid(a), "")
					switch {
					case err == nil:
						accepted.Add(1)
						queue <- bid.AuctionID
					case errors.Is(err, auction.ErrBidTooLow):
					default:
						b.Error(err)
						return
					}
				}
			})
			placing := time.Since(start)
			close(queue)
			wg.Wait()
			ds, err := w.bidding.Reconcile(ctx, 0) // what the deciders had not reached
			if err != nil {
				b.Fatal(err)
			}
			decided.Add(int64(auction.CountDecided(ds)))
			if _, err := w.bidding.ReconcileReleases(ctx); err != nil {
				b.Fatal(err)
			}
			total := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(accepted.Load())/placing.Seconds(), "accepted/s")
			b.ReportMetric(float64(decided.Load())/total.Seconds(), "decided/s")
			if decided.Load() != accepted.Load() {
				b.Fatalf("accepted %d, decided %d", accepted.Load(), decided.Load())
			}
			if mode.auctions == 1 {
				w.check(b)
			}
		})
	}
}
