package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/recommend"
	"github.com/gavelhq/gavel/testenv"
)

// BenchmarkRecommendations sends GET /api/v1/me/recommendations at 200 requests/s for
// 10 s and reports p50 and p99 latencies: with a healthy recommender, and with one that
// hangs once the breaker has opened. Run with -benchtime 1x.
func BenchmarkRecommendations(b *testing.B) {
	for _, mode := range []string{"healthy", "hanging"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				d := testenv.DB(b)
				rdb := testenv.Redis(b)
				ranker := &recommend.Ranker{DB: d, Log: testenv.Discard()}
				release := make(chan struct{})
				rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if mode == "hanging" {
						select {
						case <-release:
						case <-r.Context().Done():
						}
						return
					}
					ranker.Handler().ServeHTTP(w, r)
				}))
				s, err := api.NewServer(api.Deps{Log: testenv.Discard(), DB: d, Redis: rdb, SessionSecret: testSecret,
					Recommender: recommend.ClientConfig{URL: rec.URL}})
				if err != nil {
					b.Fatal(err)
				}
				srv := httptest.NewServer(s)
				jar, _ := cookiejar.New(nil)
				c := &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				post := func(path string, body any) {
					buf, _ := json.Marshal(body)
					res, err := c.Post(srv.URL+path, "application/json", bytes.NewReader(buf))
					if err != nil {
						b.Fatal(err)
					}
					res.Body.Close()
				}
				post("/api/v1/users", map[string]string{"email": "b@example.com", "password": "secret-password",
					"nickname": "b", "birth_date": "1990-01-01", "gender": "female"})
				post("/api/v1/sessions", map[string]string{"email": "b@example.com", "password": "secret-password"})
				get := func() time.Duration {
					start := time.Now()
					res, err := c.Get(srv.URL + "/api/v1/me/recommendations")
					if err != nil || res.StatusCode != http.StatusOK {
						b.Fatalf("recommendations: %v %v", res, err)
					}
					res.Body.Close()
					return time.Since(start)
				}
				if mode == "hanging" {
					for range 5 { // trip the breaker
						get()
					}
				}
				var mu sync.Mutex
				var lat []time.Duration
				var wg sync.WaitGroup
				tick := time.NewTicker(5 * time.Millisecond) // 200/s
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); <-tick.C {
					wg.Go(func() {
						d := get()
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
					})
				}
				tick.Stop()
				wg.Wait()
				close(release)
				srv.Close()
				rec.Close()
				s.Close()
				rdb.Close()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
				b.ReportMetric(float64(len(lat))/10, "req/s")
			}
		})
	}
}
