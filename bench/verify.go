package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gavelhq/gavel/db"
)

// BidCheck is what the database says about a bidding run.
type BidCheck struct {
	Decided        int
	DecidedPerSec  float64
	P50, P99       time.Duration // from acceptance to decision
	Problems       []string
	PendingAtStart int
}

// VerifyBids waits (up to a minute) until every bid of the run is decided and released, then measures
// decisions and checks the invariants: nothing pending, at most one leader per auction and
// it is the auction's leading bid, every bidder's points conserved and held exactly by
// their leading bids, and each balance explained by the ledger.
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
	var lat []time.Duration
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
		lat = append(lat, b.DecidedAt.Sub(b.CreatedAt))
		if b.Status == db.BidLeading {
			leaders[b.AuctionID] = append(leaders[b.AuctionID], b.ID)
			heldWant[b.BidderID] += b.Amount
		}
	}
	if c.Decided > 0 {
		c.DecidedPerSec = float64(c.Decided) / last.Sub(first).Seconds()
		slices.Sort(lat)
		c.P50, c.P99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	}
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
