package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gavelhq/gavel/db"
)

// BidCheck is what the database says about a bidding run.
type BidCheck struct {
	Decided int
	// DecidedPerSec is Decided over the time from the first bid's created_at to the last
	// decided_at (the start of the last decision's transaction), both the database's clock.
	DecidedPerSec float64
	Problems      []string
}

// VerifyBids waits (up to a minute) until every bid of the run is decided and released, then measures
// decisions and checks the invariants: every bid the clients were answered 202 or 201 for
// is in the database and decided, and no other bid is (accepted equals decided, by count
// and by ID), nothing pending, at most one leader per auction and it is the auction's
// leading bid, every bidder's points conserved and held exactly by their leading bids, and
// each balance explained by the ledger.
func VerifyBids(ctx context.Context, d *db.DB, run *BidRun) (*BidCheck, error) {
	c := &BidCheck{}
	var bids []db.Bid
	deadline := time.Now().Add(time.Minute)
	for {
		var err error
		if bids, err = db.BidsOfAuctions(ctx, d, run.AuctionIDs); err != nil {
			return nil, err
		}
		pending := 0
		for _, b := range bids {
			if b.Status == db.BidPending {
				pending++
			}
		}
		unreleased, err := db.UnreleasedBids(ctx, d, 1)
		if err != nil {
			return nil, err
		}
		if (pending == 0 && len(unreleased) == 0) || time.Now().After(deadline) {
			if pending > 0 {
				c.Problems = append(c.Problems, fmt.Sprintf("%d bids still pending after a minute", pending))
			}
			if len(unreleased) > 0 {
				c.Problems = append(c.Problems, "outbid or rejected bids still hold points after a minute")
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var first, last time.Time
	leaders := map[int64][]int64{}
	heldWant := map[int64]int64{}
	for _, b := range bids {
		if b.DecidedAt == nil {
			continue
		}
		c.Decided++
		if first.IsZero() || b.CreatedAt.Before(first) {
			first = b.CreatedAt
		}
		if b.DecidedAt.After(last) {
			last = *b.DecidedAt
		}
		if b.Status == db.BidLeading {
			leaders[b.AuctionID] = append(leaders[b.AuctionID], b.ID)
			heldWant[b.BidderID] += b.Held()
		}
	}
	if c.Decided > 0 {
		c.DecidedPerSec = float64(c.Decided) / last.Sub(first).Seconds()
	}
	c.Problems = append(c.Problems, acceptedIsDecided(run, bids)...)
	for _, id := range run.AuctionIDs {
		a, err := db.AuctionByID(ctx, d, id, false)
		if err != nil {
			return nil, err
		}
		ls := leaders[id]
		switch {
		case len(ls) > 1:
			c.Problems = append(c.Problems, fmt.Sprintf("auction %d has %d leading bids", id, len(ls)))
		case len(ls) == 1 && (a.LeadingBidID == nil || *a.LeadingBidID != ls[0]):
			c.Problems = append(c.Problems, fmt.Sprintf("auction %d: leading bid %d is not the auction's", id, ls[0]))
		}
	}
	users, err := db.UsersWithEmailPrefix(ctx, d, "bench-"+run.Run+"-")
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if strings.HasSuffix(u.Email, "-seller@example.com") {
			continue
		}
		ledger, err := db.LedgerTotals(ctx, d, u.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case u.PointsAvailable+u.PointsHeld != run.Charged:
			c.Problems = append(c.Problems, fmt.Sprintf("user %d: %d points, charged %d", u.ID, u.PointsAvailable+u.PointsHeld, run.Charged))
		case u.PointsHeld != heldWant[u.ID]:
			c.Problems = append(c.Problems, fmt.Sprintf("user %d holds %d, leading bids %d", u.ID, u.PointsHeld, heldWant[u.ID]))
		case ledger.Available != u.PointsAvailable || ledger.Held != u.PointsHeld:
			c.Problems = append(c.Problems, fmt.Sprintf("user %d: the ledger does not explain the balance", u.ID))
		}
	}
	return c, nil
}

// acceptedIsDecided compares the bids the clients were told were accepted with the bids the
// database holds for the run's auctions (only this run bids on them): the same number,
// and each accepted ID decided.
func acceptedIsDecided(run *BidRun, bids []db.Bid) []string {
	var problems []string
	byID := make(map[int64]db.Bid, len(bids))
	decided := 0
	for _, b := range bids {
		byID[b.ID] = b
		if b.DecidedAt != nil && b.Status != db.BidPending {
			decided++
		}
	}
	if decided != len(run.AcceptedIDs) {
		p := fmt.Sprintf("clients were answered 202/201 for %d bids, the database decided %d of the run's auctions' bids (%d in all)",
			len(run.AcceptedIDs), decided, len(bids))
		if run.Errors > 0 {
			p += fmt.Sprintf("; %d requests failed without an answer, and the server may have placed some", run.Errors)
		}
		problems = append(problems, p)
	}
	seen := make(map[int64]bool, len(run.AcceptedIDs))
	var missing, undecided, twice []int64
	for _, id := range run.AcceptedIDs {
		if seen[id] {
			twice = append(twice, id)
			continue
		}
		seen[id] = true
		switch b, ok := byID[id]; {
		case !ok:
			missing = append(missing, id)
		case b.DecidedAt == nil || b.Status == db.BidPending:
			undecided = append(undecided, id)
		}
	}
	var unknown []int64
	for _, b := range bids {
		if !seen[b.ID] {
			unknown = append(unknown, b.ID)
		}
	}
	for _, l := range []struct {
		what string
		ids  []int64
	}{
		{"accepted bids not in the database", missing},
		{"accepted bids not decided", undecided},
		{"bid IDs answered as accepted more than once", twice},
		{"bids in the database that no client was answered 202/201 for", unknown},
	} {
		if len(l.ids) > 0 {
			problems = append(problems, fmt.Sprintf("%d %s, e.g. %v", len(l.ids), l.what, l.ids[:min(len(l.ids), 10)]))
		}
	}
	return problems
}
