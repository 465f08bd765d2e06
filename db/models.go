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

// Auction statuses.
const (
	StatusReady   = "READY"
	StatusPending = "PENDING"
	StatusDone    = "DONE"
)

// Auction is a row of auctions.
type Auction struct {
	bun.BaseModel `bun:"table:auctions,alias:a"`

	ID              int64      `bun:"id,pk,autoincrement"`
	SellerID        int64      `bun:"seller_id"`
	Name            string     `bun:"name"`
	Description     string     `bun:"description"`
	StartPrice      int64      `bun:"start_price"`
	CurrentPrice    int64      `bun:"current_price"`
	Status          string     `bun:"status"`
	StartAt         time.Time  `bun:"start_at"`
	EndAt           time.Time  `bun:"end_at"`
	BidCount        int64      `bun:"bid_count"`
	LikeCount       int64      `bun:"like_count"`
	SubscriberCount int64      `bun:"subscriber_count"`
	LeadingBidID    *int64     `bun:"leading_bid_id"`
	ThumbnailID     *int64     `bun:"thumbnail_id"`
	CreatedAt       time.Time  `bun:"created_at"`
	UpdatedAt       time.Time  `bun:"updated_at"`
	ClosedAt        *time.Time `bun:"closed_at"`
	// The formats (api/openapi.yaml, "Auction formats"): nil or 0 when the seller set none.
	ReservePrice     *int64 `bun:"reserve_price"`
	BuyNowPrice      *int64 `bun:"buy_now_price"`
	ExtensionSeconds int64  `bun:"extension_seconds"`
	// OriginalEndAt is the seller's end; nil on rows whose end never moves (see OriginalEnd).
	OriginalEndAt *time.Time `bun:"original_end_at"`
	// SearchWords is search.Index(Name), written with the name (see IndexAuctionWords).
	SearchWords string `bun:"search_words"`
	// SearchSig is search.Signature(Name), written with it.
	SearchSig int64 `bun:"search_sig"`
}

// OriginalEnd is the seller's end: OriginalEndAt, or EndAt on a row without it.
func (a *Auction) OriginalEnd() time.Time {
	if a.OriginalEndAt != nil {
		return *a.OriginalEndAt
	}
	return a.EndAt
}

// AuctionWinner records the winning bid of a finished auction, once per auction.
type AuctionWinner struct {
	bun.BaseModel `bun:"table:auction_winners,alias:w"`

	AuctionID int64     `bun:"auction_id,pk"`
	BidID     int64     `bun:"bid_id"`
	WinnerID  int64     `bun:"winner_id"`
	SellerID  int64     `bun:"seller_id"`
	Amount    int64     `bun:"amount"`
	SettledAt time.Time `bun:"settled_at"`
}

// AuctionImage is an uploaded image of an auction; the bytes live in the image store.
type AuctionImage struct {
	bun.BaseModel `bun:"table:auction_images"`

	ID          int64     `bun:"id,pk,autoincrement"`
	AuctionID   int64     `bun:"auction_id"`
	StorageKey  string    `bun:"storage_key"`
	ContentType string    `bun:"content_type"`
	Size        int64     `bun:"size"`
	ETag        string    `bun:"etag"`
	CreatedAt   time.Time `bun:"created_at"`
}

// AuctionView is an auction with what its page shows beside it.
type AuctionView struct {
	Auction
	SellerNickname     string         `bun:"seller_nickname"`
	LeadingAmount      *int64         `bun:"leading_amount"`
	LeadingNickname    *string        `bun:"leading_nickname"`
	LeadingStatus      *string        `bun:"leading_status"`
	LikedByViewer      bool           `bun:"liked_by_viewer"`
	SubscribedByViewer bool           `bun:"subscribed_by_viewer"`
	Images             []AuctionImage `bun:"-"`
}

// AuctionSummary is one item of a list of auctions.
type AuctionSummary struct {
	ID           int64     `bun:"id"`
	Name         string    `bun:"name"`
	CurrentPrice int64     `bun:"current_price"`
	Status       string    `bun:"status"`
	StartAt      time.Time `bun:"start_at"`
	EndAt        time.Time `bun:"end_at"`
	BidCount     int64     `bun:"bid_count"`
	LikeCount    int64     `bun:"like_count"`
	SellerID     int64     `bun:"seller_id"`
	CreatedAt    time.Time `bun:"created_at"`
	ThumbnailID  *int64    `bun:"thumbnail_id"`
}

// Bid statuses.
const (
	BidPending  = "pending"
	BidLeading  = "leading"
	BidOutbid   = "outbid"
	BidRejected = "rejected"
	BidWon      = "won"
)

// Bid kinds.
const (
	KindBid    = "bid"     // a straight or a proxy bid
	KindBuyNow = "buy_now" // buy-it-now
)

// Bid is a row of bids.
type Bid struct {
	bun.BaseModel `bun:"table:bids,alias:b"`

	ID        int64  `bun:"id,pk,autoincrement"`
	AuctionID int64  `bun:"auction_id"`
	BidderID  int64  `bun:"bidder_id"`
	Kind      string `bun:"kind"`
	// Amount is what the bid offers now; a pending proxy bid's is its maximum (not shown).
	Amount    int64      `bun:"amount"`
	MaxAmount *int64     `bun:"max_amount"` // a proxy bid's maximum
	Status    string     `bun:"status"`
	Reason    *string    `bun:"reason"`
	CreatedAt time.Time  `bun:"created_at"`
	DecidedAt *time.Time `bun:"decided_at"`
	// PriceAfter and LeaderAfter are the auction's price and leading bidder right after
	// this bid's decision, when it changed either: an entry of the public bid history.
	PriceAfter  *int64 `bun:"price_after"`
	LeaderAfter *int64 `bun:"leader_after"`
}

// Held is what the bid holds: a proxy bid's maximum, else its amount.
func (b *Bid) Held() int64 {
	if b.MaxAmount != nil {
		return *b.MaxAmount
	}
	return b.Amount
}

// PublicBid is a bid in an auction's public history.
type PublicBid struct {
	ID             int64     `bun:"id"`
	Amount         int64     `bun:"amount"`
	BidderNickname string    `bun:"nickname"`
	CreatedAt      time.Time `bun:"created_at"`
}

// BidLog is the record of a decided bid that recommendations learn from.
type BidLog struct {
	bun.BaseModel `bun:"table:bid_logs"`

	BidID     int64     `bun:"bid_id,pk"`
	AuctionID int64     `bun:"auction_id"`
	BidderID  int64     `bun:"bidder_id"`
	Age       int       `bun:"age"`
	Gender    string    `bun:"gender"`
	Amount    int64     `bun:"amount"`
	Success   bool      `bun:"success"`
	CreatedAt time.Time `bun:"created_at"`
}
