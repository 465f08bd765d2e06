package db

import (
	"time"

	"github.com/uptrace/bun"
)

// User is a row of users.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID              int64     `bun:"id,pk,autoincrement"`
	Email           string    `bun:"email"`
	EmailKey        string    `bun:"email_key"`
	PasswordHash    string    `bun:"password_hash"`
	Nickname        string    `bun:"nickname"`
	BirthDate       time.Time `bun:"birth_date"`
	Gender          string    `bun:"gender"`
	Role            string    `bun:"role"`
	PointsAvailable int64     `bun:"points_available"`
	PointsHeld      int64     `bun:"points_held"`
	CreatedAt       time.Time `bun:"created_at"`
	UpdatedAt       time.Time `bun:"updated_at"`
}

// LedgerEntry is one change of one user's balance.
type LedgerEntry struct {
	bun.BaseModel `bun:"table:point_ledger"`

	ID        int64     `bun:"id,pk,autoincrement"`
	UserID    int64     `bun:"user_id"`
	Kind      string    `bun:"kind"`
	Delta     int64     `bun:"delta"`
	HeldDelta int64     `bun:"held_delta"`
	BidID     *int64    `bun:"bid_id"`
	AuctionID *int64    `bun:"auction_id"`
	CreatedAt time.Time `bun:"created_at"`
}

// IdempotencyKey remembers the result of a request made with an Idempotency-Key.
type IdempotencyKey struct {
	bun.BaseModel `bun:"table:idempotency_keys"`

	UserID      int64     `bun:"user_id,pk"`
	Scope       string    `bun:"scope,pk"`
	Key         string    `bun:"key,pk"`
	RequestHash string    `bun:"request_hash"`
	Response    []byte    `bun:"response"`
	CreatedAt   time.Time `bun:"created_at"`
}

// Balance is a user's points.
type Balance struct {
	Available int64 `bun:"points_available"`
	Held      int64 `bun:"points_held"`
}
