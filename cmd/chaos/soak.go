package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// sample is one reading of the processes' resources during a soak.
type sample struct {
	at          time.Duration
	api, worker map[string]float64
	redisMem    float64
}

var sampled = []string{"process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "go_goroutines", "go_sql_open_connections"}

func takeSample(at time.Duration, api, worker, redisURL string) sample {
	x := sample{at: at, api: scrape(api + "/metrics"), worker: scrape(worker + "/metrics")}
	if opt, err := redis.ParseURL(redisURL); err == nil {
		c := redis.NewClient(opt)
		if info, err := c.Info(context.Background(), "memory").Result(); err == nil {
			for _, line := range strings.Split(info, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
					x.redisMem, _ = strconv.ParseFloat(v, 64)
				}
			}
		}
		_ = c.Close()
	}
	return x
}

// scrape reads the sampled metrics from a /metrics page (summed over their labels).
func scrape(url string) map[string]float64 {
	out := map[string]float64{}
	res, err := http.Get(url)
	if err != nil {
		return out
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		for _, name := range sampled {
			if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
				if i := strings.LastIndexByte(rest, ' '); i >= 0 {
					v, _ := strconv.ParseFloat(rest[i+1:], 64)
					out[name] += v
				}
			}
		}
	}
	return out
}

// soakTable prints the samples.
func soakTable(samples []sample) []string {
	lines := []string{fmt.Sprintf("%8s %10s %10s %8s %8s %10s %10s %8s %12s", "t", "api RSS", "api heap", "api gor", "api db",
		"wrk RSS", "wrk heap", "wrk gor", "redis mem")}
	for _, x := range samples {
		lines = append(lines, fmt.Sprintf("%7.0fs %9.1fM %9.1fM %8.0f %8.0f %9.1fM %9.1fM %8.0f %11.1fM", x.at.Seconds(),
			x.api["process_resident_memory_bytes"]/1e6, x.api["go_memstats_heap_inuse_bytes"]/1e6, x.api["go_goroutines"],
			x.api["go_sql_open_connections"], x.worker["process_resident_memory_bytes"]/1e6,
			x.worker["go_memstats_heap_inuse_bytes"]/1e6, x.worker["go_goroutines"], x.redisMem/1e6))
	}
	return lines
}
