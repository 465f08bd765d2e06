package auction_test

import (
	"context"
	"testing"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// On PostgreSQL bids are placed by the function gavel_place_bids, which checks the minimum
// with gavel_min_next_bid: it must agree with MinNextBid at every tier and boundary.
// (SQLite places bids from Go, with MinNextBid itself.)
func TestMinNextBidFunctionAgreesWithMinNextBid(t *testing.T) {
	t.Parallel()
	d := testenv.DB(t)
	if d.Kind != db.Postgres {
		t.Skip("gavel_min_next_bid exists on PostgreSQL only; this test runs in the PostgreSQL pass")
	}
	lead := int64(1)
	prices := []int64{0, 1, 9, 10, 999, 1000, 1001, 9999, 10000, 99999, 100000, 999999, 1000000, 123456789}
	for _, price := range prices {
		for _, a := range []db.Auction{
			{StartPrice: 77, CurrentPrice: price},
			{StartPrice: 77, CurrentPrice: price, LeadingBidID: &lead},
		} {
			var got int64
			err := d.NewRaw("SELECT gavel_min_next_bid(?, ?, ?)", a.StartPrice, a.CurrentPrice, a.LeadingBidID).
				Scan(context.Background(), &got)
			require.NoError(t, err)
			assert.Equal(t, auction.MinNextBid(&a), got, "price %d, leader %v", price, a.LeadingBidID != nil)
		}
	}
}
