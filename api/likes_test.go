package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/likes"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// 100 like and unlike calls from 25 users at once: liked_by_me follows each user at once,
// like_count is exact after a flush, and the likes survive losing Redis.
func TestLikesAreBatchedThroughRedis(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller := h.login("seller")
	a := seller.createAuction(t, "Chair", 100, time.Hour)
	path := fmt.Sprintf("/api/v1/auctions/%d/like", a.ID)
	assert.Equal(t, http.StatusUnauthorized, h.client().do("PUT", path, nil).status)
	assert.Equal(t, http.StatusNotFound, seller.do("PUT", "/api/v1/auctions/999999/like", nil).status)

	users := make([]*client, 25)
	for i := range users {
		users[i] = h.login(fmt.Sprintf("liker%d", i))
	}
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			// like, unlike, like, and for odd users unlike again: 100 calls in all
			steps := []string{"PUT", "DELETE", "PUT", "PUT"}
			if i%2 == 1 {
				steps[3] = "DELETE"
			}
			for _, m := range steps {
				assert.Equal(t, http.StatusNoContent, u.do(m, path, nil).status)
			}
		})
	}
	wg.Wait()
	var got auctionOut
	users[0].do("GET", fmt.Sprintf("/api/v1/auctions/%d", a.ID), nil).decode(t, &got)
	assert.True(t, got.LikedByMe, "liked_by_me at once")
	assert.EqualValues(t, 0, got.LikeCount, "like_count waits for the flush")
	users[1].do("GET", fmt.Sprintf("/api/v1/auctions/%d", a.ID), nil).decode(t, &got)
	assert.False(t, got.LikedByMe)

	svc := &likes.Service{DB: h.db, Redis: h.redis}
	waiting, err := svc.Waiting(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 25, waiting, "one change per user waits for the flush")
	n, err := svc.Flush(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 25, n, "one change per user: the latest")
	waiting, err = svc.Waiting(context.Background())
	require.NoError(t, err)
	assert.Zero(t, waiting)
	n, err = svc.Flush(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n)
	seller.do("GET", fmt.Sprintf("/api/v1/auctions/%d", a.ID), nil).decode(t, &got)
	assert.EqualValues(t, 13, got.LikeCount, "the 13 users whose last call was a like")
	rows, err := h.db.NewSelect().Model((*db.Like)(nil)).Where("auction_id = ?", a.ID).Count(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 13, rows)
	var me struct {
		ID int64 `json:"id"`
	}
	users[0].do("GET", "/api/v1/me", nil).decode(t, &me)

	require.NoError(t, h.redis.FlushDB(context.Background()).Err()) // sessions go too
	h.client().do("GET", fmt.Sprintf("/api/v1/auctions/%d", a.ID), nil).decode(t, &got)
	assert.EqualValues(t, 13, got.LikeCount, "flushed likes survive losing Redis")
	liked, err := h.db.NewSelect().Model((*db.Like)(nil)).Where("auction_id = ? AND user_id = ?", a.ID, me.ID).Exists(context.Background())
	require.NoError(t, err)
	assert.True(t, liked)
}

// A flush that died after taking its batch leaves it in Redis: the next flush writes it,
// then the newer batch, so the latest choice wins and nothing is lost.
func TestAnInterruptedLikeFlushIsFinished(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller, u := h.login("seller"), h.login("u")
	a := seller.createAuction(t, "Table", 100, time.Hour)
	b := seller.createAuction(t, "Bench", 100, time.Hour)
	require.Equal(t, http.StatusNoContent, u.do("PUT", fmt.Sprintf("/api/v1/auctions/%d/like", a.ID), nil).status)
	require.Equal(t, http.StatusNoContent, u.do("PUT", fmt.Sprintf("/api/v1/auctions/%d/like", b.ID), nil).status)
	// The batch is taken, then the flush dies before writing it.
	require.NoError(t, h.redis.Rename(context.Background(), "gavel:{likes}:pending", "gavel:{likes}:flushing").Err())
	require.Equal(t, http.StatusNoContent, u.do("DELETE", fmt.Sprintf("/api/v1/auctions/%d/like", b.ID), nil).status)

	svc := &likes.Service{DB: h.db, Redis: h.redis}
	waiting, err := svc.Waiting(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 3, waiting, "the taken batch's two and the newer one")
	n, err := svc.Flush(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	for id, want := range map[int64]int64{a.ID: 1, b.ID: 0} {
		var got auctionOut
		u.do("GET", fmt.Sprintf("/api/v1/auctions/%d", id), nil).decode(t, &got)
		assert.Equal(t, want, got.LikeCount, "auction %d", id)
		assert.Equal(t, want == 1, got.LikedByMe)
	}
}
