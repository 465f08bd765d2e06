package chaos

import "sync"

// Seen is what the clients of a run were told: the proof Check holds the database to.
// The database alone cannot show that it lost a charge together with the balance it
// added, or that it took back a decision a client was shown; what the clients saw can.
type Seen struct {
	// Charges are the charges answered 201, setup charges included.
	Charges []Charge
	// Bids are the bids answered 202 or 201.
	Bids []AcceptedBid
	// Decisions are the bid statuses clients were shown: in 201 bodies and bid reads.
	Decisions []ShownDecision
	// Prices are the prices auction streams showed.
	Prices []ShownPrice
	// Notifications are those clients received on their stream or read in their list.
	Notifications []ShownNotification
	// Likes are the users' last word on a like, per (auction, user), for likes made after
	// the last loss of Redis (those not flushed before it may be lost, by design).
	Likes map[[2]int64]bool
}

// Charge is a charge a client was acknowledged.
type Charge struct {
	UserID, Amount int64
}

// AcceptedBid is a bid a client was answered 202 or 201 for.
type AcceptedBid struct {
	ID, UserID, AuctionID int64
	Kind                  string // "bid" ("" too) or "buy_now"
	Amount                int64  // a straight bid's amount (0 for the others)
	Max                   *int64 // a proxy bid's maximum
}

// ShownDecision is the status of a bid as a client was shown it, and where.
type ShownDecision struct {
	BidID  int64
	Status string
	Where  string
}

// ShownPrice is a price an auction stream showed; BidCount is nil when the event had none.
type ShownPrice struct {
	AuctionID, Price int64
	BidCount         *int64
	Where            string
}

// ShownNotification is a notification a user received.
type ShownNotification struct {
	ID, UserID, AuctionID int64
	Kind                  string
	Where                 string
}

// Recorder collects what clients are told, from many goroutines.
type Recorder struct {
	mu   sync.Mutex
	seen Seen
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{seen: Seen{Likes: map[[2]int64]bool{}}}
}

// Charge records an acknowledged charge.
func (r *Recorder) Charge(c Charge) { r.with(func(s *Seen) { s.Charges = append(s.Charges, c) }) }

// Bid records an accepted bid.
func (r *Recorder) Bid(b AcceptedBid) { r.with(func(s *Seen) { s.Bids = append(s.Bids, b) }) }

// Decision records a bid status shown to a client.
func (r *Recorder) Decision(d ShownDecision) {
	r.with(func(s *Seen) { s.Decisions = append(s.Decisions, d) })
}

// Price records a price shown by a stream.
func (r *Recorder) Price(p ShownPrice) { r.with(func(s *Seen) { s.Prices = append(s.Prices, p) }) }

// Notification records a notification a user received.
func (r *Recorder) Notification(n ShownNotification) {
	r.with(func(s *Seen) { s.Notifications = append(s.Notifications, n) })
}

// Like records a user's like or unlike.
func (r *Recorder) Like(auctionID, userID int64, liked bool) {
	r.with(func(s *Seen) { s.Likes[[2]int64{auctionID, userID}] = liked })
}

// ForgetLikes drops the likes recorded so far: Redis, where they wait for their flush,
// is being lost.
func (r *Recorder) ForgetLikes() { r.with(func(s *Seen) { clear(s.Likes) }) }

// Snapshot returns a copy of what was recorded.
func (r *Recorder) Snapshot() Seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Seen{
		Charges:       append([]Charge(nil), r.seen.Charges...),
		Bids:          append([]AcceptedBid(nil), r.seen.Bids...),
		Decisions:     append([]ShownDecision(nil), r.seen.Decisions...),
		Prices:        append([]ShownPrice(nil), r.seen.Prices...),
		Notifications: append([]ShownNotification(nil), r.seen.Notifications...),
		Likes:         make(map[[2]int64]bool, len(r.seen.Likes)),
	}
	for k, v := range r.seen.Likes {
		s.Likes[k] = v
	}
	return s
}

func (r *Recorder) with(f func(*Seen)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.seen)
}
