// Package likes records likes in Redis as they come and writes them to the database in
// batches: a like or unlike is one HSET of the user's latest choice for the auction, and
// the scheduler's flush-likes job moves the whole batch to the database in three
// statements. Once flushed, likes no longer depend on Redis.
package likes

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
)

// Keys of the batch being filled and of the one being flushed.
const (
	pendingKey  = "gavel:{likes}:pending" // one hash slot: the batch is renamed
	flushingKey = "gavel:{likes}:flushing"
)

// ErrNotFound is returned for a like of an auction that does not exist.
var ErrNotFound = auction.ErrNotFound

// Service records likes and flushes them.
type Service struct {
	DB    *db.DB
	Redis redis.UniversalClient
}

func field(auctionID, userID int64) string {
	return strconv.FormatInt(auctionID, 10) + ":" + strconv.FormatInt(userID, 10)
}

// Set records the user's like (liked) or unlike of the auction; repeating it is harmless.
func (s *Service) Set(ctx context.Context, auctionID, userID int64, liked bool) error {
	if _, err := db.AuctionByID(ctx, s.DB, auctionID, false); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return ErrNotFound
		}
		return err
	}
	v := "0"
	if liked {
		v = "1"
	}
	if err := s.Redis.HSet(ctx, pendingKey, field(auctionID, userID), v).Err(); err != nil {
		return fmt.Errorf("record like: %w", err)
	}
	return nil
}

// Pending returns the user's choice for the auction that is not flushed yet, if any.
func (s *Service) Pending(ctx context.Context, auctionID, userID int64) (liked, ok bool, err error) {
	f := field(auctionID, userID)
	for _, key := range []string{pendingKey, flushingKey} { // the newer batch first
		v, err := s.Redis.HGet(ctx, key, f).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return false, false, err
		}
		return v == "1", true, nil
	}
	return false, false, nil
}

// Waiting returns how many like changes wait in Redis for their flush: those of the
// batch being filled and of one whose flush has not finished.
func (s *Service) Waiting(ctx context.Context) (int64, error) {
	var n int64
	for _, key := range []string{pendingKey, flushingKey} {
		m, err := s.Redis.HLen(ctx, key).Result()
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

// takeBatch makes the batch being filled the one being flushed, unless a flush that did
// not finish left one: that one is flushed first.
var takeBatch = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1
`)

// Flush writes the recorded likes to the database, a batch at a time, until none is
// left (at most ten batches, so that a steady stream of likes cannot hold it), and returns
// how many changes it wrote. A flush that dies half way leaves its
// batch in Redis and the next one writes it again, which changes nothing twice.
func (s *Service) Flush(ctx context.Context) (int, error) {
	n := 0
	for range 10 {
		more, err := takeBatch.Run(ctx, s.Redis, []string{pendingKey, flushingKey}).Int()
		if err != nil || more == 0 {
			return n, err
		}
		batch, err := s.Redis.HGetAll(ctx, flushingKey).Result()
		if err != nil {
			return n, err
		}
		changes := make([]db.LikeChange, 0, len(batch))
		for f, v := range batch {
			a, u, _ := strings.Cut(f, ":")
			auctionID, err1 := strconv.ParseInt(a, 10, 64)
			userID, err2 := strconv.ParseInt(u, 10, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			changes = append(changes, db.LikeChange{AuctionID: auctionID, UserID: userID, Liked: v == "1"})
		}
		if err := s.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
			return db.ApplyLikes(ctx, tx, changes)
		}); err != nil {
			return n, fmt.Errorf("flush likes: %w", err)
		}
		if err := s.Redis.Del(ctx, flushingKey).Err(); err != nil {
			return n, err
		}
		n += len(changes)
	}
	return n, nil
}
