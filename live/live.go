// Package live carries auction and notification events through Redis to the API
// instances' SSE clients: each auction event is appended to a capped stream per auction
// (its ID is the SSE event ID, the same on every instance, and the stream is what a
// reconnecting client replays) and published on one channel; notifications are published
// on the same channel with their database ID. Every API instance holds one subscription
// to the channel (Hub) and fans the events out to its own clients.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/redis/go-redis/v9"
)

// ChannelOf is the pub/sub channel of every live event. Pub/sub ignores Redis database
// numbers, so the channel names the client's database: deployments (and tests) that share
// a Redis server on different databases do not hear each other.
func ChannelOf(rdb redis.UniversalClient) string {
	if c, ok := rdb.(*redis.Client); ok {
		return fmt.Sprintf("gavel:%d:live", c.Options().DB)
	}
	return "gavel:live"
}

// StreamLen is about how many events of an auction are kept for replay.
const StreamLen = 1000

// streamTTL is how long an auction's stream outlives its last event.
const streamTTL = 7 * 24 * time.Hour

func streamKey(auctionID int64) string { return fmt.Sprintf("gavel:auction:{%d}:events", auctionID) }
func stateKey(auctionID int64) string  { return fmt.Sprintf("gavel:auction:{%d}:live", auctionID) }

// publishAuction appends an auction event and publishes it, in one script so that the
// stream's order is the channel's order. A price event that is not above the last one
// published, or any event after the auction's DONE status event, is dropped: notification
// tasks may run out of order, the stream never goes back.
var publishAuction = redis.NewScript(`
if redis.call('HGET', KEYS[2], 'done') then return false end
if ARGV[1] == 'price' then
  local last = redis.call('HGET', KEYS[2], 'price')
  if last and tonumber(last) >= tonumber(ARGV[3]) then return false end
  redis.call('HSET', KEYS[2], 'price', ARGV[3])
elseif ARGV[3] == '1' then
  redis.call('HSET', KEYS[2], 'done', '1')
end
redis.call('PEXPIRE', KEYS[2], ARGV[6])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'event', ARGV[1], 'data', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PUBLISH', ARGV[4], 'a ' .. KEYS[3] .. ' ' .. id .. ' ' .. ARGV[1] .. ' ' .. ARGV[2])
return id
`)

// PriceEvent is the data of an auction stream's price event.
type PriceEvent struct {
	AuctionID    int64  `json:"auction_id"`
	CurrentPrice int64  `json:"current_price"`
	MinNextBid   int64  `json:"min_next_bid"`
	BidCount     int64  `json:"bid_count"`
	At           string `json:"at"`
	// EndAt is the auction's end; the API adds it to events published without it.
	EndAt string `json:"end_at,omitempty"`
}

// Winner is the masked winner in a status event.
type Winner struct {
	BidderNickname string `json:"bidder_nickname"`
	Amount         int64  `json:"amount"`
}

// StatusEvent is the data of an auction stream's status event.
type StatusEvent struct {
	AuctionID int64  `json:"auction_id"`
	Status    string `json:"status"`
	// EndAt is the auction's end; the API adds it to events published without it.
	EndAt  string  `json:"end_at,omitempty"`
	Winner *Winner `json:"winner"`
}

// Notification is a notification as the API shows it.
type Notification struct {
	ID        int64           `json:"id"`
	Kind      string          `json:"kind"`
	AuctionID int64           `json:"auction_id"`
	Data      json.RawMessage `json:"data"`
	CreatedAt string          `json:"created_at"`
	ReadAt    *string         `json:"read_at"`
}

// Timestamp is how times appear in events and in the API.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// FromDB shapes a stored notification for the API and the stream.
func FromDB(n db.Notification) Notification {
	out := Notification{ID: n.ID, Kind: n.Kind, AuctionID: n.AuctionID, Data: json.RawMessage(n.Data), CreatedAt: Timestamp(n.CreatedAt)}
	if n.ReadAt != nil {
		t := Timestamp(*n.ReadAt)
		out.ReadAt = &t
	}
	return out
}

// Publisher publishes events to Redis; it implements auction.Publisher.
type Publisher struct{ Redis redis.UniversalClient }

// PublishPrice publishes one auction's new price.
func (p Publisher) PublishPrice(ctx context.Context, e PriceEvent) error {
	return p.PublishPrices(ctx, []PriceEvent{e})
}

// PublishPrices implements auction.Publisher: the auctions' new prices, in one pipeline.
func (p Publisher) PublishPrices(ctx context.Context, es []PriceEvent) error {
	if len(es) == 0 {
		return nil
	}
	pipe := p.Redis.Pipeline()
	channel := ChannelOf(p.Redis)
	cmds := make([]*redis.Cmd, len(es))
	for i, e := range es {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		// Eval, not EvalSha: a pipeline cannot fall back when Redis lost the script.
		cmds[i] = publishAuction.Eval(ctx, pipe, auctionKeys(e.AuctionID), "price", string(b), e.CurrentPrice,
			channel, StreamLen, streamTTL.Milliseconds())
	}
	_, _ = pipe.Exec(ctx)
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil && err != redis.Nil {
			return fmt.Errorf("publish price event of auction %d: %w", es[i].AuctionID, err)
		}
	}
	return nil
}

func auctionKeys(auctionID int64) []string {
	return []string{streamKey(auctionID), stateKey(auctionID), strconv.FormatInt(auctionID, 10)}
}

// PublishStatus implements auction.Publisher.
// A DONE status ends the stream: nothing published after it is kept.
func (p Publisher) PublishStatus(ctx context.Context, e StatusEvent) error {
	done := int64(0)
	if e.Status == db.StatusDone {
		done = 1
	}
	return p.auction(ctx, e.AuctionID, "status", e, done)
}

func (p Publisher) auction(ctx context.Context, auctionID int64, event string, data any, price int64) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	err = publishAuction.Run(ctx, p.Redis, auctionKeys(auctionID), event, string(b), price, ChannelOf(p.Redis), StreamLen, streamTTL.Milliseconds()).Err()
	if err != nil && err != redis.Nil {
		return fmt.Errorf("publish %s event of auction %d: %w", event, auctionID, err)
	}
	return nil
}

// PublishNotifications implements auction.Publisher: one message per notification, in
// one pipeline.
func (p Publisher) PublishNotifications(ctx context.Context, ns []db.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	pipe := p.Redis.Pipeline()
	channel := ChannelOf(p.Redis)
	for _, n := range ns {
		b, err := json.Marshal(FromDB(n))
		if err != nil {
			return err
		}
		pipe.Publish(ctx, channel, fmt.Sprintf("u %d %d notification %s", n.UserID, n.ID, b))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("publish notifications: %w", err)
	}
	return nil
}

// Message is one event for an SSE client.
type Message struct {
	ID    string // the SSE id: a stream ID for auctions, a notification ID for users
	Event string
	Data  []byte
}

// parse reads a channel message: "a AUCTION ID EVENT DATA" or "u USER ID EVENT DATA".
func parse(payload string) (scope byte, target int64, m Message, ok bool) {
	parts := strings.SplitN(payload, " ", 5)
	if len(parts) != 5 || len(parts[0]) != 1 {
		return 0, 0, m, false
	}
	target, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return 0, 0, m, false
	}
	return parts[0][0], target, Message{ID: parts[2], Event: parts[3], Data: []byte(parts[4])}, true
}

// Replay returns the auction's events after the stream ID `after` ("0" for all that are
// kept), oldest first, at most StreamLen.
func Replay(ctx context.Context, rdb redis.UniversalClient, auctionID int64, after string) ([]Message, error) {
	xs, err := rdb.XRangeN(ctx, streamKey(auctionID), "("+after, "+", StreamLen).Result()
	if err != nil {
		return nil, fmt.Errorf("replay auction %d: %w", auctionID, err)
	}
	out := make([]Message, 0, len(xs))
	for _, x := range xs {
		ev, _ := x.Values["event"].(string)
		data, _ := x.Values["data"].(string)
		out = append(out, Message{ID: x.ID, Event: ev, Data: []byte(data)})
	}
	return out, nil
}

// Holds reports whether the auction's stream still holds the event with the ID.
func Holds(ctx context.Context, rdb redis.UniversalClient, auctionID int64, id string) (bool, error) {
	xs, err := rdb.XRangeN(ctx, streamKey(auctionID), id, id, 1).Result()
	if err != nil {
		return false, fmt.Errorf("find event %s of auction %d: %w", id, auctionID, err)
	}
	return len(xs) == 1, nil
}

// LastID returns the ID of the auction's newest event, or "0-0" when there is none.
func LastID(ctx context.Context, rdb redis.UniversalClient, auctionID int64) (string, error) {
	xs, err := rdb.XRevRangeN(ctx, streamKey(auctionID), "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("last event of auction %d: %w", auctionID, err)
	}
	if len(xs) == 0 {
		return "0-0", nil
	}
	return xs[0].ID, nil
}

// StreamIDLess compares two stream IDs ("ms-seq").
func StreamIDLess(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am < bm || (am == bm && as < bs)
}

func splitID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}

// ValidStreamID reports whether s looks like a stream ID.
func ValidStreamID(s string) bool {
	m, q, ok := strings.Cut(s, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(m, 10, 64)
	_, err2 := strconv.ParseUint(q, 10, 64)
	return err1 == nil && err2 == nil
}
