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
	"github.com/gavelhq/gavel/live"
)

// SSEOptions configure RunSSE.
type SSEOptions struct {
	BaseURL  string
	Clients  int // event streams held open
	Auctions int // the streams are spread over them
	Bidders  int
	BidRate  int // bids per second, all bidders together
	Duration time.Duration
	// DebugURL, when set, is the API's pprof listener: a heap profile there with gc=1
	// collects garbage before each memory reading, so the readings compare live memory.
	DebugURL string
	Log      *slog.Logger
}

// SSERun is what RunSSE measured.
type SSERun struct {
	Connected    int
	Events       int64 // price events delivered, all clients together
	Lost         int64 // events some client of an auction got and another, connected throughout, did not
	OutOfOrder   int64
	Bids         int64
	P50, P99     time.Duration // from the decision (the event's `at`) to delivery
	Max          time.Duration
	BytesPerConn float64 // growth of the API's resident memory per connection
	HeapPerConn  float64 // growth of its Go heap in use per connection
}

// RunSSE lists the auctions, opens Clients streams on them, then bids at BidRate for
// Duration, and measures for every price event how long after the decision it reached
// each client; at the end it checks that every client of an auction got the same events
// in the same order. Memory per connection is read from the API's /metrics before and
// after the streams open.
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
	got := make([][]string, o.Clients)
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
						At string `json:"at"`
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
					got[i] = append(got[i], id)
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
	time.Sleep(3 * time.Second) // the last decisions and their events
	stopStreams()
	readers.Wait()

	run := &SSERun{Connected: int(opened.Load()), Events: events.Load(), OutOfOrder: outOfOrder.Load(), Bids: bids.Load()}
	if n := float64(run.Connected); n > 0 {
		run.BytesPerConn = (rssAfter - rssBefore) / n
		run.HeapPerConn = (heapAfter - heapBefore) / n
	}
	// Every client of an auction was connected throughout: each must have every event
	// any of them got.
	union := map[int64]map[string]bool{}
	for i, evs := range got {
		a := ids[i%len(ids)]
		if union[a] == nil {
			union[a] = map[string]bool{}
		}
		for _, id := range evs {
			union[a][id] = true
		}
	}
	for i, evs := range got {
		run.Lost += int64(len(union[ids[i%len(ids)]]) - len(evs))
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		run.P50, run.P99, run.Max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return run, nil
}

// memory reads the API's resident memory and Go heap in use from its /metrics.
func (o SSEOptions) memory(ctx context.Context) (rss, heap float64) {
	if o.DebugURL != "" {
		req, _ := http.NewRequestWithContext(ctx, "GET", o.DebugURL+"/debug/pprof/heap?gc=1", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", o.BaseURL+"/metrics", nil)
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
