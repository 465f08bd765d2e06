package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/live"
)

// SSEOptions configure RunSSE.
type SSEOptions struct {
	BaseURL string
	// MetricsURL is the API's /metrics (on its GAVEL_METRICS_ADDR), read for its memory.
	MetricsURL string
	Clients    int // event streams held open
	Auctions   int // the streams are spread over them
	Bidders    int
	BidRate    int // bids per second, all bidders together
	Duration   time.Duration
	// DebugURL, when set, is the API's pprof listener: a heap profile there with gc=1
	// collects garbage before each memory reading, so the readings compare live memory.
	DebugURL string
	Log      *slog.Logger
	// DB, when set, is the API's database: the price changes it recorded for the watched
	// auctions are what every stream must have received, and losses are counted against
	// them. Without it nothing is said about losses.
	DB *db.DB
}

// SSERun is what RunSSE measured.
type SSERun struct {
	Connected  int
	Events     int64 // price events delivered, all clients together
	OutOfOrder int64
	Bids       int64
	// With a database (SSEOptions.DB): Changes is the number of price changes it recorded
	// for the watched auctions (per auction and decision round that changed the leading
	// bid, the round's highest leading bid); Superseded the bids that took the lead and
	// lost it in the same round, whose price was never the auction's after a commit and has
	// no event; Lost, summed over the connected streams, the changes of its auction a stream
	// did not receive; Unpublished those of them no stream of the auction received;
	// Unexpected the prices streams received that the database has no change for; Pending
	// the bids still undecided after a minute.
	Checked                       bool
	Changes, Superseded           int
	Lost, Unpublished, Unexpected int64
	Pending                       int
	P50, P99                      time.Duration // from the event's `at` (the decision transaction's now()) to delivery
	Max                           time.Duration
	BytesPerConn                  float64 // growth of the API's resident memory per connection
	HeapPerConn                   float64 // growth of its Go heap in use per connection
}

// RunSSE lists the auctions, opens Clients streams on them, then bids at BidRate for
// Duration, and measures for every price event how long after the decision it reached
// each client, and whether each stream's events came in order. With a database it then
// waits for every bid to be decided and every stream to reach its auction's last price,
// and counts, per stream, the price changes the database recorded for its auction that
// the stream did not receive. Memory per connection is read from the API's /metrics
// before and after the streams open.
func RunSSE(ctx context.Context, o SSEOptions) (*SSERun, error) {
	bo := BidOptions{BaseURL: o.BaseURL, Log: o.Log}
	transport := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	tag := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff)
	seller, err := bo.signIn(ctx, transport, fmt.Sprintf("sse-%s-seller@example.com", tag))
	if err != nil {
		return nil, err
	}
	ids := make([]int64, o.Auctions)
	start, end := time.Now().Add(-30*time.Second).UTC(), time.Now().Add(time.Hour).UTC()
	if err := parallel(o.Auctions, 16, func(i int) error {
		var a struct {
			ID int64 `json:"id"`
		}
		st, err := bo.call(ctx, seller.c, "POST", "/api/v1/auctions", map[string]any{"name": fmt.Sprintf("SSE lot %d", i),
			"start_price": 100, "start_at": start.Format(time.RFC3339), "end_at": end.Format(time.RFC3339)}, &a)
		if err != nil || st != http.StatusCreated {
			return fmt.Errorf("create auction: %d %v", st, err)
		}
		ids[i] = a.ID
		return nil
	}); err != nil {
		return nil, err
	}
	bidders := make([]*user, o.Bidders)
	if err := parallel(o.Bidders, 8, func(i int) error {
		u, err := bo.signIn(ctx, transport, fmt.Sprintf("sse-%s-%d@example.com", tag, i))
		if err != nil {
			return err
		}
		for range 3 {
			if st, err := bo.call(ctx, u.c, "POST", "/api/v1/me/points/charges", map[string]int64{"amount": 10_000_000}, nil); err != nil || st != http.StatusCreated {
				return fmt.Errorf("charge: %d %v", st, err)
			}
		}
		bidders[i] = u
		return nil
	}); err != nil {
		return nil, err
	}

	rssBefore, heapBefore := o.memory(ctx)
	o.Log.Info("bench sse: connecting", "clients", o.Clients)
	streamTransport := &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}
	var mu sync.Mutex
	var lat []time.Duration
	got := make([][]int64, o.Clients) // the prices each stream received, in order
	top := make([]atomic.Int64, o.Clients)
	isOpen := make([]atomic.Bool, o.Clients)
	var events, outOfOrder atomic.Int64
	var connected sync.WaitGroup
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var readers sync.WaitGroup
	var failed atomic.Int64
	var opened atomic.Int64
	for i := range o.Clients {
		connected.Add(1)
		readers.Go(func() {
			auctionID := ids[i%len(ids)]
			req, _ := http.NewRequestWithContext(streamCtx, "GET", fmt.Sprintf("%s/api/v1/auctions/%d/stream", o.BaseURL, auctionID), nil)
			res, err := (&http.Client{Transport: streamTransport}).Do(req)
			if err != nil || res.StatusCode != http.StatusOK {
				failed.Add(1)
				connected.Done()
				return
			}
			defer res.Body.Close()
			opened.Add(1)
			isOpen[i].Store(true)
			connected.Done()
			r := bufio.NewReaderSize(res.Body, 1024)
			var id, event, last string
			var mine []time.Duration
			first := true
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					break
				}
				line = strings.TrimRight(line, "\n")
				switch {
				case strings.HasPrefix(line, "id: "):
					id = line[4:]
				case strings.HasPrefix(line, "event: "):
					event = line[7:]
				case strings.HasPrefix(line, "data: ") && event == "price":
					now := time.Now()
					if first { // the current state, not a decision
						first, last = false, id
						continue
					}
					var d struct {
						At           string `json:"at"`
						CurrentPrice int64  `json:"current_price"`
					}
					if json.Unmarshal([]byte(line[6:]), &d) == nil {
						if at, err := time.Parse(time.RFC3339Nano, d.At); err == nil {
							mine = append(mine, now.Sub(at))
						}
					}
					if !live.StreamIDLess(last, id) {
						outOfOrder.Add(1)
					}
					last = id
					got[i] = append(got[i], d.CurrentPrice)
					top[i].Store(max(top[i].Load(), d.CurrentPrice))
					events.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
		if i%500 == 499 {
			time.Sleep(50 * time.Millisecond) // do not open them all in the same instant
		}
	}
	connected.Wait()
	if f := failed.Load(); f > 0 {
		o.Log.Warn("bench sse: streams that did not open", "count", f)
	}
	time.Sleep(2 * time.Second) // let the server settle before reading its memory
	rssAfter, heapAfter := o.memory(ctx)

	o.Log.Info("bench sse: bidding", "rate", o.BidRate, "duration", o.Duration)
	highest := make([]atomic.Int64, len(ids))
	var bids atomic.Int64
	loadCtx, stopLoad := context.WithTimeout(ctx, o.Duration)
	tick := time.NewTicker(time.Second / time.Duration(max(o.BidRate, 1)))
	var bidding sync.WaitGroup
	r := rand.New(rand.NewPCG(1, 2))
	for loadCtx.Err() == nil {
		select {
		case <-loadCtx.Done():
		case <-tick.C:
			k := r.IntN(len(ids))
			u := bidders[r.IntN(len(bidders))]
			bidding.Go(func() {
				h := highest[k].Add(0)
				amount := int64(100)
				if h > 0 {
					amount = h + auction.Increment(h)
				}
				st, err := bo.call(ctx, u.c, "POST", fmt.Sprintf("/api/v1/auctions/%d/bids", ids[k]), map[string]int64{"amount": amount}, nil)
				if err == nil && (st == http.StatusAccepted || st == http.StatusCreated) {
					bids.Add(1)
				}
				if err == nil && st < 500 {
					for cur := highest[k].Load(); amount > cur && !highest[k].CompareAndSwap(cur, amount); cur = highest[k].Load() {
					}
				}
			})
		}
	}
	stopLoad()
	tick.Stop()
	bidding.Wait()
	run := &SSERun{Bids: bids.Load()}
	var changes map[int64][]int64
	if o.DB == nil {
		time.Sleep(3 * time.Second) // the last decisions and their events
	} else {
		var err error
		if changes, err = o.priceChanges(ctx, ids, run); err != nil {
			return nil, err
		}
		// Every stream should end on its auction's last price: wait (up to 10 s) for it.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			behind := false
			for i := range o.Clients {
				if c := changes[ids[i%len(ids)]]; isOpen[i].Load() && len(c) > 0 && top[i].Load() < c[len(c)-1] {
					behind = true
					break
				}
			}
			if !behind {
				break
			}
		}
	}
	stopStreams()
	readers.Wait()

	run.Connected, run.Events, run.OutOfOrder = int(opened.Load()), events.Load(), outOfOrder.Load()
	if n := float64(run.Connected); n > 0 {
		run.BytesPerConn = (rssAfter - rssBefore) / n
		run.HeapPerConn = (heapAfter - heapBefore) / n
	}
	if changes != nil {
		run.Checked = true
		open := make([]bool, o.Clients)
		for i := range open {
			open[i] = isOpen[i].Load()
		}
		run.countLosses(ids, changes, got, open)
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		run.P50, run.P99, run.Max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return run, nil
}

// priceChanges waits (up to a minute) until no bid of the auctions is pending, then
// returns, per auction, the prices the database recorded as the auction's after each
// decision round, ascending: the bids of one round share their decided_at (the round's
// transaction time), and the round's price is its highest bid that took the lead (status
// leading, outbid or won; an outbid bid keeps the decided_at of the round it led in).
func (o SSEOptions) priceChanges(ctx context.Context, auctionIDs []int64, run *SSERun) (map[int64][]int64, error) {
	var bids []db.Bid
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var err error
		if bids, err = db.BidsOfAuctions(ctx, o.DB, auctionIDs); err != nil {
			return nil, err
		}
		run.Pending = 0
		for _, b := range bids {
			if b.Status == db.BidPending {
				run.Pending++
			}
		}
		if run.Pending == 0 || time.Now().After(deadline) {
			break
		}
	}
	changes, superseded := priceChangesOf(bids)
	run.Superseded = superseded
	for _, c := range changes {
		run.Changes += len(c)
	}
	return changes, nil
}

// priceChangesOf is priceChanges on the bids read: per auction, each decision round's
// highest bid that took the lead, ascending, and how many bids took the lead and lost it
// in their own round.
func priceChangesOf(bids []db.Bid) (changes map[int64][]int64, superseded int) {
	type round struct {
		auction int64
		at      time.Time
	}
	price := map[round]int64{}
	for _, b := range bids {
		if b.DecidedAt == nil || (b.Status != db.BidLeading && b.Status != db.BidOutbid && b.Status != db.BidWon) {
			continue
		}
		r := round{b.AuctionID, b.DecidedAt.UTC()}
		p, ok := price[r]
		if ok {
			superseded++
		}
		price[r] = max(p, b.Amount)
	}
	changes = map[int64][]int64{}
	for r, p := range price {
		changes[r.auction] = append(changes[r.auction], p)
	}
	for a := range changes {
		slices.Sort(changes[a])
	}
	return changes, superseded
}

// countLosses compares what each open stream received with its auction's price changes.
func (run *SSERun) countLosses(auctionIDs []int64, changes map[int64][]int64, got [][]int64, open []bool) {
	reached := map[int64]map[int64]bool{} // auction -> prices some stream received
	for i, prices := range got {
		if !open[i] {
			continue
		}
		a := auctionIDs[i%len(auctionIDs)]
		if reached[a] == nil {
			reached[a] = map[int64]bool{}
		}
		want := map[int64]bool{}
		for _, p := range changes[a] {
			want[p] = true
		}
		have := map[int64]bool{}
		for _, p := range prices {
			reached[a][p] = true
			if !want[p] {
				run.Unexpected++
			}
			have[p] = true
		}
		for p := range want {
			if !have[p] {
				run.Lost++
			}
		}
	}
	for a, ps := range changes {
		for _, p := range ps {
			if !reached[a][p] {
				run.Unpublished++
			}
		}
	}
}

// memory reads the API's resident memory and Go heap in use from its /metrics
// (MetricsURL).
func (o SSEOptions) memory(ctx context.Context) (rss, heap float64) {
	if o.DebugURL != "" {
		req, _ := http.NewRequestWithContext(ctx, "GET", o.DebugURL+"/debug/pprof/heap?gc=1", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", o.MetricsURL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			rss = v
		case "go_memstats_heap_inuse_bytes":
			heap = v
		}
	}
	return rss, heap
}
