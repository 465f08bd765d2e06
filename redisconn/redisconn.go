// Package redisconn opens Gavel's Redis: a real server from REDIS_URL, or an in-process
// Redis-compatible server (miniredis) for `gavel dev` and tests.
package redisconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
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
	keep       *kept
	stopSaving chan struct{}
	closeOnce  sync.Once
}

// kept is the file that keeps the string keys with a prefix across restarts.
type kept struct{ file, prefix string }

// StartEmbedded starts miniredis on 127.0.0.1 with wall-clock TTLs, so keys with an
// expiry (sessions, throttles, Asynq's locks) expire as they would on Redis.
func StartEmbedded() (*Embedded, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true) // with no SetTime, the clock is the wall clock
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	return &Embedded{Miniredis: m}, nil
}

// keptKey is a saved key: its value and when it expires (zero: never).
type keptKey struct {
	Value     string    `json:"value"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Keep loads the string keys with the prefix from file (those not yet expired, with what
// is left of their TTL), then saves them there every interval and on Close, so that they
// outlive a restart of the process (`gavel dev` keeps its sessions). A missing file is an
// empty one.
func (e *Embedded) Keep(file, prefix string, interval time.Duration) error {
	e.keep = &kept{file: file, prefix: prefix}
	b, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("embedded redis: %w", err)
	}
	if len(b) > 0 {
		var keys map[string]keptKey
		if err := json.Unmarshal(b, &keys); err != nil {
			return fmt.Errorf("embedded redis: %s: %w", file, err)
		}
		now := time.Now()
		for k, v := range keys {
			if !strings.HasPrefix(k, prefix) || (!v.ExpiresAt.IsZero() && !v.ExpiresAt.After(now)) {
				continue
			}
			if err := e.Set(k, v.Value); err != nil {
				return err
			}
			if !v.ExpiresAt.IsZero() {
				e.SetTTL(k, v.ExpiresAt.Sub(now))
			}
		}
	}
	e.stopSaving = make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-e.stopSaving:
				return
			case <-t.C:
				_ = e.save()
			}
		}
	}()
	return nil
}

// save writes the kept keys to their file, replacing it whole.
func (e *Embedded) save() error {
	keys := map[string]keptKey{}
	now := time.Now()
	for _, k := range e.Keys() {
		if !strings.HasPrefix(k, e.keep.prefix) {
			continue
		}
		v, err := e.Get(k)
		if err != nil {
			continue // not a string
		}
		kk := keptKey{Value: v}
		if ttl := e.TTL(k); ttl > 0 {
			kk.ExpiresAt = now.Add(ttl)
		}
		keys[k] = kk
	}
	b, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	tmp := e.keep.file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, e.keep.file)
}

// Close saves the kept keys (see Keep) and stops the server.
func (e *Embedded) Close() {
	e.closeOnce.Do(func() {
		if e.keep != nil {
			close(e.stopSaving)
			_ = e.save()
		}
		e.Miniredis.Close()
	})
}

// URL is the redis:// address of the embedded server.
func (e *Embedded) URL() string { return "redis://" + e.Addr() + "/0" }
