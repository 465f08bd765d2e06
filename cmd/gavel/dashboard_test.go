package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/recommend"
	"github.com/gavelhq/gavel/scheduler"
	"github.com/gavelhq/gavel/testenv"
	"github.com/gavelhq/gavel/worker"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a registry that remembers the name of every metric registered with it.
type recorder struct {
	*prometheus.Registry
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([a-zA-Z0-9_:]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return r.Registry.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// The Grafana dashboard loads (it is valid JSON with panels and queries), and every
// metric its queries name is one that the API, the worker or the scheduler exports.
func TestGrafanaDashboardQueriesExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/dashboards/gavel.json")
	require.NoError(t, err)
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.UID)
	require.NotEmpty(t, dash.Panels)

	rec := &recorder{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
	d := testenv.DB(t)
	rdb := testenv.Redis(t)
	defer rdb.Close()
	s, err := api.NewServer(api.Deps{Log: testenv.Discard(), DB: d, Redis: rdb, SessionSecret: "dashboard-test-secret-long-enough-1234",
		Registry: rec, Recommender: recommend.ClientConfig{URL: "http://127.0.0.1:1"}})
	require.NoError(t, err)
	defer s.Close()
	worker.RegisterMetrics(rec, rdb)
	scheduler.NewMetrics(rec)

	metric := regexp.MustCompile(`\b((?:gavel|go|process)_[a-z_]+)\b`)
	queries := 0
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, target := range p.Targets {
			queries++
			for _, m := range metric.FindAllString(target.Expr, -1) {
				name := m
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(m, suffix); ok && rec.names[base] {
						name = base
					}
				}
				assert.True(t, rec.names[name], "panel %q queries %s, which no role exports", p.Title, m)
			}
		}
	}
	assert.Positive(t, queries)
}
