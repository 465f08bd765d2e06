package api

import (
	"net/http"

	"github.com/gavelhq/gavel/db"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bids     *prometheus.CounterVec
}

func newHTTPMetrics(reg prometheus.Registerer, d *db.DB) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gavel_http_requests_total", Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gavel_http_request_duration_seconds", Help: "HTTP request latency by method and route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
	}
	m.bids = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gavel_bids_placed_total", Help: "Bids received, by result (accepted, or the problem code).",
	}, []string{"result"})
	reg.MustRegister(m.requests, m.latency, m.bids)
	reg.MustRegister(collectors.NewDBStatsCollector(d.DB.DB, "gavel"))
	// Process and Go runtime metrics belong to the process; register them once per registry.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Metrics serves the server's registry in the Prometheus text format. It is not a route
// of the API: the process serves it on GAVEL_METRICS_ADDR, which stays private.
func (s *Server) Metrics() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}
