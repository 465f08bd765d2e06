// Package chaos is the chaos run: it starts Gavel's roles as separate processes, drives
// mixed load while killing and restarting them and their servers, and then checks from
// the database that nothing was lost (Check).
package chaos

import (
	"context"
	"fmt"

	"github.com/gavelhq/gavel/db"
)

// Check verifies the invariants of ARCHITECTURE.md on the whole database once the system
// is quiet: every accepted bid (the IDs the clients got in a 202 or 201) exists and is
// decided; every ended auction is DONE and settled exactly once, by a bid above every bid
// that led before it; every outbid or rejected bid is released; every user's balance is
// explained by the ledger, conserved (charges plus payouts minus winning payments) and
// held exactly by their leading bids; and every like a client made after the last loss
// of Redis is in the database. It returns the violations it found.
func Check(ctx context.Context, d *db.DB, accepted []int64, likes map[[2]int64]bool) ([]string, error) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	count := func(sql string, args ...any) (int64, error) {
		var n int64
		err := d.NewRaw(sql, args...).Scan(ctx, &n)
		return n, err
	}
	checks := []struct {
		what string
		sql  string
	}{
		{"bids still pending", `SELECT count(*) FROM bids WHERE status = 'pending'`},
		{"ended auctions not DONE", `SELECT count(*) FROM auctions WHERE end_at <= ? AND status <> 'DONE'`},
		{"DONE auctions with bids but no winner", `SELECT count(*) FROM auctions AS a WHERE a.status = 'DONE'
			AND EXISTS (SELECT 1 FROM bids AS b WHERE b.auction_id = a.id AND b.created_at < a.end_at)
			AND NOT EXISTS (SELECT 1 FROM auction_winners AS w WHERE w.auction_id = a.id)`},
		{"winners below a bid that led before them", `SELECT count(*) FROM auction_winners AS w
			WHERE w.amount <= (SELECT max(b.amount) FROM bids AS b WHERE b.auction_id = w.auction_id AND b.status = 'outbid')`},
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
			(SELECT coalesce(sum(amount), 0) FROM bids AS b WHERE b.bidder_id = u.id AND b.status = 'leading')`},
		{"auctions settled twice", `SELECT count(*) FROM (SELECT bid_id FROM point_ledger WHERE kind = 'payout'
			GROUP BY bid_id HAVING count(*) > 1) AS x`},
	}
	now, err := db.Now(ctx, d)
	if err != nil {
		return nil, err
	}
	for _, c := range checks {
		n, err := count(c.sql, now)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.what, err)
		}
		if n > 0 {
			add("%s: %d", c.what, n)
		}
	}
	for _, id := range accepted {
		b, err := db.BidByID(ctx, d, id)
		if err != nil {
			add("accepted bid %d: %v", id, err)
			continue
		}
		if b.Status == db.BidPending {
			add("accepted bid %d is still pending", id)
		}
	}
	for k, liked := range likes {
		has, err := d.NewSelect().Model((*db.Like)(nil)).Where("auction_id = ? AND user_id = ?", k[0], k[1]).Exists(ctx)
		if err != nil {
			return nil, err
		}
		if has != liked {
			add("like of user %d for auction %d: the database says %v, the user's last word was %v", k[1], k[0], has, liked)
		}
	}
	return problems, nil
}
