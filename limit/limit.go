// Package limit bounds concurrent work: Slots for the whole process (password hashes,
// image decoding, uploads), PerKey for each user or client IP (uploads, event streams).
package limit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrTimeout is Take's answer when no slot freed up within its wait.
var ErrTimeout = errors.New("limit: no slot free in time")

// Slots is a number of slots; each holder of one has a place among at most cap(s).
type Slots chan struct{}

// NewSlots makes n slots.
func NewSlots(n int) Slots { return make(Slots, n) }

// Take waits for a slot, up to wait (wait <= 0: as long as ctx lasts), and returns the
// function that gives it back: ErrTimeout when none freed up in time, or ctx's error.
func (s Slots) Take(ctx context.Context, wait time.Duration) (release func(), err error) {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-timeout:
		return nil, ErrTimeout
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// PerKey counts what each key (a user, a client IP) holds; the zero value is ready.
type PerKey[K comparable] struct {
	mu sync.Mutex
	n  map[K]int
}

// Take counts one more for k unless k already holds max (max <= 0: no limit), and returns
// the function that counts it off again; ok is false when k is at its limit.
func (p *PerKey[K]) Take(k K, max int) (release func(), ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if max > 0 && p.n[k] >= max {
		return nil, false
	}
	if p.n == nil {
		p.n = map[K]int{}
	}
	p.n[k]++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.n[k]--; p.n[k] <= 0 {
				delete(p.n, k)
			}
		})
	}, true
}
