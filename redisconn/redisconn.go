// Package redisconn opens Gavel's Redis: a real server from REDIS_URL, or an in-process
// Redis-compatible server (miniredis) for `gavel dev` and tests.
package redisconn

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Open connects to the Redis at rawURL and checks that it answers: a server
// (redis://host:port/db, rediss:// for TLS), or a Sentinel-managed one when the URL names
// its master (redis://sentinel1:26379/0?master_name=mymaster&addr=sentinel2:26379): the
// client then asks the sentinels for the current master and follows failovers.
func Open(ctx context.Context, rawURL string) (*redis.Client, error) {
	c, where, err := client(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pingCtx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: connect to %s: %w", where, err)
	}
	return c, nil
}

func client(rawURL string) (*redis.Client, string, error) {
	if u, err := url.Parse(rawURL); err == nil && u.Query().Get("master_name") != "" {
		opt, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, "", err
		}
		opt.PoolSize = 64
		return redis.NewFailoverClient(opt), fmt.Sprintf("master %q through sentinels %v", opt.MasterName, opt.SentinelAddrs), nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, "", err
	}
	opt.PoolSize = 64
	return redis.NewClient(opt), opt.Addr, nil
}

// Embedded is an in-process Redis-compatible server on a loopback port.
type Embedded struct {
	*miniredis.Miniredis
}

// StartEmbedded starts miniredis on 127.0.0.1 with wall-clock TTLs, so keys with an
// expiry (sessions, throttles, Asynq's locks) expire as they would on Redis.
func StartEmbedded() (*Embedded, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true) // with no SetTime, the clock is the wall clock
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	return &Embedded{m}, nil
}

// URL is the redis:// address of the embedded server.
func (e *Embedded) URL() string { return "redis://" + e.Addr() + "/0" }
