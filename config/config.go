// Package config reads Gavel's configuration from the environment, with defaults,
// and refuses bad values before anything starts.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the typed configuration of every role.
type Config struct {
	DatabaseURL    string // postgres://... or sqlite:PATH; empty means the embedded SQLite file
	RedisURL       string // redis://...; empty means the in-process server (dev only)
	HTTPAddr       string
	DataDir        string
	BatchEvery     time.Duration
	BatchSize      int // GAVEL_BATCH_SIZE: auctions per chunk of the scheduler's batches
	RecommenderURL string
	SessionSecret  string
	CookieSecure   bool
	LogFormat      string // text or json
	LogLevel       slog.Level
	TrustedProxies []string      // GAVEL_TRUSTED_PROXIES: comma-separated IPs or CIDRs of load balancers
	DebugAddr      string        // GAVEL_DEBUG_ADDR: where to serve pprof; empty: nowhere
	ListCacheTTL   time.Duration // GAVEL_LIST_CACHE_TTL: micro-cache of public list pages; 0 turns it off
	MetricsAddr    string        // GAVEL_METRICS_ADDR: where every role serves /metrics (never on the API listener)
	DecideOneByOne bool          // GAVEL_DECIDE_ONE_BY_ONE: one bid per decision transaction (benchmarks)
	// SignupPerIPHour (GAVEL_SIGNUP_PER_IP_HOUR) limits sign-ups per client IP and hour;
	// 0 turns the limit off.
	SignupPerIPHour int
	// StreamsPerIP (GAVEL_STREAMS_PER_IP) limits the event streams a client IP holds open
	// on one API instance; 0 turns the limit off.
	StreamsPerIP int
	// MaxReadyAuctions (GAVEL_MAX_READY_AUCTIONS) caps the READY auctions one seller may
	// have; 0: no cap.
	MaxReadyAuctions int
	// CORSOrigins (GAVEL_CORS_ORIGINS) are the browser apps' origins, comma-separated,
	// that get CORS headers; none: CORS is off.
	CORSOrigins []string
}

// Load reads the configuration through getenv. Unset variables take their defaults;
// a set but invalid variable is an error that names it.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL:    strings.TrimSpace(getenv("DATABASE_URL")),
		RedisURL:       strings.TrimSpace(getenv("REDIS_URL")),
		HTTPAddr:       orDefault(getenv("GAVEL_HTTP_ADDR"), ":8080"),
		DataDir:        orDefault(getenv("GAVEL_DATA_DIR"), "./data"),
		RecommenderURL: strings.TrimSpace(getenv("GAVEL_RECOMMENDER_URL")),
		SessionSecret:  getenv("GAVEL_SESSION_SECRET"),
		LogFormat:      orDefault(getenv("GAVEL_LOG_FORMAT"), "text"),
		DebugAddr:      strings.TrimSpace(getenv("GAVEL_DEBUG_ADDR")),
		MetricsAddr:    strings.TrimSpace(getenv("GAVEL_METRICS_ADDR")),
	}
	var errs []error
	bad := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", name, err)) }

	if c.DatabaseURL != "" {
		if err := checkDatabaseURL(c.DatabaseURL); err != nil {
			bad("DATABASE_URL", err)
		}
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		switch {
		case err != nil:
			bad("REDIS_URL", err)
		case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "redis-sentinel" && u.Scheme != "unix":
			bad("REDIS_URL", fmt.Errorf("scheme %q is not redis, rediss, redis-sentinel or unix", u.Scheme))
		}
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("GAVEL_HTTP_ADDR", err)
	}
	c.ListCacheTTL = time.Second
	if v := strings.TrimSpace(getenv("GAVEL_LIST_CACHE_TTL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			bad("GAVEL_LIST_CACHE_TTL", errors.New("must be a duration from 0s to 1m"))
		}
		c.ListCacheTTL = d
	}
	c.BatchEvery = time.Minute
	if v := strings.TrimSpace(getenv("GAVEL_BATCH_EVERY")); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("GAVEL_BATCH_EVERY", err)
		case d < time.Second:
			bad("GAVEL_BATCH_EVERY", errors.New("must be at least 1s"))
		default:
			c.BatchEvery = d
		}
	}
	c.BatchSize = 500
	if v := strings.TrimSpace(getenv("GAVEL_BATCH_SIZE")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			bad("GAVEL_BATCH_SIZE", errors.New("must be a whole number from 1 to 10000"))
		} else {
			c.BatchSize = n
		}
	}
	for name, addr := range map[string]string{"GAVEL_DEBUG_ADDR": c.DebugAddr, "GAVEL_METRICS_ADDR": c.MetricsAddr} {
		if addr != "" {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				bad(name, err)
			}
		}
	}
	if v := strings.TrimSpace(getenv("GAVEL_DECIDE_ONE_BY_ONE")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("GAVEL_DECIDE_ONE_BY_ONE", err)
		}
		c.DecideOneByOne = b
	}
	if c.RecommenderURL != "" {
		if u, err := url.Parse(c.RecommenderURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("GAVEL_RECOMMENDER_URL", errors.New("must be an http(s) URL"))
		}
	}
	if v := strings.TrimSpace(getenv("GAVEL_COOKIE_SECURE")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("GAVEL_COOKIE_SECURE", err)
		}
		c.CookieSecure = b
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("GAVEL_LOG_FORMAT", fmt.Errorf("%q is not text or json", c.LogFormat))
	}
	if v := strings.TrimSpace(getenv("GAVEL_LOG_LEVEL")); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			bad("GAVEL_LOG_LEVEL", err)
		}
	}
	for _, p := range strings.Split(getenv("GAVEL_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		_, _, cidrErr := net.ParseCIDR(p)
		if net.ParseIP(p) == nil && cidrErr != nil {
			bad("GAVEL_TRUSTED_PROXIES", fmt.Errorf("%q is not an IP or CIDR", p))
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	// An unset secret stays empty: `gavel api` refuses to start, `gavel dev` keeps one in
	// GAVEL_DATA_DIR (DevSessionSecret).
	if c.SessionSecret != "" && len(c.SessionSecret) < 32 {
		bad("GAVEL_SESSION_SECRET", errors.New("must be at least 32 characters"))
	}
	c.MaxReadyAuctions = 100
	if raw := strings.TrimSpace(getenv("GAVEL_MAX_READY_AUCTIONS")); raw != "" {
		if n, err := strconv.Atoi(raw); err != nil || n < 0 || n > 1_000_000 {
			bad("GAVEL_MAX_READY_AUCTIONS", errors.New("must be a whole number from 0 (no limit) to 1000000"))
		} else {
			c.MaxReadyAuctions = n
		}
	}
	c.SignupPerIPHour = 20
	c.StreamsPerIP = 50
	for _, v := range []struct {
		name string
		dst  *int
	}{{"GAVEL_SIGNUP_PER_IP_HOUR", &c.SignupPerIPHour}, {"GAVEL_STREAMS_PER_IP", &c.StreamsPerIP}} {
		if raw := strings.TrimSpace(getenv(v.name)); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 0 || n > 1_000_000 {
				bad(v.name, errors.New("must be a whole number from 0 (no limit) to 1000000"))
				continue
			}
			*v.dst = n
		}
	}
	for _, o := range strings.Split(getenv("GAVEL_CORS_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			bad("GAVEL_CORS_ORIGINS", fmt.Errorf("%q is not an origin such as https://app.example.com", o))
			continue
		}
		c.CORSOrigins = append(c.CORSOrigins, o)
	}
	return c, errors.Join(errs...)
}

// Embedded reports whether the process runs on the embedded database and Redis.
func (c Config) Embedded() bool { return c.DatabaseURL == "" || c.RedisURL == "" }

func checkDatabaseURL(s string) error {
	if path, ok := strings.CutPrefix(s, "sqlite:"); ok {
		if path == "" {
			return errors.New("sqlite: needs a file path")
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("scheme %q is not postgres or sqlite", u.Scheme)
	}
	return nil
}

// LogValue prints the configuration with its secrets masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("database_url", maskURL(c.DatabaseURL, "embedded sqlite")),
		slog.String("redis_url", maskURL(c.RedisURL, "embedded miniredis")),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("data_dir", c.DataDir),
		slog.Duration("batch_every", c.BatchEvery),
		slog.Int("batch_size", c.BatchSize),
		slog.String("recommender_url", maskURL(c.RecommenderURL, "in-process")),
		slog.String("session_secret", mask(c.SessionSecret)),
		slog.Bool("cookie_secure", c.CookieSecure),
		slog.String("log_format", c.LogFormat),
		slog.String("log_level", c.LogLevel.String()),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.String("debug_addr", c.DebugAddr),
		slog.Duration("list_cache_ttl", c.ListCacheTTL),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.Bool("decide_one_by_one", c.DecideOneByOne),
		slog.Int("signup_per_ip_hour", c.SignupPerIPHour),
		slog.Int("streams_per_ip", c.StreamsPerIP),
		slog.Int("max_ready_auctions", c.MaxReadyAuctions),
		slog.Any("cors_origins", c.CORSOrigins),
	)
}

func mask(secret string) string {
	if secret == "" {
		return "(unset)"
	}
	return fmt.Sprintf("***(%d chars)", len(secret))
}

// DevSessionSecret is `gavel dev`'s session secret when none is configured: made once
// and kept in dataDir/session-secret (mode 0600), so that a restart logs nobody out and
// cursors stay valid.
func DevSessionSecret(dataDir string) (string, error) {
	file := filepath.Join(dataDir, "session-secret")
	if b, err := os.ReadFile(file); err == nil {
		if s := strings.TrimSpace(string(b)); len(s) >= 32 {
			return s, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("session secret: %w", err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	s := hex.EncodeToString(b)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", fmt.Errorf("session secret: %w", err)
	}
	if err := os.WriteFile(file, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("session secret: %w", err)
	}
	return s, nil
}

func maskURL(s, empty string) string {
	if s == "" {
		return empty
	}
	u, err := url.Parse(s)
	if err != nil {
		return "***"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
	}
	return u.Redacted()
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v == "" {
		return def
	}
	return v
}
