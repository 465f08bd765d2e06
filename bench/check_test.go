package bench

import (
	"math"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
)

const exposition = `# HELP gavel_bid_decision_seconds Time from a bid's acceptance to the commit of its decision.
# TYPE gavel_bid_decision_seconds histogram
gavel_bid_decision_seconds_bucket{le="0.01"} 10
gavel_bid_decision_seconds_bucket{le="0.02"} 60
gavel_bid_decision_seconds_bucket{le="0.04"} 99
gavel_bid_decision_seconds_bucket{le="+Inf"} 100
gavel_bid_decision_seconds_sum 2.5
gavel_bid_decision_seconds_count 100
gavel_bids_decided_total{outcome="leading"} 100
`

func TestHistogramQuantiles(t *testing.T) {
	byBound := map[float64]float64{}
	found, help, err := parseBuckets(exposition, DecisionHistogram, byBound)
	if err != nil || !found || len(byBound) != 4 || help != "Time from a bid's acceptance to the commit of its decision." {
		t.Fatalf("parse: %v %q %v %v", found, help, err, byBound)
	}
	h := Histogram{Bounds: []float64{0.01, 0.02, 0.04, math.Inf(1)}, Counts: []float64{10, 60, 99, 100}, Count: 100}
	// 50 of 100: 40 of the 50 in (0.01, 0.02], so 0.01 + 0.01*40/50.
	if d, above := h.Quantile(0.5); above || d != 18*time.Millisecond {
		t.Errorf("p50 = %s %v, want 18ms", d, above)
	}
	if d, above := h.Quantile(0.99); above || d != 40*time.Millisecond {
		t.Errorf("p99 = %s %v, want 40ms", d, above)
	}
	if d, above := h.Quantile(0.999); !above || d != 40*time.Millisecond {
		t.Errorf("p99.9 = %s %v, want > 40ms", d, above)
	}
	if w := h.Width(0.5); w != 10*time.Millisecond {
		t.Errorf("width = %s", w)
	}
	before := Histogram{Bounds: h.Bounds, Counts: []float64{10, 10, 10, 10}, Count: 10}
	if d := h.Sub(before); d.Count != 90 || d.Counts[0] != 0 || d.Counts[1] != 50 {
		t.Errorf("sub = %+v", d)
	}
	if d, _ := (Histogram{}).Quantile(0.5); d != 0 {
		t.Errorf("empty histogram: %s", d)
	}
}

func TestAcceptedIsDecided(t *testing.T) {
	now := time.Now()
	decided := func(id int64) db.Bid { return db.Bid{ID: id, Status: db.BidLeading, DecidedAt: &now} }
	bids := []db.Bid{decided(1), decided(2), {ID: 3, Status: db.BidPending}}
	if p := acceptedIsDecided(&BidRun{AcceptedIDs: []int64{1, 2}}, bids[:2]); len(p) != 0 {
		t.Errorf("all decided: %v", p)
	}
	// Bid 3 is pending, bid 4 missing, and the counts differ.
	if p := acceptedIsDecided(&BidRun{AcceptedIDs: []int64{1, 2, 3, 4}}, bids); len(p) != 3 {
		t.Errorf("want count, missing and undecided problems, got %v", p)
	}
	// The database decided a bid nobody was told was accepted.
	if p := acceptedIsDecided(&BidRun{AcceptedIDs: []int64{1}}, bids[:2]); len(p) != 2 {
		t.Errorf("want count and unknown problems, got %v", p)
	}
}

func TestPriceChangesAndLosses(t *testing.T) {
	r1, r2 := time.Now(), time.Now().Add(time.Second)
	bids := []db.Bid{
		{ID: 1, AuctionID: 7, Amount: 100, Status: db.BidOutbid, DecidedAt: &r1},
		{ID: 2, AuctionID: 7, Amount: 110, Status: db.BidOutbid, DecidedAt: &r1}, // same round: 100 never published
		{ID: 3, AuctionID: 7, Amount: 105, Status: db.BidRejected, DecidedAt: &r1},
		{ID: 4, AuctionID: 7, Amount: 120, Status: db.BidLeading, DecidedAt: &r2},
		{ID: 5, AuctionID: 8, Amount: 100, Status: db.BidLeading, DecidedAt: &r2},
	}
	changes, superseded := priceChangesOf(bids)
	if superseded != 1 || len(changes[7]) != 2 || changes[7][0] != 110 || changes[7][1] != 120 || len(changes[8]) != 1 {
		t.Fatalf("changes %v, superseded %d", changes, superseded)
	}
	ids := []int64{7, 8}
	run := &SSERun{}
	// Streams 0 and 2 watch 7, 1 and 3 watch 8; stream 2 missed 110, stream 3 never opened.
	run.countLosses(ids, changes, [][]int64{{110, 120}, {100}, {120, 130}, nil}, []bool{true, true, true, false})
	if run.Lost != 1 || run.Unexpected != 1 || run.Unpublished != 0 {
		t.Errorf("lost %d unexpected %d unpublished %d", run.Lost, run.Unexpected, run.Unpublished)
	}
}

func TestSumTakesRunsTogether(t *testing.T) {
	runs := []Report{
		{Name: "newest", Requests: 100, Errors: 1, Elapsed: time.Second, Mean: 10 * time.Millisecond, Max: 30 * time.Millisecond},
		{Name: "newest", Requests: 300, Errors: 2, Elapsed: 3 * time.Second, Mean: 20 * time.Millisecond, Max: 50 * time.Millisecond},
	}
	s := Sum(runs)
	if s.Name != "newest" || s.Requests != 400 || s.Errors != 3 || s.Elapsed != 4*time.Second || s.Max != 50*time.Millisecond {
		t.Fatalf("sum: %+v", s)
	}
	if s.RPS() != 100 {
		t.Fatalf("rate: %v, want 100 (400 requests in 4 s)", s.RPS())
	}
	if s.Mean != 17500*time.Microsecond { // (100 x 10 ms + 300 x 20 ms) / 400
		t.Fatalf("mean: %v", s.Mean)
	}
}
