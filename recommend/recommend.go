// Package recommend ranks open auctions for each segment of users (age band x gender)
// from recent bid logs, keeps the ranking in memory, refreshes it periodically, and
// serves it over HTTP: the `gavel recommender` role. The API calls it through Client.
package recommend

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gavelhq/gavel/db"
)

// Window is how far back bid logs count.
const Window = 7 * 24 * time.Hour

// halfLife is how fast a bid's weight fades: a bidder of a day ago counts half.
const halfLife = 24 * time.Hour

// Band is the age band of api/openapi.yaml: <20, 20-29, 30-39, 40-49, 50-59, 60+.
func Band(age int) string {
	switch {
	case age < 20:
		return "<20"
	case age >= 60:
		return "60+"
	default:
		lo := age / 10 * 10
		return fmt.Sprintf("%d-%d", lo, lo+9)
	}
}

// Segment is an age band and a gender.
type Segment struct{ Band, Gender string }

// Ranker holds the ranking of every segment.
type Ranker struct {
	DB  *db.DB
	Log *slog.Logger

	mu      sync.RWMutex
	ranks   map[Segment][]int64
	updated time.Time
}

// Refresh recomputes the ranking: for each segment, the open auctions scored by the
// distinct bidders of the segment who bid on them in the window, each weighted by how
// recent their last bid there was.
func (r *Ranker) Refresh(ctx context.Context) error {
	now := time.Now()
	rows, err := db.RecentBidders(ctx, r.DB, now.Add(-Window))
	if err != nil {
		return err
	}
	scores := map[Segment]map[int64]float64{}
	for _, b := range rows {
		seg := Segment{Band(b.Age), b.Gender}
		if scores[seg] == nil {
			scores[seg] = map[int64]float64{}
		}
		scores[seg][b.AuctionID] += math.Pow(0.5, now.Sub(b.LastBid).Hours()/halfLife.Hours())
	}
	ranks := make(map[Segment][]int64, len(scores))
	for seg, byAuction := range scores {
		ids := make([]int64, 0, len(byAuction))
		for id := range byAuction {
			ids = append(ids, id)
		}
		slices.SortFunc(ids, func(a, b int64) int {
			if d := byAuction[b] - byAuction[a]; d != 0 {
				if d > 0 {
					return 1
				}
				return -1
			}
			return int(b - a)
		})
		ranks[seg] = ids
	}
	r.mu.Lock()
	r.ranks, r.updated = ranks, now
	r.mu.Unlock()
	return nil
}

// Top returns up to limit auctions for the segment, best first.
func (r *Ranker) Top(seg Segment, limit int) []int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := r.ranks[seg]
	out := make([]int64, min(limit, len(ids))) // never nil: an empty segment is an answer
	copy(out, ids)
	return out
}

// Run refreshes the ranking every `every` until ctx is done.
func (r *Ranker) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("recommender: refresh", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Response is the recommender's answer.
type Response struct {
	AuctionIDs []int64 `json:"auction_ids"`
}

// Handler serves GET /recommendations?age=&gender=&limit= and GET /healthz.
func (r *Ranker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /recommendations", func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		age, err1 := strconv.Atoi(q.Get("age"))
		limit, err2 := strconv.Atoi(q.Get("limit"))
		if err1 != nil || err2 != nil || age < 0 || limit < 1 || limit > 200 || q.Get("gender") == "" {
			http.Error(w, "age, gender and limit (1..200) are required", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Response{AuctionIDs: r.Top(Segment{Band(age), q.Get("gender")}, limit)})
	})
	return mux
}
