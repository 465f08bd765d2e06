package worker

import (
	"github.com/gavelhq/gavel/jobs"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// metrics are the worker's: bid decisions by outcome, the time from a bid's acceptance to
// its decision, and the size of each queue.
type metrics struct {
	decided *prometheus.CounterVec
	latency prometheus.Histogram
	events  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, rdb redis.UniversalClient) *metrics {
	m := &metrics{
		decided: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gavel_bids_decided_total", Help: "Bids decided, by status at the end of their decision (leading, outbid, rejected).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gavel_bid_decision_seconds",
			Help: "Time from a bid's placement (its created_at) to the durable commit of its decision, taken when the commit has returned.",
			// 1 ms wide up to 50 ms, where most decisions fall, so that p50 and p99 read
			// from the buckets are exact to a millisecond.
			Buckets: append(prometheus.LinearBuckets(0.001, 0.001, 50),
				.055, .06, .065, .07, .075, .08, .09, .1, .125, .15, .2, .25, .3, .4, .5, .75, 1, 2.5, 5, 10, 30),
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gavel_events_total", Help: "Auction events delivered as notifications and live events, by kind.",
		}, []string{"kind"}),
	}
	if reg == nil {
		return m // counted, but exported nowhere
	}
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gavel_queue_tasks", Help: "Tasks waiting in the Asynq queues (pending, scheduled and retrying), all queues.",
	}, func() float64 {
		var n int
		for q := range jobs.QueueWeights {
			if info, err := inspector.GetQueueInfo(q); err == nil {
				n += info.Pending + info.Scheduled + info.Retry
			}
		}
		return float64(n)
	})
	for _, c := range []prometheus.Collector{m.decided, m.latency, m.events, depth} {
		_ = reg.Register(c) // a second worker in one process shares the first one's collectors
	}
	return m
}

// RegisterMetrics registers the worker's metrics with reg, as Run does, for tools that
// list what the worker exports.
func RegisterMetrics(reg prometheus.Registerer, rdb redis.UniversalClient) { newMetrics(reg, rdb) }
