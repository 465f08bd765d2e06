package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DecisionHistogram is the worker's histogram of the time from a bid's acceptance to the
// commit of its decision, observed by the worker once the decision's commit has returned.
const DecisionHistogram = "gavel_bid_decision_seconds"

// Histogram is a Prometheus histogram read from /metrics: cumulative counts by upper bound.
type Histogram struct {
	Bounds []float64 // upper bounds in seconds, ascending, +Inf last
	Counts []float64 // cumulative counts, one per bound
	Count  float64
	Help   string // the HELP line the target exports: what it says the histogram measures
}

// ScrapeHistogram reads the histogram `name` from each of the /metrics URLs and adds them
// up (several workers, one histogram). A URL that does not export it counts nothing;
// ok is false when none does.
func ScrapeHistogram(ctx context.Context, client *http.Client, urls []string, name string) (h Histogram, ok bool, err error) {
	byBound := map[float64]float64{}
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return h, false, err
		}
		res, err := client.Do(req)
		if err != nil {
			return h, false, fmt.Errorf("scrape %s: %w", u, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			return h, false, fmt.Errorf("scrape %s: %d %v", u, res.StatusCode, err)
		}
		found, help, err := parseBuckets(string(body), name, byBound)
		if err != nil {
			return h, false, fmt.Errorf("scrape %s: %w", u, err)
		}
		ok = ok || found
		if help != "" {
			h.Help = help
		}
	}
	for b := range byBound {
		h.Bounds = append(h.Bounds, b)
	}
	slices.Sort(h.Bounds)
	for _, b := range h.Bounds {
		h.Counts = append(h.Counts, byBound[b])
	}
	if n := len(h.Counts); n > 0 {
		h.Count = h.Counts[n-1]
	}
	return h, ok, nil
}

// parseBuckets adds the `name_bucket{le="..."} N` lines of a Prometheus text exposition to
// byBound, says whether there were any and returns the histogram's HELP text.
func parseBuckets(text, name string, byBound map[float64]float64) (found bool, help string, err error) {
	prefix := name + "_bucket{"
	for _, line := range strings.Split(text, "\n") {
		if h, ok := strings.CutPrefix(line, "# HELP "+name+" "); ok {
			help = h
		}
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		labels, value, ok := strings.Cut(line[len(prefix):], "} ")
		if !ok {
			return found, help, fmt.Errorf("malformed line %q", line)
		}
		_, le, ok := strings.Cut(labels, `le="`)
		if !ok {
			return found, help, fmt.Errorf("no le label in %q", line)
		}
		le, _, _ = strings.Cut(le, `"`)
		bound, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
		if err != nil {
			return found, help, fmt.Errorf("bad le in %q", line)
		}
		value, _, _ = strings.Cut(strings.TrimSpace(value), " ") // a timestamp may follow
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return found, help, fmt.Errorf("bad count in %q", line)
		}
		byBound[bound] += n
		found = true
	}
	return found, help, nil
}

// Sub is what h counted since before was read (both from the same processes).
func (h Histogram) Sub(before Histogram) Histogram {
	prev := map[float64]float64{}
	for i, b := range before.Bounds {
		prev[b] = before.Counts[i]
	}
	out := Histogram{Bounds: slices.Clone(h.Bounds), Count: h.Count - before.Count, Help: h.Help}
	for i, b := range h.Bounds {
		out.Counts = append(out.Counts, h.Counts[i]-prev[b])
	}
	return out
}

// Quantile estimates the q-quantile by linear interpolation inside the bucket it falls in
// (the lower bound of the first bucket is 0), as PromQL's histogram_quantile does. When it
// falls in the +Inf bucket it returns the highest finite bound and above is true: the
// quantile is at least that.
func (h Histogram) Quantile(q float64) (d time.Duration, above bool) {
	if h.Count <= 0 || len(h.Bounds) == 0 {
		return 0, false
	}
	rank := q * h.Count
	lower, below := 0.0, 0.0
	for i, b := range h.Bounds {
		if h.Counts[i] >= rank {
			if math.IsInf(b, 1) {
				return seconds(lower), true
			}
			in := h.Counts[i] - below
			v := b
			if in > 0 {
				v = lower + (b-lower)*(rank-below)/in
			}
			return seconds(v), false
		}
		lower, below = b, h.Counts[i]
	}
	return seconds(lower), true
}

// Width is the width of the bucket the q-quantile falls in: how far off the interpolation
// can be.
func (h Histogram) Width(q float64) time.Duration {
	rank := q * h.Count
	lower := 0.0
	for i, b := range h.Bounds {
		if h.Counts[i] >= rank && h.Count > 0 {
			if math.IsInf(b, 1) {
				return 0
			}
			return seconds(b - lower)
		}
		lower = b
	}
	return 0
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// DecisionLatency is the worker's decision histogram over one bidding run.
type DecisionLatency struct {
	Help               string  // what the target says the histogram measures
	Observed           float64 // decisions the histogram counted during the run
	P50, P99           time.Duration
	P50Above, P99Above bool          // the quantile is past the last finite bucket
	P50Width, P99Width time.Duration // the buckets' widths: the interpolation's margin
}

// MeasureDecisionLatency reads the worker's decision histogram again once VerifyBids has
// seen every bid decided, and takes away the reading from before the bidding. The worker
// observes a decision just after its commit returns, so it waits up to 5 s for the
// histogram to have counted `decided` decisions. It returns nil when no metrics URL
// exported the histogram.
func MeasureDecisionLatency(ctx context.Context, run *BidRun, decided int) (*DecisionLatency, error) {
	if !run.HistogramOK {
		return nil, nil
	}
	var h Histogram
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		after, _, err := ScrapeHistogram(ctx, http.DefaultClient, run.metricsURLs, DecisionHistogram)
		if err != nil {
			return nil, err
		}
		h = after.Sub(run.Histogram)
		if h.Count >= float64(decided) || time.Now().After(deadline) {
			break
		}
	}
	l := &DecisionLatency{Observed: h.Count, Help: h.Help}
	l.P50, l.P50Above = h.Quantile(0.50)
	l.P99, l.P99Above = h.Quantile(0.99)
	l.P50Width, l.P99Width = h.Width(0.50), h.Width(0.99)
	return l, nil
}
