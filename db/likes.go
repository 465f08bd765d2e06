package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Like is a user's like of an auction.
type Like struct {
	bun.BaseModel `bun:"table:likes,alias:l"`

	AuctionID int64     `bun:"auction_id,pk"`
	UserID    int64     `bun:"user_id,pk"`
	CreatedAt time.Time `bun:"created_at"`
}

// LikeChange is the latest like or unlike of one user for one auction.
type LikeChange struct {
	AuctionID, UserID int64
	Liked             bool
}

// ApplyLikes writes a batch of like changes: the likes in one statement, the unlikes in
// another, then each touched auction's like_count recounted in a third. Applying the same
// batch again changes nothing. Changes for auctions that no longer exist are dropped.
func ApplyLikes(ctx context.Context, idb bun.IDB, changes []LikeChange) error {
	var likes []Like
	var unlikes strings.Builder
	touched := map[int64]bool{}
	now := time.Now().UTC()
	for _, c := range changes {
		touched[c.AuctionID] = true
		if c.Liked {
			likes = append(likes, Like{AuctionID: c.AuctionID, UserID: c.UserID, CreatedAt: now})
			continue
		}
		if unlikes.Len() > 0 {
			unlikes.WriteString(", ")
		}
		fmt.Fprintf(&unlikes, "(%d, %d)", c.AuctionID, c.UserID)
	}
	ids := make([]int64, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	// Only auctions that still exist (one may have been deleted while READY).
	var live []int64
	if err := idb.NewSelect().Model((*Auction)(nil)).Column("a.id").Where("a.id IN (?)", bun.List(ids)).
		Scan(ctx, &live); err != nil {
		return fmt.Errorf("apply likes: %w", err)
	}
	exists := map[int64]bool{}
	for _, id := range live {
		exists[id] = true
	}
	kept := likes[:0]
	for _, l := range likes {
		if exists[l.AuctionID] {
			kept = append(kept, l)
		}
	}
	if len(kept) > 0 {
		if _, err := idb.NewInsert().Model(&kept).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("apply likes: %w", err)
		}
	}
	if unlikes.Len() > 0 {
		if _, err := idb.NewRaw("DELETE FROM likes WHERE (auction_id, user_id) IN (VALUES " + unlikes.String() + ")").
			Exec(ctx); err != nil {
			return fmt.Errorf("apply unlikes: %w", err)
		}
	}
	if len(live) > 0 {
		_, err := idb.NewRaw(`UPDATE auctions SET like_count = (SELECT count(*) FROM likes WHERE likes.auction_id = auctions.id)
			WHERE id IN (?)`, bun.List(live)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("recount likes: %w", err)
		}
	}
	return nil
}
