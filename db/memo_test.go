package db

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompletionMemoForgets checks what the memo of query words gives back: the
// completions of every word or nothing, nothing once an entry is older than its ttl, a word
// forgotten when it is read with no completion (a search must see the first one at once),
// and at most max words, about half forgotten when full.
func TestCompletionMemoForgets(t *testing.T) {
	clock := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	m := &completionMemo{max: 10, ttl: time.Minute, now: func() time.Time { return clock }}
	camera := []searchTerm{{Word: "camera", Auctions: 3}}
	wat := []searchTerm{{Word: "watch", Auctions: 2}, {Word: "watering", Auctions: 1}}
	_, ok := m.get([]string{"camera"})
	assert.False(t, ok, "an empty memo")
	m.set([]string{"camera", "wat", "zzz"}, [][]searchTerm{camera, wat, nil})
	got, ok := m.get([]string{"wat", "camera"})
	require.True(t, ok)
	assert.Equal(t, [][]searchTerm{wat, camera}, got)
	_, ok = m.get([]string{"camera", "zzz"})
	assert.False(t, ok, "zzz had no completion: it is read every time")

	m.set([]string{"wat"}, [][]searchTerm{nil})
	_, ok = m.get([]string{"wat"})
	assert.False(t, ok, "wat lost its completions: forgotten")

	clock = clock.Add(time.Minute)
	_, ok = m.get([]string{"camera"})
	assert.True(t, ok, "as old as the ttl")
	clock = clock.Add(time.Second)
	_, ok = m.get([]string{"camera"})
	assert.False(t, ok, "older than the ttl")

	for i := range 25 {
		m.set([]string{fmt.Sprint("w", i)}, [][]searchTerm{camera})
		assert.LessOrEqual(t, len(m.words), m.max)
	}
	_, ok = m.get([]string{"w24"})
	assert.True(t, ok, "the word set last is kept")
	assert.Greater(t, len(m.words), m.max/2-1)
}
