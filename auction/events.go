package auction

import (
	"time"

	"github.com/gavelhq/gavel/db"
)

// Event kinds, as api/openapi.yaml names the notifications.
const (
	EventPriceChanged = "price_changed" // to the auction's subscribers other than the bidder
	EventOutbid       = "outbid"        // to the bidder who lost the lead
	EventBidRejected  = "bid_rejected"  // to the bidder
	EventAuctionWon   = "auction_won"   // to the winner
	EventAuctionSold  = "auction_sold"  // to the seller, with a winner
	EventAuctionEnded = "auction_ended" // to the seller, without a winner
)

// Event is one thing that happened to an auction, for the user it concerns (UserID) or,
// for price_changed, for everyone following the auction except UserID (the bidder).
type Event struct {
	Kind         string     `json:"kind"`
	AuctionID    int64      `json:"auction_id"`
	BidID        int64      `json:"bid_id,omitempty"`
	UserID       int64      `json:"user_id,omitempty"`
	Amount       int64      `json:"amount,omitempty"`
	CurrentPrice int64      `json:"current_price,omitempty"`
	BidCount     int64      `json:"bid_count,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	WinnerID     int64      `json:"winner_id,omitempty"`
	EndAt        *time.Time `json:"end_at,omitempty"`   // a soft-closing auction's end, on price_changed
	Extended     bool       `json:"extended,omitempty"` // soft close moved EndAt
	At           time.Time  `json:"at"`
}

// Events are the events of one auction's decision: a rejection for each rejected bid,
// the loss of the lead for each outbid one, and the auction's new price once.
func (d Decision) Events() []Event {
	a := d.Auction
	var events []Event
	for _, bid := range d.Decided {
		if bid.Status == db.BidRejected {
			reason := ""
			if bid.Reason != nil {
				reason = *bid.Reason
			}
			events = append(events, Event{Kind: EventBidRejected, AuctionID: bid.AuctionID,
				BidID: bid.ID, UserID: bid.BidderID, Amount: bid.Amount, Reason: reason, At: *bid.DecidedAt})
		}
	}
	for _, bid := range d.Outbid {
		events = append(events, Event{Kind: EventOutbid, AuctionID: bid.AuctionID, BidID: bid.ID,
			UserID: bid.BidderID, Amount: bid.Amount, CurrentPrice: a.CurrentPrice, At: a.UpdatedAt})
	}
	if d.Changed && a.LeadingBidID != nil {
		// BidID names the bid whose decision made the last change: a defended leader's
		// price changes many times, and each change is a notification of its own.
		events = append(events, Event{Kind: EventPriceChanged, AuctionID: a.ID, BidID: d.changedBy,
			UserID: d.leaderID, Amount: a.CurrentPrice, CurrentPrice: a.CurrentPrice, BidCount: a.BidCount,
			EndAt: endAt(a), Extended: d.EndMoved, At: a.UpdatedAt})
	}
	return events
}

// endAt is the auction's end for an event, when soft close may move it.
func endAt(a db.Auction) *time.Time {
	if a.ExtensionSeconds == 0 {
		return nil
	}
	return &a.EndAt
}

// Events are the events of a close: auction_won to the winner and auction_sold to the
// seller, or auction_ended to the seller when nobody bid.
func (s *Settlement) Events() []Event {
	a := s.Auction
	at := a.UpdatedAt
	if a.ClosedAt != nil {
		at = *a.ClosedAt
	}
	var end *time.Time // the end, when the settlement knows it (a buy-now moved it to its decision)
	if !a.EndAt.IsZero() {
		end = &a.EndAt
	}
	if u := s.Unmet; u != nil {
		return []Event{
			{Kind: EventBidRejected, AuctionID: a.ID, BidID: u.ID, UserID: u.BidderID, Amount: u.Amount, Reason: ReasonReserveNotMet, At: at},
			{Kind: EventAuctionEnded, AuctionID: a.ID, UserID: a.SellerID, Reason: ReasonReserveNotMet, EndAt: end, At: at},
		}
	}
	if s.Winner == nil {
		return []Event{{Kind: EventAuctionEnded, AuctionID: a.ID, UserID: a.SellerID, EndAt: end, At: at}}
	}
	w := s.Winner
	return []Event{
		{Kind: EventAuctionWon, AuctionID: a.ID, BidID: w.ID, UserID: w.BidderID, Amount: w.Amount, At: at},
		{Kind: EventAuctionSold, AuctionID: a.ID, BidID: w.ID, UserID: a.SellerID, Amount: w.Amount, WinnerID: w.BidderID, EndAt: end, At: at},
	}
}
