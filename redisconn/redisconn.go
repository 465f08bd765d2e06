// Package redisconn opens Gavel's Redis: a real server from REDIS_URL, or an in-process
// Redis-compatible server (miniredis) for `gavel dev` and tests.
package redisconn

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Open connects to the Redis at rawURL (redis://, rediss://) and checks that it answers.
func Open(ctx context.Context, rawURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	opt.PoolSize = 64
	c := redis.NewClient(opt)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pingCtx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: connect to %s: %w", opt.Addr, err)
	}
	return c, nil
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
