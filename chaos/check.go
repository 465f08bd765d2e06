// Package chaos is the chaos run: it starts Gavel's roles as separate processes, drives
// mixed load while killing and restarting them and their servers, and then checks the
// database against what the clients were told (Check).
package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gavelhq/gavel/db"
)

// Check verifies, once the system is at rest, the database against what clients saw
// (seen) and against sums that do not come from the same rows:
//   - money: the points all users hold equal the charges acknowledged to clients; each
//     user's charges in the ledger are exactly those acknowledged; every payout goes to
//     its auction's seller and equals its winning payment and its winner's amount;
//     nothing is held on a DONE auction, and no bid of one is pending or leading;
//   - clients: every accepted bid exists as accepted; every decision shown stands (won
//     stays won, outbid and rejected stay so, leading ends leading, outbid or won); every
//     price a stream showed was a real price of its auction, with its bid count; every
//     notification received exists for its user; every like after the last loss of
//     Redis is in the database;
//   - notifications: every outbid and rejected bid has its notification, and every DONE
//     auction its auction_won and auction_sold, or auction_ended;
//   - rest: the outbox is empty, and db.Audit's invariants hold (nothing pending, ended
//     auctions DONE and settled, releases done, balances explained by the ledger).
//
// It returns the violations found, a few of each kind with a count of the rest.
func Check(ctx context.Context, d *db.DB, seen Seen) ([]string, error) {
	r := newReport()
	findings, err := db.Audit(ctx, d)
	if err != nil {
		return nil, err
	}
	for _, f := range findings {
		r.add(f.What, "%d", f.Count)
	}
	w, err := readWorld(ctx, d)
	if err != nil {
		return nil, err
	}
	held, err := heldOnDone(ctx, d)
	if err != nil {
		return nil, err
	}
	outbox, err := outboxLeft(ctx, d)
	if err != nil {
		return nil, err
	}
	if outbox > 0 {
		r.add("outbox not empty", "%d rows left unpushed", outbox)
	}
	checkMoney(r, w, seen.Charges, held)
	checkNotificationsStored(r, w)
	checkBids(r, w, seen.Bids, seen.Decisions)
	checkPrices(r, w, seen.Prices)
	checkNotificationsShown(r, w, seen.Notifications)
	if err := checkLikes(ctx, r, d, seen.Likes); err != nil {
		return nil, err
	}
	return r.lines(), nil
}

// Unsettled says what keeps the system from rest, nothing when it is there: bids
// pending, ended auctions not DONE, releases not done, an outbox not empty. The chaos
// run waits on it, without doing any of that work itself.
func Unsettled(ctx context.Context, d *db.DB) ([]string, error) {
	findings, err := db.Audit(ctx, d)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range findings {
		switch f.What {
		case "bids still pending", "ended auctions not DONE", "outbid or rejected bids not released":
			out = append(out, fmt.Sprintf("%s: %d", f.What, f.Count))
		}
	}
	n, err := outboxLeft(ctx, d)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		out = append(out, fmt.Sprintf("outbox rows: %d", n))
	}
	return out, nil
}

func checkMoney(r *report, w *world, acked []Charge, held map[int64]int64) {
	var ackedSum int64
	type userAmount struct{ user, amount int64 }
	ackedN := map[userAmount]int{}
	for _, c := range acked {
		ackedSum += c.Amount
		ackedN[userAmount{c.UserID, c.Amount}]++
	}
	switch {
	case w.totalPoints > ackedSum:
		r.add("points minted", "users hold %d points in all, clients were acknowledged %d in charges", w.totalPoints, ackedSum)
	case w.totalPoints < ackedSum:
		r.add("points lost", "users hold %d points in all, clients were acknowledged %d in charges", w.totalPoints, ackedSum)
	}
	ledgerN := map[userAmount]int{}
	payments := map[int64]int64{} // bid -> winning payment
	for _, l := range w.money {
		switch l.Kind {
		case db.KindCharge:
			ledgerN[userAmount{l.UserID, l.Delta}]++
		case db.KindWinningPayment:
			if l.BidID != nil {
				payments[*l.BidID] = -l.HeldDelta
			}
		}
	}
	for _, k := range sortedKeys(ackedN, func(a, b userAmount) int { return cmpPair(a.user, a.amount, b.user, b.amount) }) {
		if ledgerN[k] < ackedN[k] {
			r.add("acknowledged charge missing", "user %d was acknowledged %d charge(s) of %d, the ledger has %d",
				k.user, ackedN[k], k.amount, ledgerN[k])
		}
	}
	for _, k := range sortedKeys(ledgerN, func(a, b userAmount) int { return cmpPair(a.user, a.amount, b.user, b.amount) }) {
		if ledgerN[k] > ackedN[k] {
			r.add("charge never acknowledged", "user %d has %d charge(s) of %d in the ledger, clients were acknowledged %d",
				k.user, ledgerN[k], k.amount, ackedN[k])
		}
	}
	for _, l := range w.money {
		if l.Kind == db.KindPayout {
			checkPayout(r, w, l, payments)
		}
	}
	for _, id := range sortedKeys(held, cmpInt) {
		r.add("points held on a DONE auction", "auction %d still holds %d points", id, held[id])
	}
	for _, id := range sortedKeys(w.bids, cmpInt) {
		b := w.bids[id]
		if a, ok := w.auctions[b.AuctionID]; ok && a.Status == db.StatusDone && (b.Status == db.BidPending || b.Status == db.BidLeading) {
			r.add("bid in play on a DONE auction", "bid %d of auction %d is %s", b.ID, b.AuctionID, b.Status)
		}
	}
}

// checkPayout holds a payout row to its auction's seller, its winning payment and its
// winner row.
func checkPayout(r *report, w *world, l ledgerRow, payments map[int64]int64) {
	if l.AuctionID == nil || l.BidID == nil {
		r.add("payout of the wrong amount", "ledger row %d pays %d without an auction or a bid", l.ID, l.Delta)
		return
	}
	a, ok := w.auctions[*l.AuctionID]
	if !ok {
		r.add("payout to the wrong user", "ledger row %d pays auction %d, which does not exist", l.ID, *l.AuctionID)
		return
	}
	if l.UserID != a.SellerID {
		r.add("payout to the wrong user", "ledger row %d pays auction %d to user %d, its seller is %d", l.ID, a.ID, l.UserID, a.SellerID)
	}
	paid, ok := payments[*l.BidID]
	if !ok || paid != l.Delta {
		r.add("payout of the wrong amount", "ledger row %d pays %d for auction %d, its winning payment is %d", l.ID, l.Delta, a.ID, paid)
	}
	if win, ok := w.winners[a.ID]; !ok || win.BidID != *l.BidID || win.Amount != l.Delta {
		r.add("payout of the wrong amount", "ledger row %d pays %d for bid %d of auction %d, its winner row says %d for bid %d",
			l.ID, l.Delta, *l.BidID, a.ID, win.Amount, win.BidID)
	}
}

// checkNotificationsStored looks for the notification rows that every decided bid and
// settled auction must have left, whether or not a client was connected to see them.
func checkNotificationsStored(r *report, w *world) {
	type key struct {
		user    int64
		kind    string
		subject int64 // the bid for outbid and bid_rejected, else the auction
	}
	have := map[key]bool{}
	for _, n := range w.notifications {
		subject := n.AuctionID
		if n.Kind == "outbid" || n.Kind == "bid_rejected" {
			var data struct {
				BidID int64 `json:"bid_id"`
			}
			_ = json.Unmarshal([]byte(n.Data), &data)
			subject = data.BidID
		}
		have[key{n.UserID, n.Kind, subject}] = true
	}
	for _, id := range sortedKeys(w.bids, cmpInt) {
		b := w.bids[id]
		kind := map[string]string{db.BidOutbid: "outbid", db.BidRejected: "bid_rejected"}[b.Status]
		if kind != "" && !have[key{b.BidderID, kind, b.ID}] {
			r.add("lost notification", "bid %d is %s, user %d has no %s notification for it", b.ID, b.Status, b.BidderID, kind)
		}
	}
	for _, id := range sortedKeys(w.auctions, cmpInt) {
		a := w.auctions[id]
		if a.Status != db.StatusDone {
			continue
		}
		want := []key{{a.SellerID, "auction_ended", a.ID}}
		if win, ok := w.winners[a.ID]; ok {
			want = []key{{win.WinnerID, "auction_won", a.ID}, {a.SellerID, "auction_sold", a.ID}}
		}
		for _, k := range want {
			if !have[k] {
				r.add("lost notification", "DONE auction %d: user %d has no %s notification", a.ID, k.user, k.kind)
			}
		}
	}
}

// checkBids holds every accepted bid and every decision shown to the database.
func checkBids(r *report, w *world, accepted []AcceptedBid, shown []ShownDecision) {
	for _, a := range accepted {
		b, ok := w.bids[a.ID]
		if !ok {
			r.add("accepted bid missing", "bid %d (user %d, auction %d, %s) is not in the database", a.ID, a.UserID, a.AuctionID, offerOf(a))
			continue
		}
		// What was accepted: a straight bid's amount, a proxy's maximum, a buy-now.
		kind := a.Kind
		if kind == "" {
			kind = db.KindBid
		}
		same := b.BidderID == a.UserID && b.AuctionID == a.AuctionID && b.Kind == kind
		switch {
		case a.Max != nil:
			same = same && b.MaxAmount != nil && *b.MaxAmount == *a.Max
		case kind == db.KindBid:
			same = same && b.MaxAmount == nil && b.Amount == a.Amount
		}
		if !same {
			got := AcceptedBid{ID: b.ID, UserID: b.BidderID, AuctionID: b.AuctionID, Kind: b.Kind, Amount: b.Amount, Max: b.MaxAmount}
			r.add("accepted bid changed", "bid %d was accepted as %s on auction %d by user %d, the database has %s on auction %d by user %d",
				a.ID, offerOf(a), a.AuctionID, a.UserID, offerOf(got), b.AuctionID, b.BidderID)
		}
	}
	for _, s := range shown {
		b, ok := w.bids[s.BidID]
		if !ok {
			r.add("shown decision undone", "bid %d was shown %s (%s) and is not in the database", s.BidID, s.Status, s.Where)
			continue
		}
		if !stands(s.Status, b.Status) {
			r.add("shown decision undone", "bid %d was shown %s (%s), the database says %s", s.BidID, s.Status, s.Where, b.Status)
		}
	}
}

// offerOf describes what a bid offered.
func offerOf(a AcceptedBid) string {
	switch {
	case a.Kind == db.KindBuyNow:
		return "a buy-now"
	case a.Max != nil:
		return fmt.Sprintf("a proxy bid up to %d", *a.Max)
	}
	return fmt.Sprintf("%d points", a.Amount)
}

// stands reports whether a bid shown with status `shown` may now have status `now`:
// decisions are final, and a leading bid can only lose the lead, win, or be rejected at
// the close when the reserve was not met.
func stands(shown, now string) bool {
	switch shown {
	case db.BidLeading:
		return now == db.BidLeading || now == db.BidOutbid || now == db.BidWon || now == db.BidRejected
	case db.BidWon, db.BidOutbid, db.BidRejected:
		return now == shown
	}
	return true // pending: anything may follow
}

// checkPrices holds every price a stream showed to its auction's real prices: the start
// price with no bid, or a price its bids' decisions set (price_after: the bid history),
// with a bid count of its time: the bids that took the lead, counted in decision order
// ((decided_at, id): a round decides in ID order), from the change that set the price to
// the last bid before the next change (a leader raising its own maximum takes the lead
// without changing the price). A bid took the lead unless it was rejected or defended
// against at once (outbid with the price changed and another bidder leading after it).
// Every change raises the price, so a price names its time.
func checkPrices(r *report, w *world, shown []ShownPrice) {
	byAuction := map[int64][]bidRow{}
	for _, b := range w.bids {
		if b.DecidedAt != nil && b.Status != db.BidPending {
			byAuction[b.AuctionID] = append(byAuction[b.AuctionID], b)
		}
	}
	type counts struct{ from, to int64 }
	ledAt := map[int64]map[int64]*counts{} // auction -> price -> bid_counts while it was the price
	for a, bids := range byAuction {
		slices.SortFunc(bids, func(x, y bidRow) int {
			if c := x.DecidedAt.Compare(*y.DecidedAt); c != 0 {
				return c
			}
			return cmpInt(x.ID, y.ID)
		})
		ledAt[a] = map[int64]*counts{}
		count := int64(0)
		var now *counts
		for _, b := range bids {
			defended := b.Status == db.BidOutbid && b.PriceAfter != nil && b.LeaderAfter != nil && *b.LeaderAfter != b.BidderID
			if b.Status != db.BidRejected && !defended || (b.Status == db.BidRejected && b.PriceAfter != nil) {
				count++ // it took the lead (a leader rejected at the close for its reserve did too)
			}
			if b.PriceAfter != nil {
				now = &counts{count, count}
				ledAt[a][*b.PriceAfter] = now
			} else if now != nil {
				now.to = count
			}
		}
	}
	for _, p := range shown {
		a, ok := w.auctions[p.AuctionID]
		if !ok {
			r.add("price shown that never was", "auction %d at %d (%s): no such auction", p.AuctionID, p.Price, p.Where)
			continue
		}
		c, led := ledAt[a.ID][p.Price]
		switch {
		case p.Price == a.StartPrice && (p.BidCount == nil || *p.BidCount == 0):
		case !led:
			r.add("price shown that never was", "auction %d at %d (%s): no decision of its bids set that price, its start price is %d",
				a.ID, p.Price, p.Where, a.StartPrice)
		case p.BidCount != nil && (*p.BidCount < c.from || *p.BidCount > c.to):
			r.add("price shown with a wrong bid count", "auction %d at %d (%s) with bid_count %d, %d to %d bids had taken the lead while it was the price",
				a.ID, p.Price, p.Where, *p.BidCount, c.from, c.to)
		}
	}
}

func checkNotificationsShown(r *report, w *world, shown []ShownNotification) {
	for _, s := range shown {
		n, ok := w.notifications[s.ID]
		switch {
		case !ok:
			r.add("notification shown that the database does not have", "%d (%s on auction %d) to user %d (%s)",
				s.ID, s.Kind, s.AuctionID, s.UserID, s.Where)
		case n.UserID != s.UserID || n.Kind != s.Kind || n.AuctionID != s.AuctionID:
			r.add("notification shown that the database does not have", "%d was shown to user %d as %s on auction %d (%s), the database has it for user %d as %s on auction %d",
				s.ID, s.UserID, s.Kind, s.AuctionID, s.Where, n.UserID, n.Kind, n.AuctionID)
		}
	}
}

func checkLikes(ctx context.Context, r *report, d *db.DB, likes map[[2]int64]bool) error {
	keys := make([][2]int64, 0, len(likes))
	for k := range likes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]int64) int { return cmpPair(a[0], a[1], b[0], b[1]) })
	for _, k := range keys {
		has, err := db.HasLike(ctx, d, k[0], k[1])
		if err != nil {
			return err
		}
		if has != likes[k] {
			r.add("like lost", "user %d for auction %d: the database says %v, the user's last word was %v", k[1], k[0], has, likes[k])
		}
	}
	return nil
}

// report collects violations: the first few of each kind in full, then a count, so a
// broken invariant does not bury the others under thousands of lines.
type report struct {
	order []string
	shown map[string][]string
	count map[string]int
}

const perKind = 5

func newReport() *report { return &report{shown: map[string][]string{}, count: map[string]int{}} }

func (r *report) add(kind, format string, args ...any) {
	if r.count[kind] == 0 {
		r.order = append(r.order, kind)
	}
	r.count[kind]++
	if len(r.shown[kind]) < perKind {
		r.shown[kind] = append(r.shown[kind], kind+": "+fmt.Sprintf(format, args...))
	}
}

func (r *report) lines() []string {
	var out []string
	for _, k := range r.order {
		out = append(out, r.shown[k]...)
		if more := r.count[k] - len(r.shown[k]); more > 0 {
			out = append(out, fmt.Sprintf("%s: %d more", k, more))
		}
	}
	return out
}

func sortedKeys[K comparable, V any](m map[K]V, cmp func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	return keys
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpPair(a1, a2, b1, b2 int64) int {
	if c := cmpInt(a1, b1); c != 0 {
		return c
	}
	return cmpInt(a2, b2)
}
