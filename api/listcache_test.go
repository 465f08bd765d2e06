package api

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestListCacheComputesOncePerTTL(t *testing.T) {
	lc := newListCache(50 * time.Millisecond)
	var calls atomic.Int32
	compute := func() ([]byte, bool) {
		calls.Add(1)
		time.Sleep(5 * time.Millisecond)
		return []byte("page"), true
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			b, ok := lc.get("q=a", compute)
			assert.True(t, ok)
			assert.Equal(t, "page", string(b))
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, calls.Load(), "concurrent misses share one computation")
	lc.get("q=b", compute)
	assert.EqualValues(t, 2, calls.Load(), "another query is another entry")
	time.Sleep(60 * time.Millisecond)
	lc.get("q=a", compute)
	assert.EqualValues(t, 3, calls.Load(), "an expired entry is computed again")

	fails := 0
	failing := func() ([]byte, bool) { fails++; return nil, false }
	_, ok := lc.get("bad", failing)
	assert.False(t, ok)
	_, ok = lc.get("bad", failing)
	assert.False(t, ok)
	assert.Equal(t, 2, fails, "failures are not cached")

	var off *listCache
	_, ok = off.get("x", compute)
	assert.True(t, ok, "a nil cache computes every time")
}
