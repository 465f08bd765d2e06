package api

import (
	"sync"
	"time"
)

// listCache keeps the bodies of public list pages for a short time (a micro-cache): under
// load, each distinct query reaches the database once per TTL instead of once per request,
// and concurrent misses for one query wait for a single computation. Pages are at most one
// TTL stale; cursors stay valid because they carry their own position.
type listCache struct {
	ttl     time.Duration
	max     int
	mu      sync.Mutex
	entries map[string]*listEntry
}

type listEntry struct {
	done    chan struct{}
	body    []byte
	ok      bool
	expires time.Time
}

func newListCache(ttl time.Duration) *listCache {
	if ttl <= 0 {
		return nil
	}
	return &listCache{ttl: ttl, max: 10_000, entries: map[string]*listEntry{}}
}

// get returns the body cached for key, or computes it once for every caller that asks
// while it is being computed. A failed computation is not cached.
func (lc *listCache) get(key string, compute func() ([]byte, bool)) ([]byte, bool) {
	if lc == nil {
		return compute()
	}
	now := time.Now()
	lc.mu.Lock()
	e := lc.entries[key]
	if e != nil {
		select {
		case <-e.done:
			if now.After(e.expires) || !e.ok {
				e = nil
			}
		default: // being computed: wait for it below
		}
	}
	if e == nil {
		if len(lc.entries) >= lc.max {
			lc.evictLocked(now)
		}
		e = &listEntry{done: make(chan struct{})}
		lc.entries[key] = e
		lc.mu.Unlock()
		e.body, e.ok = compute()
		e.expires = time.Now().Add(lc.ttl)
		close(e.done)
		return e.body, e.ok
	}
	lc.mu.Unlock()
	<-e.done
	if !e.ok {
		return compute()
	}
	return e.body, true
}

// evictLocked drops expired entries, or everything when none has expired.
func (lc *listCache) evictLocked(now time.Time) {
	for k, e := range lc.entries {
		select {
		case <-e.done:
			if now.After(e.expires) {
				delete(lc.entries, k)
			}
		default:
		}
	}
	if len(lc.entries) >= lc.max {
		lc.entries = map[string]*listEntry{}
	}
}
