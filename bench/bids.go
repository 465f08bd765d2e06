package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gavelhq/gavel/auction"
)

// BidOptions configure a bidding load run.
type BidOptions struct {
	BaseURL  string
	Bidders  int
	Auctions int // 1 for a hot auction
	Duration time.Duration
	Log      *slog.Logger
	// ProxyShare is the share of bids sent as proxy bids (0..1), each up to a few increments
	// above the amount a straight bid would offer.
	ProxyShare float64
	// MetricsURLs are the /metrics of the processes that run the worker (in `gavel dev`,
	// its GAVEL_METRICS_ADDR): the worker's decision histogram is read there before and
	// after the run.
	MetricsURLs []string
}

// BidRun is what a bidding load run did, for the report and the checks.
type BidRun struct {
	Run        string // the e-mail tag of this run's users
	Accepted   int
	Refused    map[int]int // by status
	Errors     int
	Elapsed    time.Duration
	P50, P99   time.Duration // of the answer to POST .../bids
	AuctionIDs []int64
	Charged    int64 // points charged to each bidder
	// AcceptedIDs are the IDs of the bids answered 202 or 201, from the answers' bodies.
	AcceptedIDs []int64
	// Histogram is the worker's decision histogram read just before the bidding began;
	// HistogramOK says whether some metrics URL exported it.
	Histogram   Histogram
	HistogramOK bool
	metricsURLs []string
}

// user is one signed-in browser.
type user struct {
	c  *http.Client
	id int64
}

func (o BidOptions) call(ctx context.Context, c *http.Client, method, path string, body any, out any) (int, error) {
	return o.callProblem(ctx, c, method, path, body, out, nil)
}

// callProblem is call that also decodes an error answer's problem into problem, when given.
func (o BidOptions) callProblem(ctx context.Context, c *http.Client, method, path string, body, out, problem any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, o.BaseURL+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	switch {
	case out != nil && res.StatusCode < 300:
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res.StatusCode, err
		}
	case problem != nil && res.StatusCode >= 400:
		_ = json.NewDecoder(res.Body).Decode(problem)
		_, _ = io.Copy(io.Discard, res.Body)
	default:
		_, _ = io.Copy(io.Discard, res.Body)
	}
	return res.StatusCode, nil
}

// signIn signs up and logs in a new user with its own cookie jar.
func (o BidOptions) signIn(ctx context.Context, transport http.RoundTripper, email string) (*user, error) {
	jar, _ := cookiejar.New(nil)
	u := &user{c: &http.Client{Transport: transport, Jar: jar, Timeout: 30 * time.Second}}
	creds := map[string]string{"email": email, "password": "bench-password"}
	signup := map[string]string{"email": email, "password": "bench-password", "nickname": "bencher", "birth_date": "1990-01-01", "gender": "other"}
	var me struct {
		ID int64 `json:"id"`
	}
	if st, err := o.call(ctx, u.c, "POST", "/api/v1/users", signup, &me); err != nil || st != http.StatusCreated {
		return nil, fmt.Errorf("sign up %s: %d %v", email, st, err)
	}
	if st, err := o.call(ctx, u.c, "POST", "/api/v1/sessions", creds, nil); err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("log in %s: %d %v", email, st, err)
	}
	u.id = me.ID
	return u, nil
}

// parallel runs fn(i) for i in [0, n) on `workers` goroutines and returns the first error.
func parallel(n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

// RunBids signs up a seller and the bidders, lists the auctions, charges the bidders and
// then has every bidder bid as fast as answers come for the duration. Each bidder offers
// the least that beats the highest bid any bidder of this run has placed on the auction.
func RunBids(ctx context.Context, o BidOptions) (*BidRun, error) {
	transport := &http.Transport{MaxIdleConns: o.Bidders * 2, MaxIdleConnsPerHost: o.Bidders * 2, IdleConnTimeout: time.Minute}
	run := &BidRun{Run: fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff), Refused: map[int]int{}, Charged: 300_000_000}
	email := func(who string) string { return fmt.Sprintf("bench-%s-%s@example.com", run.Run, who) }
	seller, err := o.signIn(ctx, transport, email("seller"))
	if err != nil {
		return nil, err
	}
	o.Log.Info("bench: listing auctions", "count", o.Auctions)
	run.AuctionIDs = make([]int64, o.Auctions)
	start, end := time.Now().Add(-30*time.Second).UTC(), time.Now().Add(time.Hour).UTC()
	err = parallel(o.Auctions, 32, func(i int) error {
		var a struct {
			ID int64 `json:"id"`
		}
		st, err := o.call(ctx, seller.c, "POST", "/api/v1/auctions", map[string]any{
			"name": fmt.Sprintf("Bench lot %d", i), "start_price": 100,
			"start_at": start.Format(time.RFC3339), "end_at": end.Format(time.RFC3339)}, &a)
		if err != nil || st != http.StatusCreated {
			return fmt.Errorf("create auction: %d %v", st, err)
		}
		run.AuctionIDs[i] = a.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The auctions' opening tasks are setup, not load: bid once they are all open.
	o.Log.Info("bench: waiting for the auctions to open")
	err = parallel(o.Auctions, 32, func(i int) error {
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
			var a struct {
				Status string `json:"status"`
			}
			st, err := o.call(ctx, seller.c, "GET", fmt.Sprintf("/api/v1/auctions/%d", run.AuctionIDs[i]), nil, &a)
			if err == nil && st == http.StatusOK && a.Status != "READY" {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("auction %d still not open: %d %v", run.AuctionIDs[i], st, err)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	o.Log.Info("bench: signing up and charging bidders", "count", o.Bidders)
	bidders := make([]*user, o.Bidders)
	err = parallel(o.Bidders, 16, func(i int) error {
		u, err := o.signIn(ctx, transport, email(fmt.Sprint(i)))
		if err != nil {
			return err
		}
		for range run.Charged / 10_000_000 {
			if st, err := o.call(ctx, u.c, "POST", "/api/v1/me/points/charges", map[string]int64{"amount": 10_000_000}, nil); err != nil || st != http.StatusCreated {
				return fmt.Errorf("charge: %d %v", st, err)
			}
		}
		bidders[i] = u
		return nil
	})
	if err != nil {
		return nil, err
	}

	run.metricsURLs = o.MetricsURLs
	if len(o.MetricsURLs) > 0 {
		if run.Histogram, run.HistogramOK, err = ScrapeHistogram(ctx, http.DefaultClient, o.MetricsURLs, DecisionHistogram); err != nil {
			return nil, err
		}
	}
	highest := make([]atomic.Int64, o.Auctions)
	o.Log.Info("bench: bidding", "bidders", o.Bidders, "auctions", o.Auctions, "duration", o.Duration)
	loadCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	began := time.Now()
	var wg sync.WaitGroup
	for w, u := range bidders {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			var mine []time.Duration
			var ids []int64
			refused := map[int]int{}
			accepted, errs := 0, 0
			for loadCtx.Err() == nil {
				k := r.IntN(o.Auctions)
				h := highest[k].Load()
				amount := int64(100)
				if h > 0 {
					amount = h + auction.Increment(h)
				}
				t0 := time.Now()
				// A bid in flight when the time is up is seen through, not cut off: the server
				// may place it all the same, and the checks must count it and wait for it.
				var bid struct {
					ID int64 `json:"id"`
				}
				body := map[string]int64{"amount": amount}
				if r.Float64() < o.ProxyShare {
					// Its amount is what the others see as the highest offer, so later straight
					// bids often fall below its maximum: it defends, changing the price.
					body = map[string]int64{"max_amount": amount + int64(r.IntN(4))*auction.Increment(amount)}
				}
				var problem struct {
					MinNextBid int64 `json:"min_next_bid"`
				}
				st, err := o.callProblem(ctx, u.c, "POST", fmt.Sprintf("/api/v1/auctions/%d/bids", run.AuctionIDs[k]), body, &bid, &problem)
				mine = append(mine, time.Since(t0))
				switch {
				case err != nil || st >= 500:
					errs++
				case st == http.StatusAccepted || st == http.StatusCreated:
					accepted++
					ids = append(ids, bid.ID)
					seen := amount
					if o.ProxyShare > 0 {
						// A proxy's maximum may defend against it, one increment above it.
						seen += auction.Increment(amount)
					}
					for cur := highest[k].Load(); seen > cur && !highest[k].CompareAndSwap(cur, seen); cur = highest[k].Load() {
					}
				default:
					refused[st]++
					if st == http.StatusUnprocessableEntity {
						// Too low, most likely: someone offered at least as much meanwhile. With
						// proxy bids the price jumps where no client's offer shows it (a defence,
						// a proxy leading above the maximum it beat), so the client takes the
						// minimum the problem names, as a real one would.
						seen := amount
						if o.ProxyShare > 0 && problem.MinNextBid > 0 {
							seen = problem.MinNextBid - 1
						}
						for cur := highest[k].Load(); seen > cur && !highest[k].CompareAndSwap(cur, seen); cur = highest[k].Load() {
						}
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			run.AcceptedIDs = append(run.AcceptedIDs, ids...)
			run.Accepted += accepted
			run.Errors += errs
			for st, n := range refused {
				run.Refused[st] += n
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	run.Elapsed = time.Since(began)
	slices.Sort(lat)
	if len(lat) > 0 {
		run.P50, run.P99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return run, nil
}
