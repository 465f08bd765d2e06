package recommend

import (
	"context"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
)

// Sources of a recommendation list.
const (
	Personalized = "personalized"
	Fallback     = "fallback"
)

// Service answers GET /api/v1/me/recommendations.
type Service struct {
	DB     *db.DB
	Client *Client // nil: always the fallback
}

// For returns up to limit open auctions for the user, not the user's own: the
// recommender's ranking for the user's segment when it answers in time with any, else the
// most liked open auctions. Only a database failure is an error.
func (s *Service) For(ctx context.Context, userID int64, limit int) ([]db.AuctionSummary, string, error) {
	u, err := db.UserByID(ctx, s.DB, userID)
	if err != nil {
		return nil, "", err
	}
	if s.Client != nil {
		age := auction.Age(u.BirthDate, time.Now())
		// Ask for a few more: the user's own and the ended ones are left out here.
		if ids, err := s.Client.Recommend(ctx, age, u.Gender, limit+10); err == nil && len(ids) > 0 {
			items, err := db.OpenSummaries(ctx, s.DB, ids, userID)
			if err != nil {
				return nil, "", err
			}
			if len(items) > 0 {
				return items[:min(limit, len(items))], Personalized, nil
			}
		}
	}
	items, err := db.PopularOpen(ctx, s.DB, userID, int64(limit))
	return items, Fallback, err
}
