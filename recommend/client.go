package recommend

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ClientConfig tunes the API's calls to the recommender.
type ClientConfig struct {
	URL string
	// Timeout is how long a call may take before it counts as failed (default 300 ms).
	Timeout time.Duration
	// Failures in a row open the breaker (default 5); while open, calls fail at once.
	Failures uint32
	// OpenFor is how long the breaker stays open before one call tries again (default 10 s).
	OpenFor time.Duration
	// OnState hears the breaker's state changes (may be nil).
	OnState func(gobreaker.State)
}

// Client calls the recommender behind a circuit breaker.
type Client struct {
	cfg     ClientConfig
	http    *http.Client
	breaker *gobreaker.CircuitBreaker[[]int64]
}

// NewClient returns a client of the recommender at cfg.URL.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	if cfg.Failures == 0 {
		cfg.Failures = 5
	}
	if cfg.OpenFor <= 0 {
		cfg.OpenFor = 10 * time.Second
	}
	st := gobreaker.Settings{
		Name:        "recommender",
		Timeout:     cfg.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.Failures },
	}
	if cfg.OnState != nil {
		st.OnStateChange = func(_ string, _, to gobreaker.State) { cfg.OnState(to) }
	}
	return &Client{cfg: cfg, http: &http.Client{Timeout: cfg.Timeout}, breaker: gobreaker.NewCircuitBreaker[[]int64](st)}
}

// State is the breaker's state.
func (c *Client) State() gobreaker.State { return c.breaker.State() }

// Recommend asks for up to limit auctions for a user of that age and gender. A slow,
// failing or garbled answer is an error, and so is every call while the breaker is open.
func (c *Client) Recommend(ctx context.Context, age int, gender string, limit int) ([]int64, error) {
	return c.breaker.Execute(func() ([]int64, error) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
		q := url.Values{"age": {strconv.Itoa(age)}, "gender": {gender}, "limit": {strconv.Itoa(limit)}}
		req, err := http.NewRequestWithContext(ctx, "GET", c.cfg.URL+"/recommendations?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		res, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("recommender: %s", res.Status)
		}
		var out Response
		if err := json.NewDecoder(http.MaxBytesReader(nil, res.Body, 1<<20)).Decode(&out); err != nil {
			return nil, fmt.Errorf("recommender: bad answer: %w", err)
		}
		if out.AuctionIDs == nil {
			return nil, fmt.Errorf("recommender: answer without auction_ids")
		}
		return out.AuctionIDs, nil
	})
}
