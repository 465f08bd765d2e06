package chaos_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/chaos"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/require"
)

// fixture is a small consistent world, made through the product's own code, and what
// its clients saw of it:
//   - sold: bidder 1 bids 100 (outbid), bidder 2 bids 300 (wins), bidder 3 bids 300
//     (rejected, too low); settled and paid to the seller;
//   - unsold: no bid, ended;
//   - open: bidder 1 leads at 200, ending in an hour;
//   - proxy: bidder 2's proxy bid up to 1,000 leads at 100, and defends against bidder 3's
//     400 at 410 (bidder 3 outbid at once), ending in an hour.
//
// Every user has a setup charge of 10,000 and bidder 3 a second one of 1,000.
type fixture struct {
	d                    *db.DB
	seller               int64
	bidders              [3]int64
	sold, unsold, open   int64
	proxy                int64
	outbid, won, leading int64 // bids
	proxyBid             int64
	seen                 chaos.Seen
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{d: testenv.DB(t), seen: chaos.Seen{Likes: map[[2]int64]bool{}}}
	wallet := &auction.Wallet{DB: f.d}
	user := func(name string) int64 {
		u := &db.User{Email: name + "@example.com", EmailKey: name + "@example.com", PasswordHash: "x",
			Nickname: name, BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "other"}
		require.NoError(t, db.InsertUser(ctx, f.d, u))
		f.charge(t, wallet, u.ID, 10_000)
		return u.ID
	}
	f.seller = user("seller")
	for i := range f.bidders {
		f.bidders[i] = user(fmt.Sprintf("bidder%d", i+1))
	}
	f.charge(t, wallet, f.bidders[2], 1000)
	f.sold, f.unsold, f.open = f.auction(t, "sold"), f.auction(t, "unsold"), f.auction(t, "open")
	f.proxy = f.auction(t, "proxy")

	bidding := &auction.Bidding{DB: f.d}
	bid := func(bidder, auctionID, amount int64) int64 {
		b, err := bidding.PlaceBid(ctx, bidder, auctionID, amount, "")
		require.NoError(t, err)
		f.seen.Bids = append(f.seen.Bids, chaos.AcceptedBid{ID: b.ID, UserID: bidder, AuctionID: auctionID, Amount: amount})
		return b.ID
	}
	f.outbid = bid(f.bidders[0], f.sold, 100)
	f.won = bid(f.bidders[1], f.sold, 300)
	rejected := bid(f.bidders[2], f.sold, 300)
	f.leading = bid(f.bidders[0], f.open, 200)
	maximum := int64(1000)
	pb, err := bidding.Place(ctx, f.bidders[1], f.proxy, auction.Order{Max: &maximum}, "")
	require.NoError(t, err)
	f.proxyBid = pb.ID
	f.seen.Bids = append(f.seen.Bids, chaos.AcceptedBid{ID: pb.ID, UserID: f.bidders[1], AuctionID: f.proxy, Max: &maximum})
	for _, a := range []int64{f.sold, f.open, f.proxy} {
		dec, err := bidding.Decide(ctx, a)
		require.NoError(t, err)
		for _, r := range dec.Released {
			require.NoError(t, bidding.Release(ctx, r.ID))
		}
	}
	defended := bid(f.bidders[2], f.proxy, 400)
	for _, a := range []int64{f.proxy} {
		dec, err := bidding.Decide(ctx, a)
		require.NoError(t, err)
		for _, r := range dec.Released {
			require.NoError(t, bidding.Release(ctx, r.ID))
		}
	}
	for _, a := range []int64{f.sold, f.unsold} {
		f.exec(t, `UPDATE auctions SET end_at = ? WHERE id = ?`, time.Now().Add(-time.Second).UTC(), a)
		_, err := bidding.Close(ctx, a, false)
		require.NoError(t, err)
	}
	// Deliver the notifications of the decisions and settlements, as the worker would.
	_, err = (&auction.Notifier{DB: f.d}).PushStale(ctx, -time.Minute, 1000)
	require.NoError(t, err)

	f.seen.Decisions = []chaos.ShownDecision{
		{BidID: f.outbid, Status: db.BidLeading, Where: "201"}, {BidID: f.outbid, Status: db.BidOutbid, Where: "read"},
		{BidID: f.won, Status: db.BidWon, Where: "read"}, {BidID: rejected, Status: db.BidRejected, Where: "201"},
		{BidID: f.leading, Status: db.BidLeading, Where: "read"}, {BidID: defended, Status: db.BidOutbid, Where: "201"},
		{BidID: f.proxyBid, Status: db.BidLeading, Where: "read"},
	}
	f.seen.Prices = []chaos.ShownPrice{
		{AuctionID: f.sold, Price: 100, BidCount: ptr(0), Where: "stream"}, {AuctionID: f.sold, Price: 300, BidCount: ptr(2), Where: "stream"},
		{AuctionID: f.open, Price: 200, BidCount: ptr(1), Where: "stream"}, {AuctionID: f.unsold, Price: 100, Where: "stream"},
		{AuctionID: f.proxy, Price: 100, BidCount: ptr(1), Where: "stream"}, {AuctionID: f.proxy, Price: 410, BidCount: ptr(1), Where: "stream"},
	}
	var ns []db.Notification
	require.NoError(t, f.d.NewSelect().Model(&ns).Scan(ctx))
	require.NotEmpty(t, ns, "the fixture's decisions and settlements notify")
	for _, n := range ns {
		f.seen.Notifications = append(f.seen.Notifications, chaos.ShownNotification{ID: n.ID, UserID: n.UserID, AuctionID: n.AuctionID, Kind: n.Kind, Where: "list"})
	}
	require.NoError(t, db.ApplyLikes(ctx, f.d, []db.LikeChange{{AuctionID: f.open, UserID: f.bidders[0], Liked: true}}))
	f.seen.Likes = map[[2]int64]bool{{f.open, f.bidders[0]}: true, {f.open, f.bidders[1]}: false}
	return f
}

func (f *fixture) charge(t *testing.T, w *auction.Wallet, user, amount int64) {
	t.Helper()
	_, err := w.Charge(context.Background(), user, amount, "")
	require.NoError(t, err)
	f.seen.Charges = append(f.seen.Charges, chaos.Charge{UserID: user, Amount: amount})
}

func (f *fixture) auction(t *testing.T, name string) int64 {
	t.Helper()
	a := &db.Auction{SellerID: f.seller, Name: name, StartPrice: 100, CurrentPrice: 100, Status: db.StatusPending,
		StartAt: time.Now().Add(-time.Minute).UTC(), EndAt: time.Now().Add(time.Hour).UTC()}
	require.NoError(t, db.InsertAuction(context.Background(), f.d, a))
	return a.ID
}

func (f *fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	res, err := f.d.ExecContext(context.Background(), sql, args...)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Positive(t, n, "%s changed nothing", sql)
}

func (f *fixture) check(t *testing.T) []string {
	t.Helper()
	problems, err := chaos.Check(context.Background(), f.d, f.seen)
	require.NoError(t, err)
	return problems
}

func ptr(n int64) *int64 { return &n }

func TestCheckPassesAConsistentWorld(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.Empty(t, f.check(t))
	unsettled, err := chaos.Unsettled(context.Background(), f.d)
	require.NoError(t, err)
	require.Empty(t, unsettled)
}

// Each case breaks one invariant, in the database or in what clients saw, the way a
// loss would, and the checker must name it.
func TestCheckCatchesEachBrokenInvariant(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		breakIt func(t *testing.T, f *fixture)
		want    func(f *fixture) string
	}{
		{"points minted by a second payout the ledger explains", func(t *testing.T, f *fixture) {
			f.exec(t, `INSERT INTO point_ledger (user_id, kind, delta, held_delta, bid_id, auction_id, created_at)
				VALUES (?, 'payout', 500, 0, ?, ?, ?)`, f.seller, f.outbid, f.sold, time.Now().UTC())
			f.exec(t, `UPDATE users SET points_available = points_available + 500 WHERE id = ?`, f.seller)
		}, func(f *fixture) string {
			return "points minted: users hold 41500 points in all, clients were acknowledged 41000 in charges"
		}},
		{"a payout to the wrong user", func(t *testing.T, f *fixture) {
			f.exec(t, `UPDATE point_ledger SET user_id = ? WHERE kind = 'payout'`, f.bidders[2])
			f.exec(t, `UPDATE users SET points_available = points_available - 300 WHERE id = ?`, f.seller)
			f.exec(t, `UPDATE users SET points_available = points_available + 300 WHERE id = ?`, f.bidders[2])
		}, func(f *fixture) string {
			return fmt.Sprintf("payout to the wrong user: ledger row %d pays auction %d to user %d, its seller is %d",
				f.payoutRow(), f.sold, f.bidders[2], f.seller)
		}},
		{"a payout multiplied by ten", func(t *testing.T, f *fixture) {
			f.exec(t, `UPDATE point_ledger SET delta = delta * 10 WHERE kind = 'payout'`)
			f.exec(t, `UPDATE users SET points_available = points_available + 2700 WHERE id = ?`, f.seller)
		}, func(f *fixture) string {
			return fmt.Sprintf("payout of the wrong amount: ledger row %d pays 3000 for auction %d, its winning payment is 300", f.payoutRow(), f.sold)
		}},
		{"an acknowledged charge lost with its balance", func(t *testing.T, f *fixture) {
			f.exec(t, `DELETE FROM point_ledger WHERE kind = 'charge' AND user_id = ? AND delta = 1000`, f.bidders[2])
			f.exec(t, `UPDATE users SET points_available = points_available - 1000 WHERE id = ?`, f.bidders[2])
		}, func(f *fixture) string {
			return fmt.Sprintf("acknowledged charge missing: user %d was acknowledged 1 charge(s) of 1000, the ledger has 0", f.bidders[2])
		}},
		{"a charge never acknowledged", func(t *testing.T, f *fixture) {
			_, err := (&auction.Wallet{DB: f.d}).Charge(context.Background(), f.bidders[1], 70, "")
			require.NoError(t, err)
		}, func(f *fixture) string {
			return fmt.Sprintf("charge never acknowledged: user %d has 1 charge(s) of 70 in the ledger, clients were acknowledged 0", f.bidders[1])
		}},
		{"a shown decision undone", func(t *testing.T, f *fixture) {
			f.exec(t, `UPDATE bids SET status = 'pending', decided_at = NULL WHERE id = ?`, f.leading)
			f.exec(t, `UPDATE auctions SET leading_bid_id = NULL, current_price = start_price, bid_count = 0 WHERE id = ?`, f.open)
		}, func(f *fixture) string {
			return fmt.Sprintf("shown decision undone: bid %d was shown leading (read), the database says pending", f.leading)
		}},
		{"a won bid shown, outbid in the database", func(t *testing.T, f *fixture) {
			f.seen.Decisions = append(f.seen.Decisions, chaos.ShownDecision{BidID: f.outbid, Status: db.BidWon, Where: "201"})
		}, func(f *fixture) string {
			return fmt.Sprintf("shown decision undone: bid %d was shown won (201), the database says outbid", f.outbid)
		}},
		{"a price shown that never was", func(t *testing.T, f *fixture) {
			f.seen.Prices = append(f.seen.Prices, chaos.ShownPrice{AuctionID: f.sold, Price: 250, Where: "stream"})
		}, func(f *fixture) string {
			return fmt.Sprintf("price shown that never was: auction %d at 250 (stream): no decision of its bids set that price, its start price is 100", f.sold)
		}},
		{"a defended bid's amount shown as a price", func(t *testing.T, f *fixture) {
			f.seen.Prices = append(f.seen.Prices, chaos.ShownPrice{AuctionID: f.proxy, Price: 400, BidCount: ptr(2), Where: "stream"})
		}, func(f *fixture) string {
			return fmt.Sprintf("price shown that never was: auction %d at 400 (stream)", f.proxy)
		}},
		{"a defended price shown with a bid count that counts the defeated bid", func(t *testing.T, f *fixture) {
			f.seen.Prices = append(f.seen.Prices, chaos.ShownPrice{AuctionID: f.proxy, Price: 410, BidCount: ptr(2), Where: "stream"})
		}, func(f *fixture) string {
			return fmt.Sprintf("price shown with a wrong bid count: auction %d at 410 (stream) with bid_count 2, 1 to 1 bids", f.proxy)
		}},
		{"an accepted proxy bid's maximum changed", func(t *testing.T, f *fixture) {
			f.exec(t, `UPDATE bids SET max_amount = 1500 WHERE id = ?`, f.proxyBid)
		}, func(f *fixture) string {
			return fmt.Sprintf("accepted bid changed: bid %d was accepted as a proxy bid up to 1000 on auction %d by user %d, the database has a proxy bid up to 1500",
				f.proxyBid, f.proxy, f.bidders[1])
		}},
		{"a price shown with a wrong bid count", func(t *testing.T, f *fixture) {
			f.seen.Prices = append(f.seen.Prices, chaos.ShownPrice{AuctionID: f.sold, Price: 300, BidCount: ptr(5), Where: "stream"})
		}, func(f *fixture) string {
			return fmt.Sprintf("price shown with a wrong bid count: auction %d at 300 (stream) with bid_count 5", f.sold)
		}},
		{"a lost outbid notification", func(t *testing.T, f *fixture) {
			f.exec(t, `DELETE FROM notifications WHERE kind = 'outbid'`)
			f.seen.Notifications = nil
		}, func(f *fixture) string {
			return fmt.Sprintf("lost notification: bid %d is outbid, user %d has no outbid notification for it", f.outbid, f.bidders[0])
		}},
		{"a lost auction_sold notification", func(t *testing.T, f *fixture) {
			f.exec(t, `DELETE FROM notifications WHERE kind = 'auction_sold'`)
			f.seen.Notifications = nil
		}, func(f *fixture) string {
			return fmt.Sprintf("lost notification: DONE auction %d: user %d has no auction_sold notification", f.sold, f.seller)
		}},
		{"a notification shown that the database lost", func(t *testing.T, f *fixture) {
			f.exec(t, `DELETE FROM notifications WHERE kind = 'auction_ended'`)
		}, func(f *fixture) string {
			return "notification shown that the database does not have: "
		}},
		{"an accepted bid missing", func(t *testing.T, f *fixture) {
			f.seen.Bids = append(f.seen.Bids, chaos.AcceptedBid{ID: 999999, UserID: f.bidders[0], AuctionID: f.open, Amount: 900})
		}, func(f *fixture) string {
			return fmt.Sprintf("accepted bid missing: bid 999999 (user %d, auction %d, 900 points) is not in the database", f.bidders[0], f.open)
		}},
		{"a pending bid left", func(t *testing.T, f *fixture) {
			_, err := (&auction.Bidding{DB: f.d}).PlaceBid(context.Background(), f.bidders[1], f.open, 500, "")
			require.NoError(t, err)
		}, func(f *fixture) string { return "bids still pending: 1" }},
		{"points held on a DONE auction", func(t *testing.T, f *fixture) {
			f.exec(t, `DELETE FROM point_ledger WHERE kind = 'bid_release' AND bid_id = ?`, f.outbid)
			f.exec(t, `UPDATE users SET points_available = points_available - 100, points_held = points_held + 100 WHERE id = ?`, f.bidders[0])
		}, func(f *fixture) string {
			return fmt.Sprintf("points held on a DONE auction: auction %d still holds 100 points", f.sold)
		}},
		{"a leading bid on a DONE auction", func(t *testing.T, f *fixture) {
			f.exec(t, `UPDATE auctions SET status = 'DONE', end_at = ? WHERE id = ?`, time.Now().UTC(), f.open)
		}, func(f *fixture) string {
			return fmt.Sprintf("bid in play on a DONE auction: bid %d of auction %d is leading", f.leading, f.open)
		}},
		{"an outbox row left", func(t *testing.T, f *fixture) {
			require.NoError(t, db.InsertOutbox(context.Background(), f.d, &db.OutboxRow{Kind: db.OutboxSettled, AuctionID: &f.unsold, CreatedAt: time.Now()}))
		}, func(f *fixture) string { return "outbox not empty: 1 rows left unpushed" }},
		{"a like lost", func(t *testing.T, f *fixture) {
			f.exec(t, `DELETE FROM likes WHERE user_id = ?`, f.bidders[0])
		}, func(f *fixture) string {
			return fmt.Sprintf("like lost: user %d for auction %d: the database says false, the user's last word was true", f.bidders[0], f.open)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			c.breakIt(t, f)
			problems := f.check(t)
			want := c.want(f)
			for _, p := range problems {
				if strings.HasPrefix(p, want) {
					return
				}
			}
			t.Fatalf("the checker missed it: want a line starting %q, got %q", want, problems)
		})
	}
}

func (f *fixture) payoutRow() int64 {
	var id int64
	if err := f.d.NewRaw(`SELECT id FROM point_ledger WHERE kind = 'payout'`).Scan(context.Background(), &id); err != nil {
		panic(err)
	}
	return id
}
