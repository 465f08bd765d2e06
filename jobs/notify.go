package jobs

import (
	"encoding/json"
	"time"

	"github.com/hibiken/asynq"
)

// TypeNotifyEvents turns the events of one decision or settlement into notifications for
// the users they concern and into live events for the auction's stream.
const TypeNotifyEvents = "notify:events"

// Event kinds, as API.md names the notifications.
const (
	EventPriceChanged = "price_changed" // to the auction's subscribers other than the bidder
	EventOutbid       = "outbid"        // to the bidder who lost the lead
	EventBidRejected  = "bid_rejected"  // to the bidder
	EventAuctionWon   = "auction_won"   // to the winner
	EventAuctionSold  = "auction_sold"  // to the seller, with a winner
	EventAuctionEnded = "auction_ended" // to the seller and subscribers, without a winner
)

// Event is one thing that happened to an auction, for the user it concerns (UserID) or,
// for price_changed, for everyone following the auction except UserID (the bidder).
type Event struct {
	Kind      string    `json:"kind"`
	AuctionID int64     `json:"auction_id"`
	BidID     int64     `json:"bid_id,omitempty"`
	UserID    int64     `json:"user_id,omitempty"`
	Amount    int64     `json:"amount,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	At        time.Time `json:"at"`
}

// NotifyEventsPayload is the payload of TypeNotifyEvents.
type NotifyEventsPayload struct {
	Events []Event `json:"events"`
}

// NewNotifyEventsTask makes the task that delivers the events, in their order.
func NewNotifyEventsTask(events []Event) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(NotifyEventsPayload{Events: events})
	return asynq.NewTask(TypeNotifyEvents, payload), []asynq.Option{
		asynq.Queue(QueueDefault),
		asynq.MaxRetry(10),
		asynq.Timeout(30 * time.Second),
	}
}
