// The bid rules of api/openapi.yaml ("Auction formats"), in one place: what a bid may be
// placed as (Refusal), how a pending bid is decided (decideBid), and what closing an
// auction pays (settleOutcome), as plain functions over plain values. rules_cases_test.go
// holds their tables of cases (rules_test.go runs them through these functions,
// formats_test.go through the whole product on both databases); what repeats the rules in
// SQL for speed (gavel_refusal, gavel_close_auction in
// db/migrations/postgres/0010_auction_formats.sql) runs the same tables in the PostgreSQL
// pass, so a rule changed here fails there until the SQL follows.
package auction

import (
	"time"

	"github.com/gavelhq/gavel/db"
)

// Rejection reasons, as Bid.reason gives them.
const (
	ReasonTooLow            = "bid_too_low"
	ReasonClosed            = "auction_closed"
	ReasonBuyNowUnavailable = "buy_now_unavailable"
	ReasonReserveNotMet     = "reserve_not_met"
)

// MaxExtension is how far soft close may move an auction's end past the seller's end.
const MaxExtension = 24 * time.Hour

// Refusal is why a bid of the kind (db.KindBid, db.KindBuyNow) by bidderID, offering
// `offer` (a proxy bid's maximum, a straight bid's amount; ignored for a buy-now), on a at
// now by the database clock, is refused, or nil. In this order: the bidder is the seller,
// the auction has not started, has ended, buy-it-now is not available, the offer is below
// the minimum next bid.
func Refusal(a *db.Auction, kind string, bidderID, offer int64, now time.Time) error {
	switch {
	case a.SellerID == bidderID:
		return ErrOwnAuction
	case now.Before(a.StartAt):
		return ErrAuctionNotStarted
	case !now.Before(a.EndAt) || a.Status == db.StatusDone:
		return ErrAuctionClosed
	case kind == db.KindBuyNow:
		if !BuyNowAvailable(a) {
			return ErrBuyNowUnavailable
		}
	case offer < MinNextBid(a):
		return ErrBidTooLow
	}
	return nil
}

// refusals are Refusal's errors by their codes (the codes gavel_refusal gives).
var refusals = map[string]error{
	"own_auction": ErrOwnAuction, "auction_not_started": ErrAuctionNotStarted, "auction_closed": ErrAuctionClosed,
	"buy_now_unavailable": ErrBuyNowUnavailable, "bid_too_low": ErrBidTooLow,
}

// RefusalCode is the code of a Refusal error, "" for nil.
func RefusalCode(err error) string {
	for code, e := range refusals {
		if e == err {
			return code
		}
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// BuyNowAvailable says whether the auction can still be bought now: it has a buy-now
// price, is not DONE, and no bid has led, or it has a reserve that is not met.
func BuyNowAvailable(a *db.Auction) bool {
	return a.BuyNowPrice != nil && a.Status != db.StatusDone &&
		(a.LeadingBidID == nil || (a.ReservePrice != nil && a.CurrentPrice < *a.ReservePrice))
}

// ReserveMet says whether the price has reached the reserve (nil: no reserve).
func ReserveMet(a *db.Auction) *bool {
	if a.ReservePrice == nil {
		return nil
	}
	met := a.CurrentPrice >= *a.ReservePrice
	return &met
}

// next is the least that beats a price: next(x) = x + increment(x).
func next(x int64) int64 { return x + Increment(x) }

// step is what deciding one bid did.
type step struct {
	displaced *db.Bid // the bid that lost the lead (now outbid), or nil
	changed   bool    // the price or the leading bidder changed
	sold      bool    // a buy-now won: the auction is DONE
}

// decideBid decides the pending bid b, arrived in order, on auction a whose leading bid is
// leader (nil: none), at now, by the rules of api/openapi.yaml; it updates b, leader and a
// in place and returns the leading bid after it. The leading bid's amount is always the
// auction's price.
func decideBid(a *db.Auction, leader, b *db.Bid, now time.Time) (*db.Bid, step) {
	b.DecidedAt = &now
	reject := func(reason string) (*db.Bid, step) {
		b.Status, b.Reason = db.BidRejected, &reason
		return leader, step{}
	}
	if !b.CreatedAt.Before(a.EndAt) || a.Status == db.StatusDone {
		return reject(ReasonClosed)
	}
	price, lead := a.CurrentPrice, leader
	var st step
	take := func(price int64) { // b takes the lead at price
		if leader != nil {
			leader.Status = db.BidOutbid // its decided_at stays the time it took the lead
			st.displaced = leader
		}
		b.Status, lead = db.BidLeading, b
		a.LeadingBidID, a.BidCount, a.CurrentPrice = &b.ID, a.BidCount+1, price
	}
	if b.Kind == db.KindBuyNow {
		if !BuyNowAvailable(a) {
			return reject(ReasonBuyNowUnavailable)
		}
		take(b.Amount)
		b.Status = db.BidWon
		a.Status, a.EndAt, a.ClosedAt = db.StatusDone, now, &now
		st.sold, st.changed = true, true
		b.PriceAfter, b.LeaderAfter = ptr(a.CurrentPrice), ptr(b.BidderID)
		return b, st
	}
	m, proxy := b.Held(), b.MaxAmount != nil
	offer := func(otherwise int64) int64 { // a straight bid's price is its amount
		if proxy {
			return otherwise
		}
		return b.Amount
	}
	switch {
	case leader == nil:
		take(offer(a.StartPrice))
	case m < next(price):
		return reject(ReasonTooLow)
	case leader.BidderID == b.BidderID: // a raise: nobody bids against themselves
		take(offer(price))
	case m > leader.Held():
		take(offer(min(m, next(leader.Held()))))
	default: // the leader's maximum defends; on a tie the earlier bid keeps the lead
		a.CurrentPrice = max(price, min(leader.Held(), next(m)))
		b.Status, b.Amount = db.BidOutbid, m
	}
	if r := a.ReservePrice; r != nil && lead.Held() >= *r && a.CurrentPrice < *r {
		a.CurrentPrice = *r
	}
	lead.Amount = a.CurrentPrice
	st.changed = a.CurrentPrice != price || leader == nil || lead.BidderID != leader.BidderID
	if st.changed {
		b.PriceAfter, b.LeaderAfter = ptr(a.CurrentPrice), ptr(lead.BidderID)
		extend(a, b.CreatedAt)
	}
	return lead, st
}

// extend moves a soft-closing auction's end for a decision that changed the leader or the
// price, of a bid created at `at`: to at + extension_seconds when that is later and `at`
// falls within the last extension_seconds, never past the seller's end plus MaxExtension.
func extend(a *db.Auction, at time.Time) {
	e := time.Duration(a.ExtensionSeconds) * time.Second
	if e <= 0 || at.Before(a.EndAt.Add(-e)) {
		return
	}
	end, limit := at.Add(e), a.OriginalEnd().Add(MaxExtension)
	if end.After(limit) {
		end = limit
	}
	if end.After(a.EndAt) {
		orig := a.OriginalEnd()
		a.OriginalEndAt, a.EndAt = &orig, end
	}
}

// outcome is what closing an auction does with its leading bid.
type outcome struct {
	win    bool   // the leading bid wins, paying pay and getting rest back
	pay    int64  // the price
	rest   int64  // what the winner held beyond the price (a proxy's maximum)
	reason string // without a winner: why (ReasonReserveNotMet), "" when nobody bid
}

// settleOutcome is what closing a with its leading bid lead (nil: none) does: the leader
// wins at the price, unless a reserve was not met, when it is rejected and released.
func settleOutcome(a *db.Auction, lead *db.Bid) outcome {
	switch {
	case lead == nil:
		return outcome{}
	case a.ReservePrice != nil && a.CurrentPrice < *a.ReservePrice:
		return outcome{reason: ReasonReserveNotMet}
	}
	return outcome{win: true, pay: lead.Amount, rest: lead.Held() - lead.Amount}
}

// Increment is the smallest raise over a current price, by the increment table of api/openapi.yaml.
func Increment(price int64) int64 {
	switch {
	case price < 1_000:
		return 10
	case price < 10_000:
		return 100
	case price < 100_000:
		return 500
	case price < 1_000_000:
		return 1_000
	default:
		return 5_000
	}
}

// MinNextBid is the least a bid must offer now: the start price while nobody has bid,
// else the current price plus its increment.
func MinNextBid(a *db.Auction) int64 {
	if a.LeadingBidID == nil {
		return a.StartPrice
	}
	return a.CurrentPrice + Increment(a.CurrentPrice)
}

// MaskNickname hides most of a nickname in public views: the first two characters and
// "***", or only the first for a nickname of one or two characters.
func MaskNickname(nick string) string {
	r := []rune(nick)
	if len(r) <= 2 {
		if len(r) == 0 {
			return "***"
		}
		return string(r[:1]) + "***"
	}
	return string(r[:2]) + "***"
}
