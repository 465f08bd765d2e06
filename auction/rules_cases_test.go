package auction

import (
	"time"

	"github.com/gavelhq/gavel/db"
)

// The tables of cases of the bid rules (rules.go). Every case runs through the rules alone
// (rules_test.go) and through the whole product on both databases (formats_test.go: bids
// placed, decided, closed and settled by the code the workers run); RefusalCases also run
// through gavel_refusal on PostgreSQL, and the cases' closes through gavel_close_auction.
// A rule changed in rules.go fails here until its cases change with it, and fails on
// PostgreSQL until the SQL follows.

// Bidders of the cases, by index.
const (
	Alice = iota
	Bob
	Carol
)

// Nobody is no bidder: no leader, no winner.
const Nobody = -1

// Step is a bid of a DecisionCase, made at At (relative to the auction's original end),
// and what must follow from it.
type Step struct {
	Who    int
	Kind   string // "" for a bid, db.KindBuyNow
	Amount int64  // a straight bid's amount
	Max    int64  // a proxy bid's maximum (then Amount is 0)
	At     time.Duration
	// Want is the bid's status once every step is decided (before the close), with its
	// reason after a colon: "leading", "outbid", "rejected:bid_too_low", "won".
	Want string
	// Price and Leader are the auction's price and leading bidder just after this bid.
	Price  int64
	Leader int
}

// DecisionCase is an auction, its bids in arrival order and its close.
type DecisionCase struct {
	Name                   string
	Start, Reserve, BuyNow int64         // Reserve and BuyNow 0: none
	Extension              int64         // soft close, seconds
	Moved                  time.Duration // how far the end has moved already
	Steps                  []Step
	BidCount               int64         // after every step
	EndMoved               time.Duration // how far the end has moved after every step
	Winner                 int           // the winner at the close (Nobody: none)
	Pay                    int64         // what the winner pays
	Unmet                  bool          // the close rejects the leading bid: reserve not met
}

// Sold says a buy-now of the case wins: the auction is DONE and settled at its decision.
func (c DecisionCase) Sold() bool {
	for _, s := range c.Steps {
		if s.Want == db.BidWon {
			return true
		}
	}
	return false
}

func straight(who int, amount int64, want string, price int64, leader int) Step {
	return Step{Who: who, Amount: amount, At: -30 * time.Minute, Want: want, Price: price, Leader: leader}
}

func proxy(who int, max int64, want string, price int64, leader int) Step {
	return Step{Who: who, Max: max, At: -30 * time.Minute, Want: want, Price: price, Leader: leader}
}

func buyNow(who int, want string, price int64, leader int) Step {
	return Step{Who: who, Kind: db.KindBuyNow, At: -30 * time.Minute, Want: want, Price: price, Leader: leader}
}

func at(s Step, d time.Duration) Step { s.At = d; return s }

// DecisionCases is the table of the decision and settlement rules (start price 100: the
// increment is 10 below 1,000).
var DecisionCases = []DecisionCase{
	{Name: "straight bids: the higher leads at its amount", Start: 100, Steps: []Step{
		straight(Alice, 150, "outbid", 150, Alice), straight(Bob, 200, "leading", 200, Bob),
	}, BidCount: 2, Winner: Bob, Pay: 200},
	{Name: "a bid below next(price) is rejected when decided", Start: 100, Steps: []Step{
		straight(Alice, 150, "leading", 150, Alice), straight(Bob, 159, "rejected:bid_too_low", 150, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 150},
	{Name: "a first proxy bid leads at the start price", Start: 100, Steps: []Step{
		proxy(Alice, 500, "leading", 100, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 100},
	{Name: "a proxy defends against a lower straight bid, one increment above it", Start: 100, Steps: []Step{
		proxy(Alice, 500, "leading", 100, Alice), straight(Bob, 300, "outbid", 310, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 310},
	{Name: "a proxy defends up to its maximum only", Start: 100, Steps: []Step{
		proxy(Alice, 500, "leading", 100, Alice), straight(Bob, 495, "outbid", 500, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 500},
	{Name: "a higher proxy leads one increment above the lower maximum", Start: 100, Steps: []Step{
		proxy(Alice, 500, "outbid", 100, Alice), proxy(Bob, 800, "leading", 510, Bob),
	}, BidCount: 2, Winner: Bob, Pay: 510},
	{Name: "a higher proxy within one increment leads at its maximum", Start: 100, Steps: []Step{
		proxy(Alice, 500, "outbid", 100, Alice), proxy(Bob, 505, "leading", 505, Bob),
	}, BidCount: 2, Winner: Bob, Pay: 505},
	{Name: "on a tie of maximums the earlier bid keeps the lead at the maximum", Start: 100, Steps: []Step{
		proxy(Alice, 500, "leading", 100, Alice), proxy(Bob, 500, "outbid", 500, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 500},
	{Name: "a straight bid over the maximum leads at its amount", Start: 100, Steps: []Step{
		proxy(Alice, 500, "outbid", 100, Alice), straight(Bob, 600, "leading", 600, Bob),
	}, BidCount: 2, Winner: Bob, Pay: 600},
	{Name: "a proxy below next(price) is rejected", Start: 100, Steps: []Step{
		straight(Alice, 300, "leading", 300, Alice), proxy(Bob, 305, "rejected:bid_too_low", 300, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 300},
	{Name: "the leader raising its maximum keeps the price: nobody bids against themselves", Start: 100, Steps: []Step{
		straight(Alice, 150, "outbid", 150, Alice), proxy(Alice, 400, "leading", 150, Alice),
	}, BidCount: 2, Winner: Alice, Pay: 150},
	{Name: "the leader raising with a straight bid pays its amount", Start: 100, Steps: []Step{
		straight(Alice, 150, "outbid", 150, Alice), straight(Alice, 200, "leading", 200, Alice),
	}, BidCount: 2, Winner: Alice, Pay: 200},
	{Name: "the leader's raise below next(price) is rejected", Start: 100, Steps: []Step{
		straight(Alice, 150, "leading", 150, Alice), straight(Alice, 155, "rejected:bid_too_low", 150, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 150},
	{Name: "a defended proxy is overtaken by a higher one", Start: 100, Steps: []Step{
		proxy(Alice, 500, "outbid", 100, Alice), straight(Bob, 300, "outbid", 310, Alice),
		proxy(Carol, 1_000, "leading", 510, Carol),
	}, BidCount: 2, Winner: Carol, Pay: 510},
	{Name: "increments follow the price: over 1,000 the step is 100", Start: 100, Steps: []Step{
		proxy(Alice, 5_000, "leading", 100, Alice), straight(Bob, 1_200, "outbid", 1_300, Alice),
		proxy(Bob, 1_350, "rejected:bid_too_low", 1_300, Alice), proxy(Bob, 1_450, "outbid", 1_550, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 1_550},
	{Name: "a maximum over the reserve lifts the price to it", Start: 100, Reserve: 400, Steps: []Step{
		proxy(Alice, 500, "leading", 400, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 400},
	{Name: "a maximum exactly at the reserve meets it", Start: 100, Reserve: 400, Steps: []Step{
		proxy(Alice, 400, "leading", 400, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 400},
	{Name: "a maximum under the reserve: the reserve is not met and nobody wins", Start: 100, Reserve: 400, Steps: []Step{
		proxy(Alice, 300, "leading", 100, Alice),
	}, BidCount: 1, Winner: Nobody, Unmet: true},
	{Name: "a straight bid under the reserve: not met", Start: 100, Reserve: 400, Steps: []Step{
		straight(Alice, 350, "leading", 350, Alice),
	}, BidCount: 1, Winner: Nobody, Unmet: true},
	{Name: "a reserve met, then defended above it", Start: 100, Reserve: 400, Steps: []Step{
		proxy(Alice, 500, "leading", 400, Alice), straight(Bob, 420, "outbid", 430, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 430},
	{Name: "the reserve met by a later bid", Start: 100, Reserve: 400, Steps: []Step{
		straight(Alice, 200, "outbid", 200, Alice), proxy(Bob, 450, "leading", 400, Bob),
	}, BidCount: 2, Winner: Bob, Pay: 400},
	{Name: "the worked example of api/openapi.yaml (bids tag): a proxy contest over a reserve", Start: 100, Reserve: 400, Steps: []Step{
		proxy(Alice, 500, "outbid", 400, Alice), straight(Bob, 420, "outbid", 430, Alice),
		proxy(Carol, 800, "leading", 510, Carol), proxy(Alice, 800, "outbid", 800, Carol),
	}, BidCount: 2, Winner: Carol, Pay: 800},
	{Name: "buy-it-now before any bid wins and closes the auction", Start: 100, BuyNow: 1_000, Steps: []Step{
		buyNow(Alice, "won", 1_000, Alice), straight(Bob, 200, "rejected:auction_closed", 1_000, Alice),
	}, BidCount: 1, Winner: Alice, Pay: 1_000},
	{Name: "buy-it-now after a bid led is unavailable", Start: 100, BuyNow: 1_000, Steps: []Step{
		straight(Bob, 200, "leading", 200, Bob), buyNow(Alice, "rejected:buy_now_unavailable", 200, Bob),
	}, BidCount: 1, Winner: Bob, Pay: 200},
	{Name: "buy-it-now while the reserve is not met beats the leader", Start: 100, Reserve: 500, BuyNow: 1_000, Steps: []Step{
		straight(Bob, 200, "outbid", 200, Bob), buyNow(Alice, "won", 1_000, Alice),
	}, BidCount: 2, Winner: Alice, Pay: 1_000},
	{Name: "buy-it-now after the reserve is met is unavailable", Start: 100, Reserve: 300, BuyNow: 1_000, Steps: []Step{
		proxy(Bob, 400, "leading", 300, Bob), buyNow(Alice, "rejected:buy_now_unavailable", 300, Bob),
	}, BidCount: 1, Winner: Bob, Pay: 300},
	{Name: "a bid at the end is rejected", Start: 100, Steps: []Step{
		straight(Alice, 150, "leading", 150, Alice), at(straight(Bob, 200, "rejected:auction_closed", 150, Alice), 0),
	}, BidCount: 1, Winner: Alice, Pay: 150},
	{Name: "soft close: a late bid moves the end, and a bid before the new end extends it again", Start: 100, Extension: 60, Steps: []Step{
		at(straight(Alice, 150, "outbid", 150, Alice), -30*time.Second),
		at(straight(Bob, 200, "leading", 200, Bob), 20*time.Second),
	}, BidCount: 2, EndMoved: 80 * time.Second, Winner: Bob, Pay: 200},
	{Name: "soft close: a bid before the last extension_seconds does not extend", Start: 100, Extension: 60, Steps: []Step{
		at(straight(Alice, 150, "leading", 150, Alice), -61*time.Second),
	}, BidCount: 1, Winner: Alice, Pay: 150},
	{Name: "soft close: a rejected bid never extends", Start: 100, Extension: 60, Steps: []Step{
		straight(Alice, 150, "leading", 150, Alice), at(straight(Bob, 155, "rejected:bid_too_low", 150, Alice), -10*time.Second),
	}, BidCount: 1, Winner: Alice, Pay: 150},
	{Name: "soft close: a defended price change extends", Start: 100, Extension: 60, Steps: []Step{
		proxy(Alice, 500, "leading", 100, Alice), at(straight(Bob, 300, "outbid", 310, Alice), -10*time.Second),
	}, BidCount: 1, EndMoved: 50 * time.Second, Winner: Alice, Pay: 310},
	{Name: "soft close: the leader raising its maximum without a price change does not extend", Start: 100, Extension: 60, Steps: []Step{
		straight(Alice, 150, "outbid", 150, Alice), at(proxy(Alice, 400, "leading", 150, Alice), -10*time.Second),
	}, BidCount: 2, Winner: Alice, Pay: 150},
	{Name: "soft close: never past the original end plus 24 hours", Start: 100, Extension: 3600, Moved: 24*time.Hour - 10*time.Second, Steps: []Step{
		at(straight(Alice, 150, "leading", 150, Alice), 24*time.Hour-20*time.Second),
	}, BidCount: 1, EndMoved: 24 * time.Hour, Winner: Alice, Pay: 150},
}

// RefusalCase is a bid request against an auction's state at the moment it is placed.
type RefusalCase struct {
	Name            string
	Kind            string // "" for a bid
	Offer           int64  // a straight bid's amount, a proxy's maximum
	Seller          bool   // the bidder is the seller
	Since, Until    time.Duration
	Done            bool   // the auction is DONE
	Price           int64  // 0: no bid yet (the start price, 100, is the price)
	Reserve, BuyNow int64  // 0: none
	Want            string // the refusal's code, "" when the bid is placed
}

// RefusalCases is the table of the placement rules: the auction started Since ago (negative:
// it starts later) and ends in Until (negative: ended).
var RefusalCases = []RefusalCase{
	{Name: "a bid at the start price", Offer: 100, Since: time.Hour, Until: time.Hour},
	{Name: "below the start price", Offer: 99, Since: time.Hour, Until: time.Hour, Want: "bid_too_low"},
	{Name: "below next(price)", Offer: 159, Since: time.Hour, Until: time.Hour, Price: 150, Want: "bid_too_low"},
	{Name: "at next(price)", Offer: 160, Since: time.Hour, Until: time.Hour, Price: 150},
	{Name: "the seller", Offer: 500, Seller: true, Since: time.Hour, Until: time.Hour, Want: "own_auction"},
	{Name: "the seller before the start: own_auction first", Offer: 500, Seller: true, Since: -time.Hour, Until: 2 * time.Hour, Want: "own_auction"},
	{Name: "before the start", Offer: 500, Since: -time.Second, Until: time.Hour, Want: "auction_not_started"},
	{Name: "at the start", Offer: 500, Since: 0, Until: time.Hour},
	{Name: "at the end", Offer: 500, Since: time.Hour, Until: 0, Want: "auction_closed"},
	{Name: "DONE before its end (a buy-now)", Offer: 500, Since: time.Hour, Until: time.Hour, Done: true, Want: "auction_closed"},
	{Name: "closed before too low", Offer: 1, Since: time.Hour, Until: -time.Second, Want: "auction_closed"},
	{Name: "buy-now before any bid", Kind: db.KindBuyNow, Since: time.Hour, Until: time.Hour, BuyNow: 1_000},
	{Name: "buy-now without a buy-now price", Kind: db.KindBuyNow, Since: time.Hour, Until: time.Hour, Want: "buy_now_unavailable"},
	{Name: "buy-now after a bid led", Kind: db.KindBuyNow, Since: time.Hour, Until: time.Hour, Price: 200, BuyNow: 1_000, Want: "buy_now_unavailable"},
	{Name: "buy-now while the reserve is not met", Kind: db.KindBuyNow, Since: time.Hour, Until: time.Hour, Price: 200, Reserve: 500, BuyNow: 1_000},
	{Name: "buy-now once the reserve is met", Kind: db.KindBuyNow, Since: time.Hour, Until: time.Hour, Price: 500, Reserve: 500, BuyNow: 1_000, Want: "buy_now_unavailable"},
	{Name: "buy-now after the end", Kind: db.KindBuyNow, Since: time.Hour, Until: -time.Second, BuyNow: 1_000, Want: "auction_closed"},
	{Name: "buy-now by the seller", Kind: db.KindBuyNow, Seller: true, Since: time.Hour, Until: time.Hour, BuyNow: 1_000, Want: "own_auction"},
}

// State is the auction of a RefusalCase at now, with the seller 1 and the bidder 2.
func (c RefusalCase) State(now time.Time) *db.Auction {
	a := &db.Auction{ID: 1, SellerID: 1, StartPrice: 100, CurrentPrice: 100, Status: db.StatusPending,
		StartAt: now.Add(-c.Since), EndAt: now.Add(c.Until)}
	if c.Price > 0 {
		lead := int64(7)
		a.CurrentPrice, a.LeadingBidID, a.BidCount = c.Price, &lead, 1
	}
	if c.Done {
		a.Status = db.StatusDone
	}
	if c.Reserve > 0 {
		a.ReservePrice = &c.Reserve
	}
	if c.BuyNow > 0 {
		a.BuyNowPrice = &c.BuyNow
	}
	return a
}

// Bidder is the bidder of a RefusalCase.
func (c RefusalCase) Bidder() int64 {
	if c.Seller {
		return 1
	}
	return 2
}

// Settle exposes settleOutcome: whether the leading bid wins, what it pays, what comes back
// to it, and why there is no winner.
func Settle(a *db.Auction, lead *db.Bid) (win bool, pay, rest int64, reason string) {
	o := settleOutcome(a, lead)
	return o.win, o.pay, o.rest, o.reason
}

// DecideOne exposes decideBid: b is decided against a and its leader; it returns the leader after.
func DecideOne(a *db.Auction, leader, b *db.Bid, now time.Time) *db.Bid {
	l, _ := decideBid(a, leader, b, now)
	return l
}

// Replay decides the auction's bids again from the start, in their order, by the rules, as
// they were placed (a proxy's amount back to its maximum), and returns the auction and the
// bids as the rules leave them: what a database that decided them in any rounds, however
// concurrent, must hold.
func Replay(a db.Auction, bids []db.Bid) (db.Auction, []db.Bid) {
	a.CurrentPrice, a.LeadingBidID, a.BidCount, a.Status, a.ClosedAt = a.StartPrice, nil, 0, db.StatusPending, nil
	a.EndAt = a.OriginalEnd()
	out := make([]db.Bid, len(bids))
	var leader *db.Bid
	for i, b := range bids {
		b.Status, b.Reason, b.PriceAfter, b.LeaderAfter = db.BidPending, nil, nil, nil
		if b.MaxAmount != nil {
			b.Amount = *b.MaxAmount
		}
		out[i] = b
		leader, _ = decideBid(&a, leader, &out[i], *b.DecidedAt)
	}
	return a, out
}
