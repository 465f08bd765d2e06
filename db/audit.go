package db

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Finding is an invariant of docs/ARCHITECTURE.md that rows break, and how many.
type Finding struct {
	What  string
	Count int64
}

// audits count, over the whole database, the rows that break an invariant; the argument
// is the database's time.
var audits = []struct {
	what string
	sql  string
}{
	{"bids still pending", `SELECT count(*) FROM bids WHERE status = 'pending'`},
	{"ended auctions not DONE", `SELECT count(*) FROM auctions WHERE end_at <= ? AND status <> 'DONE'`},
	{"DONE auctions with bids but no winner", `SELECT count(*) FROM auctions AS a WHERE a.status = 'DONE'
		AND EXISTS (SELECT 1 FROM bids AS b WHERE b.auction_id = a.id AND b.created_at < a.end_at)
		AND NOT EXISTS (SELECT 1 FROM auction_winners AS w WHERE w.auction_id = a.id)
		AND NOT EXISTS (SELECT 1 FROM bids AS b WHERE b.id = a.leading_bid_id AND b.reason = 'reserve_not_met')`},
	// A winner pays at least every outbid bid's amount: more for straight bids, as much when
	// a leader raised its own maximum or two maximums tied.
	{"winners below a bid that led before them", `SELECT count(*) FROM auction_winners AS w
		WHERE w.amount < (SELECT max(b.amount) FROM bids AS b WHERE b.auction_id = w.auction_id AND b.status = 'outbid')`},
	{"winners whose bid is not won", `SELECT count(*) FROM auction_winners AS w JOIN bids AS b ON b.id = w.bid_id WHERE b.status <> 'won'`},
	{"won bids without a payout", `SELECT count(*) FROM bids AS b WHERE b.status = 'won'
		AND NOT EXISTS (SELECT 1 FROM point_ledger AS l WHERE l.bid_id = b.id AND l.kind = 'payout')`},
	{"won bids without a winning payment", `SELECT count(*) FROM bids AS b WHERE b.status = 'won'
		AND NOT EXISTS (SELECT 1 FROM point_ledger AS l WHERE l.bid_id = b.id AND l.kind = 'winning_payment')`},
	{"leading bids on DONE auctions", `SELECT count(*) FROM bids AS b JOIN auctions AS a ON a.id = b.auction_id
		WHERE b.status = 'leading' AND a.status = 'DONE'`},
	{"outbid or rejected bids not released", `SELECT count(*) FROM bids AS b WHERE b.status IN ('outbid', 'rejected')
		AND NOT EXISTS (SELECT 1 FROM point_ledger AS l WHERE l.bid_id = b.id AND l.kind = 'bid_release')`},
	{"balances the ledger does not explain", `SELECT count(*) FROM users AS u WHERE
		u.points_available <> (SELECT coalesce(sum(delta), 0) FROM point_ledger AS l WHERE l.user_id = u.id) OR
		u.points_held <> (SELECT coalesce(sum(held_delta), 0) FROM point_ledger AS l WHERE l.user_id = u.id)`},
	{"users whose points are not conserved", `SELECT count(*) FROM users AS u WHERE u.points_available + u.points_held <>
		(SELECT coalesce(sum(CASE WHEN kind IN ('charge', 'payout') THEN delta WHEN kind = 'winning_payment' THEN held_delta ELSE 0 END), 0)
		 FROM point_ledger AS l WHERE l.user_id = u.id)`},
	{"users whose held points are not their leading bids", `SELECT count(*) FROM users AS u WHERE u.points_held <>
		(SELECT coalesce(sum(coalesce(max_amount, amount)), 0) FROM bids AS b WHERE b.bidder_id = u.id AND b.status = 'leading')`},
	{"auctions settled twice", `SELECT count(*) FROM (SELECT bid_id FROM point_ledger WHERE kind = 'payout'
		GROUP BY bid_id HAVING count(*) > 1) AS x`},
}

// Audit checks the invariants of docs/ARCHITECTURE.md on the whole database, meant for a quiet
// system: nothing pending; every ended auction DONE and settled exactly once, by a bid
// above every bid that led before it, with its payment and payout; every outbid or
// rejected bid released; every balance explained by the ledger, conserved (charges plus
// payouts minus winning payments) and held exactly by the user's leading bids. It returns
// the invariants broken.
func Audit(ctx context.Context, idb bun.IDB) ([]Finding, error) {
	now, err := Now(ctx, idb)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, a := range audits {
		var n int64
		if err := idb.NewRaw(a.sql, now).Scan(ctx, &n); err != nil {
			return nil, fmt.Errorf("audit %s: %w", a.what, err)
		}
		if n > 0 {
			out = append(out, Finding{What: a.what, Count: n})
		}
	}
	return out, nil
}

// HasLike reports whether the user likes the auction in the database.
func HasLike(ctx context.Context, idb bun.IDB, auctionID, userID int64) (bool, error) {
	return idb.NewSelect().Model((*Like)(nil)).Where("auction_id = ? AND user_id = ?", auctionID, userID).Exists(ctx)
}

// Formats counts what the whole database holds of the auction formats: proxy bids, bids
// defended against at once, buy-nows won and rejected when decided, auctions whose end soft
// close moved, and leading bids rejected because the reserve was not met.
type Formats struct {
	Proxies  int64 `bun:"proxies"`
	Defended int64 `bun:"defended"`
	Bought   int64 `bun:"bought"`
	Refused  int64 `bun:"refused"`
	Extended int64 `bun:"extended"`
	Unmet    int64 `bun:"unmet"`
}

// CountFormats counts Formats over the whole database (the chaos run's report).
func CountFormats(ctx context.Context, idb bun.IDB) (Formats, error) {
	var n Formats
	err := idb.NewRaw(`SELECT
	(SELECT count(*) FROM bids WHERE max_amount IS NOT NULL) AS proxies,
	(SELECT count(*) FROM bids WHERE status = 'outbid' AND price_after IS NOT NULL AND leader_after <> bidder_id) AS defended,
	(SELECT count(*) FROM bids WHERE kind = 'buy_now' AND status = 'won') AS bought,
	(SELECT count(*) FROM bids WHERE kind = 'buy_now' AND status = 'rejected') AS refused,
	(SELECT count(*) FROM auctions WHERE original_end_at IS NOT NULL AND end_at > original_end_at) AS extended,
	(SELECT count(*) FROM bids WHERE reason = 'reserve_not_met') AS unmet`).Scan(ctx, &n)
	if err != nil {
		return Formats{}, fmt.Errorf("count formats: %w", err)
	}
	return n, nil
}
