package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
)

// SettleOptions configures RunSettle.
type SettleOptions struct {
	DB       *db.DB
	Log      *slog.Logger
	Auctions int // auctions ending together, each with a leading and an outbid bid
	Bidders  int
	Sellers  int // the auctions are spread over them; one seller makes every settlement wait for its row
	Batch    int // the scheduler's chunk size
	Parallel int // closers at a time
	// Proxy makes every leading bid a proxy bid holding a maximum above its price: its
	// settlement pays the price and releases the rest.
	Proxy bool
}

// SettleRun is what RunSettle measured.
type SettleRun struct {
	Auctions int
	Result   auction.BatchResult
	Took     time.Duration
}

// PerSecond is the settlement rate.
func (r SettleRun) PerSecond() float64 { return float64(r.Result.Processed) / r.Took.Seconds() }

// RunSettle writes, set-based, `Auctions` auctions of `Sellers` sellers that end in a few
// seconds, each with a leading bid (with Proxy, a proxy bid holding more than its price)
// and an outbid (released) one from `Bidders` bidders,
// with every balance and ledger row in place; waits for the end; has one scheduler's
// close-ended-auctions batch close and settle them all, timed; and checks the outcome:
// every auction DONE with its leading bid won, one winner row, one payment and one payout
// each, nothing held any more, and points conserved. PostgreSQL only.
func RunSettle(ctx context.Context, o SettleOptions) (*SettleRun, error) {
	if o.DB.Kind != db.Postgres {
		return nil, errors.New("bench settle: needs PostgreSQL (DATABASE_URL)")
	}
	tag := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff)
	end := time.Now().Add(5 * time.Second).UTC()
	const charged, lead, outbid, maximum = 10_000_000, 500, 300, 1_200
	var leadMax *int64 // the leading bids' maximum: NULL for straight bids
	if o.Proxy {
		leadMax = new(int64)
		*leadMax = maximum
	}
	o.Log.Info("bench settle: writing auctions", "auctions", o.Auctions, "bidders", o.Bidders)
	// Users: sellers first, then bidders, each range of consecutive IDs.
	var seller, first int64 // the first seller's and the first bidder's IDs
	for _, u := range []struct {
		who   string
		n     int
		first *int64
	}{{"s", o.Sellers, &seller}, {"b", o.Bidders, &first}} {
		_, err := o.DB.NewRaw(`INSERT INTO users (email, email_key, password_hash, nickname, birth_date, gender, points_available)
			SELECT 'settle-' || ?0 || '-' || g || '@example.com', 'settle-' || ?0 || '-' || g || '@example.com', 'x',
				?1 || g, '1990-01-01', 'female', ?2 FROM generate_series(1, ?3) AS g`,
			tag+"-"+u.who, u.who, map[string]int64{"s": 0, "b": charged}[u.who], u.n).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench settle: users: %w", err)
		}
		if err := o.DB.NewRaw(`SELECT min(id) FROM users WHERE email_key LIKE 'settle-' || ? || '-%'`, tag+"-"+u.who).
			Scan(ctx, u.first); err != nil {
			return nil, err
		}
	}
	// Auction g of seller g mod S: bidder i mod B outbid by bidder (i+1) mod B; bids and
	// ledger rows as the API and the worker would have written them.
	sets := []string{
		`INSERT INTO point_ledger (user_id, kind, delta, held_delta) SELECT id, 'charge', ?2, 0 FROM users WHERE id BETWEEN ?0 AND ?0 + ?3 - 1`,
		`INSERT INTO auctions (seller_id, name, start_price, current_price, status, start_at, end_at, bid_count, created_at, updated_at)
			SELECT ?1 + g % ?8, 'Settle lot ' || g, 100, ?5, 'PENDING', now() - interval '1 hour', ?6, 2, now(), now() FROM generate_series(1, ?4) AS g`,
		`CREATE TEMP TABLE settle_lots AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM auctions WHERE seller_id BETWEEN ?1 AND ?1 + ?8 - 1`,
		`INSERT INTO bids (auction_id, bidder_id, amount, max_amount, status, created_at, decided_at)
			SELECT id, ?0 + i % ?3, ?7, NULL::bigint, 'outbid', now() - interval '1 minute', now() FROM settle_lots
			UNION ALL SELECT id, ?0 + (i + 1) % ?3, ?5, ?9::bigint, 'leading', now() - interval '30 seconds', now() FROM settle_lots`,
		`UPDATE auctions AS a SET leading_bid_id = b.id FROM bids AS b JOIN settle_lots AS l ON l.id = b.auction_id WHERE b.auction_id = a.id AND b.status = 'leading'`,
		`INSERT INTO point_ledger (user_id, kind, delta, held_delta, bid_id, auction_id)
			SELECT b.bidder_id, 'bid_hold', -coalesce(b.max_amount, b.amount), coalesce(b.max_amount, b.amount), b.id, b.auction_id
			FROM bids AS b JOIN settle_lots AS l ON l.id = b.auction_id
			UNION ALL SELECT b.bidder_id, 'bid_release', b.amount, -b.amount, b.id, b.auction_id FROM bids AS b JOIN settle_lots AS l ON l.id = b.auction_id WHERE b.status = 'outbid'`,
		`UPDATE users AS u SET points_available = u.points_available - h.held, points_held = u.points_held + h.held
			FROM (SELECT b.bidder_id, sum(coalesce(b.max_amount, b.amount)) AS held FROM bids AS b JOIN settle_lots AS l ON l.id = b.auction_id
				WHERE b.status = 'leading' GROUP BY b.bidder_id) AS h WHERE u.id = h.bidder_id`,
		`DROP TABLE settle_lots`,
		`ANALYZE auctions`, `ANALYZE bids`, `ANALYZE point_ledger`, `ANALYZE users`,
	}
	conn, err := o.DB.Conn(ctx) // the temporary table lives on one connection
	if err != nil {
		return nil, err
	}
	for _, q := range sets {
		if _, err := conn.NewRaw(q, first, seller, charged, o.Bidders, o.Auctions, lead, end, outbid, o.Sellers, leadMax).Exec(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("bench settle: %s: %w", q[:40], err)
		}
	}
	conn.Close()
	o.Log.Info("bench settle: waiting for the end", "end", end)
	select {
	case <-time.After(time.Until(end) + 100*time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	bidding := &auction.Bidding{DB: o.DB, Log: o.Log}
	start := time.Now()
	res, err := bidding.CloseEnded(ctx, o.Batch, o.Parallel, nil)
	run := &SettleRun{Auctions: o.Auctions, Result: res, Took: time.Since(start)}
	if err != nil {
		return run, err
	}
	o.Log.Info("bench settle: checking")
	var bad int
	for _, c := range []struct {
		what string
		sql  string
		want int64
	}{
		{"releases of what the winners held beyond the price", `SELECT count(*) FROM point_ledger AS l JOIN auction_winners AS w ON w.bid_id = l.bid_id
			WHERE w.seller_id BETWEEN ?1 AND ?1 + ?6 - 1 AND l.kind = 'bid_release' AND l.delta = ?7`, map[bool]int64{true: int64(o.Auctions)}[o.Proxy]},
		{"auctions DONE", `SELECT count(*) FROM auctions WHERE seller_id BETWEEN ?1 AND ?1 + ?6 - 1 AND status = 'DONE'`, int64(o.Auctions)},
		{"winner rows", `SELECT count(*) FROM auction_winners WHERE seller_id BETWEEN ?1 AND ?1 + ?6 - 1`, int64(o.Auctions)},
		{"won bids", `SELECT count(*) FROM bids AS b JOIN auction_winners AS w ON w.bid_id = b.id WHERE w.seller_id BETWEEN ?1 AND ?1 + ?6 - 1 AND b.status = 'won' AND b.amount = ?5`, int64(o.Auctions)},
		{"payouts", `SELECT count(*) FROM point_ledger WHERE user_id BETWEEN ?1 AND ?1 + ?6 - 1 AND kind = 'payout'`, int64(o.Auctions)},
		{"winning payments", `SELECT count(*) FROM point_ledger WHERE user_id BETWEEN ?0 AND ?0 + ?3 - 1 AND kind = 'winning_payment'`, int64(o.Auctions)},
		{"sellers' points", `SELECT sum(points_available) FROM users WHERE id BETWEEN ?1 AND ?1 + ?6 - 1`, int64(o.Auctions) * lead},
		{"points held", `SELECT coalesce(sum(points_held), 0) FROM users WHERE id BETWEEN ?0 AND ?0 + ?3 - 1`, 0},
		{"points in all", `SELECT sum(points_available + points_held) FROM users WHERE id BETWEEN ?1 AND ?1 + ?6 - 1 OR id BETWEEN ?0 AND ?0 + ?3 - 1`, int64(o.Bidders) * charged},
	} {
		var got int64
		if err := o.DB.NewRaw(c.sql, first, seller, charged, o.Bidders, o.Auctions, lead, o.Sellers, maximum-lead).Scan(ctx, &got); err != nil {
			return run, err
		}
		if got != c.want {
			bad++
			o.Log.Error("bench settle: INVARIANT BROKEN", "check", c.what, "got", got, "want", c.want)
		}
	}
	if bad > 0 {
		return run, fmt.Errorf("bench settle: %d invariant violations", bad)
	}
	return run, nil
}
