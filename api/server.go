// Package api is Gavel's HTTP API: a Gin server whose routes are listed in routes.go,
// one file per resource, problem+json errors, sessions in Redis and the OpenAPI document.
package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/imagestore"
	"github.com/gavelhq/gavel/likes"
	"github.com/gavelhq/gavel/live"
	"github.com/gavelhq/gavel/recommend"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// Deps are what the API needs from the rest of the program.
type Deps struct {
	Log           *slog.Logger
	DB            *db.DB
	Redis         *redis.Client
	SessionSecret string
	CookieSecure  bool
	// Dashboard is the Asynq dashboard, served to admins under /ops/asynq/.
	Dashboard http.Handler
	// Registry collects the API's metrics and serves them at /metrics; nil makes a new one.
	Registry Registry
	// Images keeps uploaded images' bytes.
	Images imagestore.Store
	// Transitions schedules the opening and closing of auctions on time; nil leaves them
	// to the scheduler's batches.
	Transitions auction.Transitions
	// Decisions queues the decision of every accepted bid; nil leaves it to the reconciliation.
	Decisions auction.DecisionQueue
	// ListCacheTTL is how long a public list page may be served from memory; 0 turns the
	// micro-cache off.
	ListCacheTTL time.Duration
	// Recommender is how to reach the recommender; without a URL, recommendations are
	// always the fallback list.
	Recommender recommend.ClientConfig
	// Heartbeat is how often an idle event stream gets a comment line (default 15 s).
	Heartbeat time.Duration
	// StreamWriteTimeout cuts an event stream whose client accepts nothing for that long
	// (default 10 s).
	StreamWriteTimeout time.Duration
	// TrustedProxies are the addresses (IPs or CIDRs) whose X-Forwarded-For is believed
	// when deciding a client's IP; none by default.
	TrustedProxies []string
	// SignupsPerIPHour limits sign-ups per client IP and hour (429); 0: no limit.
	SignupsPerIPHour int
	// StreamsPerIP limits the event streams one client IP holds open on this instance
	// (429); 0: no limit. NotificationStreamsPerUser limits a user's notification streams
	// (default 10).
	StreamsPerIP, NotificationStreamsPerUser int
	// CORSOrigins are the browser apps' origins (scheme://host[:port]) that get CORS
	// headers and may send state-changing requests with a session; none by default.
	CORSOrigins []string
	// BodyTimeout is how long a request body may take to arrive after its headers
	// (default 30 s; then 408).
	BodyTimeout time.Duration
	// MaxReadyAuctions caps the READY (not yet started) auctions one seller may have
	// (409 too_many_auctions beyond); 0: no limit.
	MaxReadyAuctions int
	// UploadsPerUser caps one user's image uploads in progress on this instance (default 2;
	// 429 beyond), UploadsInFlight all of them (default 8); an upload over the latter waits
	// up to UploadQueueWait (default 2 s) for a slot, then gets 503.
	UploadsPerUser, UploadsInFlight int
	UploadQueueWait                 time.Duration
}

// Server is the HTTP API.
type Server struct {
	log          *slog.Logger
	db           *db.DB
	redis        *redis.Client
	accounts     *auction.Accounts
	wallet       *auction.Wallet
	catalogue    *auction.Catalogue
	listCache    *listCache
	bidding      *auction.Bidding
	notifier     *auction.Notifier
	likes        *likes.Service
	recs         *recommend.Service
	hub          *live.Hub
	heartbeat    time.Duration
	writeTimeout time.Duration
	stopLive     context.CancelFunc
	throttle     *loginThrottle
	uploads      *uploadGate
	signups      *signupLimit
	streams      *streamLimits
	origins      origins
	bodyTimeout  time.Duration
	cursors      cursorCodec
	metrics      *httpMetrics
	registry     Registry
	engine       *gin.Engine
}

var ginMode sync.Once

// NewServer builds the API with its routes and middleware.
func NewServer(d Deps) (*Server, error) {
	ginMode.Do(func() { gin.SetMode(gin.ReleaseMode) })
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	s := &Server{
		log:          d.Log,
		db:           d.DB,
		redis:        d.Redis,
		accounts:     &auction.Accounts{DB: d.DB},
		wallet:       &auction.Wallet{DB: d.DB},
		catalogue:    &auction.Catalogue{DB: d.DB, Images: d.Images, Transitions: d.Transitions, Log: d.Log, MaxReady: d.MaxReadyAuctions},
		uploads:      newUploadGate(d.Registry, d.UploadsPerUser, d.UploadsInFlight, d.UploadQueueWait),
		throttle:     &loginThrottle{rdb: d.Redis},
		signups:      &signupLimit{rdb: d.Redis, perHour: d.SignupsPerIPHour},
		streams:      &streamLimits{perIP: d.StreamsPerIP, perUser: d.NotificationStreamsPerUser},
		origins:      origins{allowed: d.CORSOrigins},
		bodyTimeout:  d.BodyTimeout,
		cursors:      cursorCodec{key: derive(d.SessionSecret, "cursor")},
		registry:     d.Registry,
		metrics:      newHTTPMetrics(d.Registry, d.DB),
		listCache:    newListCache(d.ListCacheTTL),
		bidding:      &auction.Bidding{DB: d.DB, Queue: d.Decisions, Log: d.Log, Holds: holdBatcher(d.DB)},
		notifier:     &auction.Notifier{DB: d.DB},
		likes:        &likes.Service{DB: d.DB, Redis: d.Redis},
		hub:          live.NewHub(d.Log),
		heartbeat:    d.Heartbeat,
		writeTimeout: d.StreamWriteTimeout,
	}
	if s.heartbeat <= 0 {
		s.heartbeat = 15 * time.Second
	}
	if s.writeTimeout <= 0 {
		s.writeTimeout = 10 * time.Second
	}
	if s.streams.perUser <= 0 {
		s.streams.perUser = 10
	}
	if s.bodyTimeout <= 0 {
		s.bodyTimeout = 30 * time.Second
	}
	if h := s.bidding.Holds; h != nil {
		// Their ratio is the mean number of bids that shared a statement and a commit.
		_ = d.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gavel_bid_placement_statements_total", Help: "Statements that placed bids without an idempotency key (PostgreSQL).",
		}, func() float64 { n, _ := h.Stats(); return float64(n) }))
		_ = d.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gavel_bid_placement_bids_total", Help: "Bids without an idempotency key sent to those statements.",
		}, func() float64 { _, n := h.Stats(); return float64(n) }))
	}
	var liveCtx context.Context
	liveCtx, s.stopLive = context.WithCancel(context.Background())
	go s.hub.Run(liveCtx, d.Redis)
	s.recs = &recommend.Service{DB: d.DB}
	if d.Recommender.URL != "" {
		state := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gavel_recommender_breaker_state", Help: "The recommender circuit breaker: 0 closed, 1 half-open, 2 open.",
		})
		_ = d.Registry.Register(state)
		cfg := d.Recommender
		cfg.OnState = func(st gobreaker.State) { state.Set(float64(st)) }
		s.recs.Client = recommend.NewClient(cfg)
	}
	_ = d.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gavel_sse_clients", Help: "Event streams open on this API instance.",
	}, func() float64 { return float64(s.hub.Clients()) }))
	s.engine = gin.New()
	s.engine.HandleMethodNotAllowed = true
	s.engine.ContextWithFallback = true
	if err := s.engine.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, fmt.Errorf("api: trusted proxies: %w", err)
	}
	s.routes(newRedisStore(d.Redis, derive(d.SessionSecret, "session"), d.CookieSecure), d.Dashboard)
	return s, nil
}

// Registry is where metrics are registered and gathered from (a *prometheus.Registry).
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// Close stops the live events: every stream ends, so that a graceful shutdown does not
// wait for them.
func (s *Server) Close() { s.stopLive() }

// LiveReady is closed once the server receives live events.
func (s *Server) LiveReady() <-chan struct{} { return s.hub.Ready() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { serveHead(s.engine, w, r) }

// Routes lists every route the server serves, for the test that checks the OpenAPI document.
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

// derive makes a purpose-specific key from the configured secret.
func derive(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("gavel/" + purpose))
	return m.Sum(nil)
}

// holdBatcher is the API's bid placement batcher on PostgreSQL (nil on SQLite, which has
// one writer at a time): up to four batches in flight, of up to 64 bids each.
func holdBatcher(d *db.DB) *db.HoldBatcher {
	if d.Kind != db.Postgres {
		return nil
	}
	return db.NewHoldBatcher(d, 4, 64)
}
