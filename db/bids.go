package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// InsertBid inserts b (of KindBid when its kind is unset) and sets its ID.
func InsertBid(ctx context.Context, idb bun.IDB, b *Bid) error {
	if b.Kind == "" {
		b.Kind = KindBid
	}
	if _, err := idb.NewInsert().Model(b).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("insert bid: %w", err)
	}
	return nil
}

// BidByID reads a bid.
func BidByID(ctx context.Context, idb bun.IDB, id int64) (*Bid, error) {
	b := new(Bid)
	if err := idb.NewSelect().Model(b).Where("b.id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err)
	}
	return b, nil
}

// SetBidStatus records a decision about a bid.
func SetBidStatus(ctx context.Context, idb bun.IDB, b *Bid) error {
	_, err := idb.NewUpdate().Model(b).Column("status", "reason", "decided_at").WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("set bid status: %w", err)
	}
	return nil
}

// SetAuctionLead writes an auction's price, leading bid and bid count.
func SetAuctionLead(ctx context.Context, idb bun.IDB, a *Auction) error {
	_, err := idb.NewUpdate().Model(a).Column("current_price", "leading_bid_id", "bid_count", "updated_at").
		WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("set auction lead: %w", err)
	}
	return nil
}

// BidsOfBidder lists a bidder's bids newest first, below beforeID when positive.
func BidsOfBidder(ctx context.Context, idb bun.IDB, bidderID int64, status string, beforeID, limit int64) ([]Bid, error) {
	var bs []Bid
	q := idb.NewSelect().Model(&bs).Where("b.bidder_id = ?", bidderID).OrderExpr("b.id DESC").Limit(limit)
	if status != "" {
		q = q.Where("b.status = ?", status)
	}
	if beforeID > 0 {
		q = q.Where("b.id < ?", beforeID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("bids of bidder: %w", err)
	}
	return bs, nil
}

// LeadHistory lists the changes of an auction's price or leading bidder, newest first:
// the bids whose decision made one, with the price and the leader's nickname just after it.
func LeadHistory(ctx context.Context, idb bun.IDB, auctionID, beforeID, limit int64) ([]PublicBid, error) {
	var out []PublicBid
	q := idb.NewSelect().TableExpr("bids AS b").
		ColumnExpr("b.id, b.price_after AS amount, u.nickname, b.created_at").
		Join("JOIN users AS u ON u.id = b.leader_after").
		Where("b.auction_id = ? AND b.price_after IS NOT NULL", auctionID).
		OrderExpr("b.id DESC").Limit(limit)
	if beforeID > 0 {
		q = q.Where("b.id < ?", beforeID)
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("lead history: %w", err)
	}
	return out, nil
}

// AuctionsWithStalePending lists auctions that have a bid pending since before cutoff.
func AuctionsWithStalePending(ctx context.Context, idb bun.IDB, cutoff time.Time, limit int64) ([]int64, error) {
	var ids []int64
	err := idb.NewSelect().Model((*Bid)(nil)).ColumnExpr("DISTINCT b.auction_id").
		Where("b.status = ? AND b.created_at < ?", BidPending, cutoff.UTC()).Limit(limit).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("stale pending bids: %w", err)
	}
	return ids, nil
}

// HasPendingBids reports whether the auction has a pending bid, without locking anything.
func HasPendingBids(ctx context.Context, idb bun.IDB, auctionID int64) (bool, error) {
	return idb.NewSelect().Model((*Bid)(nil)).Where("b.auction_id = ? AND b.status = ?", auctionID, BidPending).Exists(ctx)
}

// InsertBidLogs records bid logs, each once: a bid already logged is left as it is.
func InsertBidLogs(ctx context.Context, idb bun.IDB, logs []BidLog) error {
	if len(logs) == 0 {
		return nil
	}
	if _, err := idb.NewInsert().Model(&logs).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("insert bid logs: %w", err)
	}
	return nil
}

// LogDecidedBids records the decided bids among ids in bid_logs, with the bidder's gender
// and age in whole years at the decision (UTC dates, as Age counts it). Bids already
// logged are left alone. It returns how many of ids are still pending. On PostgreSQL it is
// one statement, committed without waiting for the WAL flush (see durability.go); on
// SQLite three, whatever the number of bids.
func LogDecidedBids(ctx context.Context, d *DB, ids []int64) (pending int, err error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if d.Kind == Postgres {
		return logDecidedBidsPG(ctx, d, ids)
	}
	bids, err := BidsByIDs(ctx, d, ids)
	if err != nil || len(bids) == 0 {
		return 0, err
	}
	var bidders []int64
	for _, b := range bids {
		bidders = append(bidders, b.BidderID)
	}
	users, err := UsersByIDs(ctx, d, bidders)
	if err != nil {
		return 0, err
	}
	logs := make([]BidLog, 0, len(bids))
	for _, b := range bids {
		if b.Status == BidPending || b.DecidedAt == nil {
			pending++
			continue
		}
		u := users[b.BidderID]
		logs = append(logs, BidLog{BidID: b.ID, AuctionID: b.AuctionID, BidderID: b.BidderID, Age: Age(u.BirthDate, *b.DecidedAt),
			Gender: u.Gender, Amount: b.Amount, Success: b.Status != BidRejected, CreatedAt: *b.DecidedAt})
	}
	return pending, InsertBidLogs(ctx, d, logs)
}

// Age is how many whole years old someone born on birth is at `at` (logDecidedBidsPG's
// SQL counts the same way; TestLogBidsAgesAndSuccess holds both to the same ages).
func Age(birth, at time.Time) int {
	years := at.Year() - birth.Year()
	if at.Month() < birth.Month() || (at.Month() == birth.Month() && at.Day() < birth.Day()) {
		years--
	}
	return years
}

func logDecidedBidsPG(ctx context.Context, idb bun.IDB, ids []int64) (pending int, err error) {
	err = idb.NewRaw(`WITH logged AS (
	INSERT INTO bid_logs (bid_id, auction_id, bidder_id, age, gender, amount, success, created_at)
	SELECT b.id, b.auction_id, b.bidder_id,
		extract(year FROM age((b.decided_at AT TIME ZONE 'UTC')::date::timestamp, u.birth_date::timestamp))::int,
		u.gender, b.amount, b.status <> ?1, b.decided_at
	FROM bids AS b JOIN users AS u ON u.id = b.bidder_id
	WHERE b.id = ANY (?0::bigint[]) AND b.status <> ?2 AND b.decided_at IS NOT NULL
	ON CONFLICT DO NOTHING)
SELECT count(*) FROM bids AS b, `+asyncCommitFrom+` WHERE b.id = ANY (?0::bigint[]) AND (b.status = ?2 OR b.decided_at IS NULL)`,
		pgdialect.Array(ids), BidRejected, BidPending).Scan(ctx, &pending)
	if err != nil {
		return 0, fmt.Errorf("log decided bids: %w", err)
	}
	return pending, nil
}

// BidsByIDs reads the bids with the IDs (those that exist).
func BidsByIDs(ctx context.Context, idb bun.IDB, ids []int64) ([]Bid, error) {
	var bs []Bid
	err := idb.NewSelect().Model(&bs).Where("b.id IN (?)", bun.List(ids)).Scan(ctx)
	return bs, err
}

// UsersByIDs reads the users with the IDs, by ID.
func UsersByIDs(ctx context.Context, idb bun.IDB, ids []int64) (map[int64]User, error) {
	var us []User
	if err := idb.NewSelect().Model(&us).Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[int64]User, len(us))
	for _, u := range us {
		out[u.ID] = u
	}
	return out, nil
}

// UnloggedBids lists decided bids that have no bid log yet, oldest first.
func UnloggedBids(ctx context.Context, idb bun.IDB, limit int64) ([]int64, error) {
	var ids []int64
	err := idb.NewSelect().Model((*Bid)(nil)).Column("b.id").
		Where("b.status <> ?", BidPending).
		Where("NOT EXISTS (SELECT 1 FROM bid_logs AS l WHERE l.bid_id = b.id)").
		OrderExpr("b.id").Limit(limit).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("unlogged bids: %w", err)
	}
	return ids, nil
}

// BidsOfAuctions lists every bid of the auctions.
func BidsOfAuctions(ctx context.Context, idb bun.IDB, auctionIDs []int64) ([]Bid, error) {
	var bs []Bid
	err := idb.NewSelect().Model(&bs).Where("b.auction_id IN (?)", bun.List(auctionIDs)).OrderExpr("b.id").Scan(ctx)
	return bs, err
}

// UsersWithEmailPrefix lists the users whose email starts with prefix.
func UsersWithEmailPrefix(ctx context.Context, idb bun.IDB, prefix string) ([]User, error) {
	var us []User
	err := idb.NewSelect().Model(&us).Where("email_key LIKE ?", escapeLike(prefix)+"%").Scan(ctx)
	return us, err
}

// UnreleasedBids lists outbid and rejected bids whose points have not come back yet.
func UnreleasedBids(ctx context.Context, idb bun.IDB, limit int64) ([]int64, error) {
	var ids []int64
	err := idb.NewSelect().Model((*Bid)(nil)).Column("b.id").
		Where("b.status IN (?)", bun.List([]string{BidOutbid, BidRejected})).
		Where("NOT EXISTS (SELECT 1 FROM point_ledger AS l WHERE l.bid_id = b.id AND l.kind = ?)", KindBidRelease).
		OrderExpr("b.id").Limit(limit).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("unreleased bids: %w", err)
	}
	return ids, nil
}

// AuctionsWithPending lists up to limit auctions that have a pending bid, those waiting
// longest first (on PostgreSQL through gavel_auctions_with_pending: see its migration).
func AuctionsWithPending(ctx context.Context, idb bun.IDB, limit int64) ([]int64, error) {
	var ids []int64
	var err error
	if idb.Dialect().Name() == dialect.PG {
		err = idb.NewRaw(`SELECT * FROM gavel_auctions_with_pending(?)`, limit).Scan(ctx, &ids)
	} else {
		err = idb.NewSelect().Model((*Bid)(nil)).Column("b.auction_id").
			Where("b.status = ?", BidPending).GroupExpr("b.auction_id").OrderExpr("min(b.id)").Limit(limit).Scan(ctx, &ids)
	}
	if err != nil {
		return nil, fmt.Errorf("auctions with pending bids: %w", err)
	}
	return ids, nil
}

// Row lock modes for LockAuctions. Deciding bids takes NO KEY UPDATE, which does not wait
// for the KEY SHARE that placing a bid holds on its auction; closing takes UPDATE, which
// does, so a bid in flight when the auction closes is committed, and seen, first.
const (
	LockDecide     = "NO KEY UPDATE"
	LockDecideSkip = "NO KEY UPDATE SKIP LOCKED"
	LockClose      = "UPDATE"
	LockCloseSkip  = "UPDATE SKIP LOCKED"
)

// LockAuctions reads the auctions with the IDs, by ID, locking them in that order on
// PostgreSQL with the mode, so that transactions locking several never deadlock on each
// other; a SKIP LOCKED mode leaves out those another transaction holds instead of
// waiting. On SQLite the write transaction already excludes every other.
func LockAuctions(ctx context.Context, idb bun.IDB, ids []int64, mode string) ([]Auction, error) {
	var as []Auction
	q := idb.NewSelect().Model(&as).Where("a.id IN (?)", bun.List(ids)).OrderExpr("a.id")
	if idb.Dialect().Name() == dialect.PG {
		q = q.For(mode)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("lock auctions: %w", err)
	}
	return as, nil
}

// PendingBidsOf lists the pending bids of the auctions, by auction and arrival.
func PendingBidsOf(ctx context.Context, idb bun.IDB, auctionIDs []int64) ([]Bid, error) {
	var bs []Bid
	err := idb.NewSelect().Model(&bs).Where("b.status = ? AND b.auction_id IN (?)", BidPending, bun.List(auctionIDs)).
		OrderExpr("b.auction_id, b.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("pending bids: %w", err)
	}
	return bs, nil
}

// RecordDecisions writes a decision round back: the bids' statuses, reasons and decision
// times, and the auctions' prices, leading bids, bid counts and update times. On
// PostgreSQL it is one call of gavel_record_decisions, on SQLite a bulk update each.
func RecordDecisions(ctx context.Context, idb bun.IDB, bs []Bid, as []Auction) error {
	if len(bs) == 0 && len(as) == 0 {
		return nil
	}
	var err error
	if idb.Dialect().Name() == dialect.PG {
		err = recordDecisionsPG(ctx, idb, bs, as)
	} else {
		err = recordDecisionsSQLite(ctx, idb, bs, as)
	}
	if err != nil {
		return fmt.Errorf("record decisions: %w", err)
	}
	return nil
}

func recordDecisionsPG(ctx context.Context, idb bun.IDB, bs []Bid, as []Auction) error {
	var bids, amounts []int64 // the bid columns, one array each, and the auction columns
	var statuses []string
	var reasons []*string
	var decided []*time.Time
	var priceAfter, leaderAfter []*int64
	for _, b := range bs {
		bids, statuses, amounts = append(bids, b.ID), append(statuses, b.Status), append(amounts, b.Amount)
		reasons, decided = append(reasons, b.Reason), append(decided, b.DecidedAt)
		priceAfter, leaderAfter = append(priceAfter, b.PriceAfter), append(leaderAfter, b.LeaderAfter)
	}
	var auctions, prices, counts []int64
	var leads []*int64
	var at, ends []time.Time
	var originalEnds, closed []*time.Time
	var astatuses []string
	for _, a := range as {
		auctions, prices, counts = append(auctions, a.ID), append(prices, a.CurrentPrice), append(counts, a.BidCount)
		leads, at, ends = append(leads, a.LeadingBidID), append(at, a.UpdatedAt), append(ends, a.EndAt)
		originalEnds, astatuses, closed = append(originalEnds, a.OriginalEndAt), append(astatuses, a.Status), append(closed, a.ClosedAt)
	}
	_, err := idb.NewRaw(`SELECT gavel_record_decisions(?::bigint[], ?::text[], ?::text[], ?::timestamptz[],
		?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::timestamptz[],
		?::timestamptz[], ?::timestamptz[], ?::text[], ?::timestamptz[])`,
		pgdialect.Array(bids), pgdialect.Array(statuses), pgdialect.Array(reasons), pgdialect.Array(decided),
		pgdialect.Array(amounts), pgdialect.Array(priceAfter), pgdialect.Array(leaderAfter),
		pgdialect.Array(auctions), pgdialect.Array(prices), pgdialect.Array(leads), pgdialect.Array(counts),
		pgdialect.Array(at), pgdialect.Array(ends), pgdialect.Array(originalEnds), pgdialect.Array(astatuses),
		pgdialect.Array(closed)).Exec(ctx)
	return err
}

func recordDecisionsSQLite(ctx context.Context, idb bun.IDB, bs []Bid, as []Auction) error {
	if len(bs) > 0 {
		if _, err := idb.NewUpdate().Model(&bs).Column("status", "reason", "decided_at", "amount", "price_after", "leader_after").
			Bulk().Exec(ctx); err != nil {
			return err
		}
	}
	if len(as) > 0 {
		if _, err := idb.NewUpdate().Model(&as).Column("current_price", "leading_bid_id", "bid_count", "updated_at",
			"end_at", "original_end_at", "status", "closed_at").Bulk().Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Refused is why the rules refused a bid (the code of its problem) and the auction as they
// saw it, which tells the bidder what to try next (the minimum, the start).
type Refused struct {
	Code    string
	Auction *Auction
}

// Refuse is the placement rule (package auction's Refusal): why the bid b may not be
// placed on the auction a at now by the database clock, as the code of its problem, or "".
type Refuse func(a *Auction, b *Bid, now time.Time) string

// PlaceHold places b (its kind, amount, maximum, bidder, auction) in idb's transaction, or
// as one of its own: it reads the auction and the database's time, and only if the rules
// allow the bid it holds what the bid may pay (its maximum, else its amount; a buy-now's
// amount is the auction's price) from the bidder's available points and inserts the bid
// as pending, with that time, and its bid_hold ledger row. When the rules refused the bid
// it says why (and b.ID stays 0); nil when it placed it. The auction's KEY SHARE lock on
// PostgreSQL, held to the end, makes a closing auction (LockClose) wait for the bid, and a
// bid that comes after the close see the auction DONE.
// On PostgreSQL it is one statement, so a bid costs one round trip: the function
// gavel_place_bids (a batch of one here; HoldBatcher sends more), whose rules are
// gavel_refusal, refuse's SQL twin (the refusal cases of auction/rules_cases_test.go run
// through both). On SQLite the same steps run from Go with refuse itself.
// A balance too small for the amount is ErrInsufficient; no such auction, ErrNotFound.
func PlaceHold(ctx context.Context, idb bun.IDB, b *Bid, refuse Refuse) (refused *Refused, err error) {
	if idb.Dialect().Name() != dialect.PG {
		if d, ok := idb.(*DB); ok { // not in a transaction: its own
			err = d.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
				refused, err = placeHoldGo(ctx, tx, b, refuse)
				return err
			})
			return refused, err
		}
		return placeHoldGo(ctx, idb, b, refuse)
	}
	r := &holdRequest{bid: b}
	if err := placeHolds(ctx, idb, []*holdRequest{r}); err != nil {
		return nil, err
	}
	if r.err == nil && !r.answered {
		return nil, errNoOutcome
	}
	return r.refused, r.err
}

// placeHoldGo is PlaceHold's steps one statement at a time, in tx.
func placeHoldGo(ctx context.Context, tx bun.IDB, b *Bid, refuse Refuse) (*Refused, error) {
	a, err := AuctionForBid(ctx, tx, b.AuctionID)
	if err != nil {
		return nil, err
	}
	now, err := Now(ctx, tx)
	if err != nil {
		return nil, err
	}
	if code := refuse(a, b, now); code != "" {
		return &Refused{Code: code, Auction: a}, nil
	}
	if b.Kind == KindBuyNow {
		b.Amount = *a.BuyNowPrice
	}
	b.Status, b.CreatedAt = BidPending, now
	if err := InsertBid(ctx, tx, b); err != nil {
		return nil, err
	}
	held := b.Held()
	_, err = ApplyLedger(ctx, tx, &LedgerEntry{UserID: b.BidderID, Kind: KindBidHold, Delta: -held, HeldDelta: held,
		BidID: &b.ID, AuctionID: &b.AuctionID})
	if err != nil {
		b.ID = 0
	}
	return nil, err
}

// placed is a row of gavel_place_bids.
type placed struct {
	Ord          int        `bun:"ord"`
	ID           *int64     `bun:"id"` // the auction's; NULL when it does not exist
	Status       string     `bun:"status"`
	StartPrice   int64      `bun:"start_price"`
	CurrentPrice int64      `bun:"current_price"`
	LeadingBidID *int64     `bun:"leading_bid_id"`
	StartAt      time.Time  `bun:"start_at"`
	EndAt        time.Time  `bun:"end_at"`
	BidID        *int64     `bun:"bid_id"`
	BidAt        *time.Time `bun:"bid_at"`
	BidAmount    *int64     `bun:"bid_amount"`
	Short        bool       `bun:"short"`
	Refusal      *string    `bun:"refusal"`
}

// RecentBidder is one bidder's latest bid on an open auction, with their age and gender
// at that time, from the bid logs.
type RecentBidder struct {
	AuctionID int64     `bun:"auction_id"`
	BidderID  int64     `bun:"bidder_id"`
	Age       int       `bun:"age"`
	Gender    string    `bun:"gender"`
	LastBid   time.Time `bun:"last_bid"`
}

// RecentBidders lists, for the auctions still open, each bidder's latest bid logged
// since `since`.
func RecentBidders(ctx context.Context, idb bun.IDB, since time.Time) ([]RecentBidder, error) {
	var out []RecentBidder
	err := idb.NewRaw(`SELECT l.auction_id, l.bidder_id, max(l.age) AS age, max(l.gender) AS gender, max(l.created_at) AS last_bid
FROM bid_logs AS l JOIN auctions AS a ON a.id = l.auction_id
WHERE l.created_at >= ? AND a.status <> ? AND a.end_at > ?
GROUP BY l.auction_id, l.bidder_id`, since.UTC(), StatusDone, time.Now().UTC()).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("recent bidders: %w", err)
	}
	return out, nil
}
