package auction

import (
	"context"
	"testing"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The one-statement placement checks the minimum in SQL: it must agree with MinNextBid
// at every tier and boundary.
func TestMinNextBidSQLAgreesWithMinNextBid(t *testing.T) {
	t.Parallel()
	d := testenv.DB(t)
	lead := int64(1)
	prices := []int64{0, 1, 9, 10, 999, 1000, 1001, 9999, 10000, 99999, 100000, 999999, 1000000, 123456789}
	for _, price := range prices {
		for _, a := range []db.Auction{
			{StartPrice: 77, CurrentPrice: price},
			{StartPrice: 77, CurrentPrice: price, LeadingBidID: &lead},
		} {
			var got int64
			err := d.NewRaw("SELECT "+minNextBidSQL+" FROM (SELECT ? AS start_price, ? AS current_price, ? AS leading_bid_id) AS a",
				a.StartPrice, a.CurrentPrice, a.LeadingBidID).Scan(context.Background(), &got)
			require.NoError(t, err)
			assert.Equal(t, MinNextBid(&a), got, "price %d, leader %v", price, a.LeadingBidID != nil)
		}
	}
}
