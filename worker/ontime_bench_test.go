package worker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/jobs"
	"github.com/gavelhq/gavel/scheduler"
	"github.com/gavelhq/gavel/testenv"
	"github.com/gavelhq/gavel/worker"
)

// BenchmarkOnTimeTransitions lists 1,000 auctions starting within one second and lasting
// five seconds, with a worker and a scheduler (batches every second) running as in production,
// and reports how late each opened (its updated_at, as nobody bids) and closed
// (closed_at) after its start and end: p50, p99 and max in milliseconds. Run with
// -benchtime 1x: one iteration is the whole lifecycle.
func BenchmarkOnTimeTransitions(b *testing.B) {
	const n = 1000
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		d := testenv.DB(b)
		rdb := testenv.Redis(b)
		done := make(chan struct{}, 2)
		go func() {
			_ = worker.Run(ctx, testenv.Discard(), d, rdb, worker.Config{ShutdownTimeout: time.Second})
			done <- struct{}{}
		}()
		go func() {
			js := scheduler.Jobs(scheduler.Deps{Log: testenv.Discard(), DB: d, Redis: rdb})
			_ = scheduler.Run(ctx, testenv.Discard(), js, time.Second, nil)
			done <- struct{}{}
		}()
		seller := &db.User{Email: "s@example.com", EmailKey: "s@example.com", PasswordHash: "x", Nickname: "s",
			BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "other"}
		if err := db.InsertUser(ctx, d, seller); err != nil {
			b.Fatal(err)
		}
		catalogue := &auction.Catalogue{DB: d, Log: testenv.Discard(),
			Transitions: jobs.NewEnqueuer(rdb, testenv.Discard(), false)}
		first := time.Now().Add(8 * time.Second) // listing 1,000 on SQLite takes a few seconds
		for i := range n {
			name, price := fmt.Sprintf("Lot %d", i), int64(100)
			start := first.Add(time.Duration(i) * time.Millisecond)
			end := start.Add(5 * time.Second)
			if _, err := catalogue.Create(ctx, seller.ID, auction.AuctionInput{Name: &name, StartPrice: &price, StartAt: &start, EndAt: &end}); err != nil {
				b.Fatal(err)
			}
		}
		if time.Now().After(first) {
			b.Fatal("listing took longer than the lead time")
		}
		var opened, closed []float64
		wait := func(until time.Time) {
			time.Sleep(time.Until(until))
		}
		wait(first.Add(n*time.Millisecond + 1500*time.Millisecond)) // every start passed, no end yet
		var as []db.Auction
		if err := d.NewSelect().Model(&as).Scan(ctx); err != nil {
			b.Fatal(err)
		}
		for _, a := range as {
			if a.Status == db.StatusPending {
				opened = append(opened, a.UpdatedAt.Sub(a.StartAt).Seconds()*1000)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			as = as[:0]
			if err := d.NewSelect().Model(&as).Where("status = ?", db.StatusDone).Scan(ctx); err != nil {
				b.Fatal(err)
			}
			if len(as) == n || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, a := range as {
			closed = append(closed, a.ClosedAt.Sub(a.EndAt).Seconds()*1000)
		}
		cancel()
		<-done
		<-done
		if len(opened) != n || len(closed) != n {
			b.Fatalf("opened %d and closed %d of %d in time", len(opened), len(closed), n)
		}
		for _, m := range []struct {
			what string
			ms   []float64
		}{{"open", opened}, {"close", closed}} {
			slices.Sort(m.ms)
			b.ReportMetric(m.ms[len(m.ms)/2], m.what+"_p50_ms")
			b.ReportMetric(m.ms[len(m.ms)*99/100], m.what+"_p99_ms")
			b.ReportMetric(m.ms[len(m.ms)-1], m.what+"_max_ms")
		}
	}
}
