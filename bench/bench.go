// Package bench is Gavel's load generator: it drives the real HTTP API with N concurrent
// clients for a duration and reports requests/s, latency percentiles and errors.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Report is the outcome of one load run.
type Report struct {
	Name      string
	Requests  int
	Errors    int
	Elapsed   time.Duration
	Mean, P50 time.Duration
	P90, P99  time.Duration
	Max       time.Duration
}

// RPS is the rate of requests, errors included.
func (r Report) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

func (r Report) String() string {
	return fmt.Sprintf("%-12s %8.0f req/s  mean %7s  p50 %7s  p90 %7s  p99 %7s  max %7s  requests %d  errors %d",
		r.Name, r.RPS(), round(r.Mean), round(r.P50), round(r.P90), round(r.P99), round(r.Max), r.Requests, r.Errors)
}

// Sum is the runs of one scenario taken together: their requests and errors over their
// time, and their mean latency (percentiles do not add up, so they are left out).
func Sum(runs []Report) Report {
	var r Report
	var total time.Duration
	for _, x := range runs {
		r.Name = x.Name
		r.Requests += x.Requests
		r.Errors += x.Errors
		r.Elapsed += x.Elapsed
		total += x.Mean * time.Duration(x.Requests)
		r.Max = max(r.Max, x.Max)
	}
	if r.Requests > 0 {
		r.Mean = total / time.Duration(r.Requests)
	}
	return r
}

// Brief is String without the percentiles, for a Sum.
func (r Report) Brief() string {
	return fmt.Sprintf("%-12s %8.0f req/s  mean %7s  requests %d  errors %d", r.Name, r.RPS(), round(r.Mean), r.Requests, r.Errors)
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// Load sends GETs to the URLs (round robin per client) from `clients` goroutines for
// `duration`, each waiting for its answer before sending the next (a closed loop).
func Load(ctx context.Context, client *http.Client, name string, urls []string, clients int, duration time.Duration) Report {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	lat := make([][]time.Duration, clients)
	errs := make([]int, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range clients {
		wg.Go(func() {
			buf := make([]time.Duration, 0, 4096)
			for i := w; ctx.Err() == nil; i++ {
				t0 := time.Now()
				ok := get(ctx, client, urls[i%len(urls)])
				if ctx.Err() != nil {
					break // cut off by the end of the run: not counted
				}
				buf = append(buf, time.Since(t0))
				if !ok {
					errs[w]++
				}
			}
			lat[w] = buf
		})
	}
	wg.Wait()
	r := Report{Name: name, Elapsed: time.Since(start)}
	var all []time.Duration
	for w := range clients {
		all = append(all, lat[w]...)
		r.Errors += errs[w]
	}
	r.Requests = len(all)
	if len(all) == 0 {
		return r
	}
	slices.Sort(all)
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	r.Mean = sum / time.Duration(len(all))
	at := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	r.P50, r.P90, r.P99, r.Max = at(0.50), at(0.90), at(0.99), all[len(all)-1]
	return r
}

func get(ctx context.Context, client *http.Client, u string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// NewClient is an HTTP client that keeps a connection per concurrent client.
func NewClient(clients int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2,
			IdleConnTimeout: time.Minute,
		},
	}
}

// Scenario is one listing query to load.
type Scenario struct {
	Name string
	// URLs returns the URLs to load; it may walk pages first.
	URLs func(ctx context.Context, client *http.Client, base string) ([]string, error)
}

func fixed(paths ...string) func(context.Context, *http.Client, string) ([]string, error) {
	return func(_ context.Context, _ *http.Client, base string) ([]string, error) {
		var out []string
		for _, p := range paths {
			out = append(out, base+p)
		}
		return out, nil
	}
}

// ListScenarios are the listing cases of the catalogue issue.
var ListScenarios = []Scenario{
	{Name: "newest", URLs: fixed("/api/v1/auctions?limit=20")},
	{Name: "deep-5000", URLs: deepPage(5000)},
	{Name: "ending-soon", URLs: fixed(
		"/api/v1/auctions?sort=ending_soon&status=PENDING&min_price=100&max_price=5000&limit=20")},
	{Name: "search", URLs: fixed(
		"/api/v1/auctions?q=watch&limit=20", "/api/v1/auctions?q=camera&limit=20",
		"/api/v1/auctions?q=guitar&limit=20", "/api/v1/auctions?q=lamp&limit=20")},
	{Name: "search-mix", URLs: searchMix},
}

// searchMix is the long tail of searches the list cache does not serve: common and rare
// words, two words, prefixes, Hangul and accented words (of the seed's vocabulary), each
// with every sort, in turn.
func searchMix(_ context.Context, _ *http.Client, base string) ([]string, error) {
	terms := []string{"watch", "camera", "lamp", "sextant", "abacus", "barometer", "vintage camera",
		"swiss watch", "leather jacket", "cam", "gui", "wat", "카메라", "시계", "빈티", "café", "müller"}
	sorts := []string{"newest", "ending_soon", "price_asc", "price_desc", "most_bids", "popular"}
	var out []string
	for i, t := range terms {
		for j := range sorts {
			sort := sorts[(i+j)%len(sorts)]
			out = append(out, base+"/api/v1/auctions?limit=20&sort="+sort+"&q="+url.QueryEscape(t))
		}
	}
	return out, nil
}

// deepPage walks newest-first pages of 100 until `depth` items are behind, and loads the
// page of 20 that starts there.
func deepPage(depth int) func(context.Context, *http.Client, string) ([]string, error) {
	return func(ctx context.Context, client *http.Client, base string) ([]string, error) {
		cursor := ""
		for seen := 0; seen < depth; seen += 100 {
			u := base + "/api/v1/auctions?limit=100"
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			res, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			var page struct {
				NextCursor *string `json:"next_cursor"`
			}
			err = json.NewDecoder(res.Body).Decode(&page)
			res.Body.Close()
			if err != nil || page.NextCursor == nil {
				return nil, fmt.Errorf("walking to depth %d: %v (fewer items than that?)", depth, err)
			}
			cursor = *page.NextCursor
		}
		return []string{base + "/api/v1/auctions?limit=20&cursor=" + url.QueryEscape(cursor)}, nil
	}
}
