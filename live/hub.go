package live

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientBuffer is how many events a client may have waiting before it counts as stalled
// and is disconnected, so that one slow client never delays the others.
const ClientBuffer = 128

// Client is one SSE connection's subscription.
type Client struct {
	C    <-chan *Message // closed when the client is dropped or the hub stops; shared, read only
	ch   chan *Message
	once sync.Once
	// where the hub keeps it
	in map[int64]map[*Client]struct{}
	id int64
}

func (c *Client) close() { c.once.Do(func() { close(c.ch) }) }

// Hub fans the channel's events out to this instance's clients.
type Hub struct {
	log      *slog.Logger
	mu       sync.Mutex
	auctions map[int64]map[*Client]struct{}
	users    map[int64]map[*Client]struct{}
	closed   bool
	ready    chan struct{}
	readyOne sync.Once
}

// NewHub returns a hub; Run connects it.
func NewHub(log *slog.Logger) *Hub {
	return &Hub{log: log, auctions: map[int64]map[*Client]struct{}{}, users: map[int64]map[*Client]struct{}{},
		ready: make(chan struct{})}
}

// Ready is closed once the hub's subscription is confirmed.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Run holds the instance's one subscription until ctx is done, then drops every client.
// go-redis re-subscribes by itself after a lost connection.
func (h *Hub) Run(ctx context.Context, rdb redis.UniversalClient) {
	defer h.stop()
	for ctx.Err() == nil {
		sub := rdb.Subscribe(ctx, ChannelOf(rdb))
		if _, err := sub.Receive(ctx); err != nil {
			_ = sub.Close()
			if ctx.Err() == nil {
				h.log.Warn("live: subscribe", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		h.readyOne.Do(func() { close(h.ready) })
		ch := sub.Channel(redis.WithChannelSize(4096))
		for {
			select {
			case <-ctx.Done():
				_ = sub.Close()
				return
			case msg, ok := <-ch:
				if !ok {
					_ = sub.Close()
					goto again
				}
				h.dispatch(msg.Payload)
			}
		}
	again:
	}
}

func (h *Hub) dispatch(payload string) {
	scope, target, msg, ok := parse(payload)
	if !ok {
		h.log.Warn("live: bad message", "payload", payload)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var set map[*Client]struct{}
	switch scope {
	case 'a':
		set = h.auctions[target]
	case 'u':
		set = h.users[target]
	}
	m := &msg
	for c := range set {
		select {
		case c.ch <- m:
		default: // stalled: drop it rather than wait
			delete(set, c)
			c.close()
		}
	}
}

// Auction subscribes a client to an auction's events.
func (h *Hub) Auction(id int64) *Client { return h.add(h.auctions, id) }

// User subscribes a client to a user's notifications.
func (h *Hub) User(id int64) *Client { return h.add(h.users, id) }

func (h *Hub) add(m map[int64]map[*Client]struct{}, id int64) *Client {
	ch := make(chan *Message, ClientBuffer)
	c := &Client{C: ch, ch: ch, in: m, id: id}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		c.close()
		return c
	}
	if m[id] == nil {
		m[id] = map[*Client]struct{}{}
	}
	m[id][c] = struct{}{}
	return c
}

// Remove unsubscribes the client.
func (h *Hub) Remove(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := c.in[c.id]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(c.in, c.id)
		}
	}
}

// Clients counts the connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range []map[int64]map[*Client]struct{}{h.auctions, h.users} {
		for _, set := range m {
			n += len(set)
		}
	}
	return n
}

func (h *Hub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, m := range []map[int64]map[*Client]struct{}{h.auctions, h.users} {
		for id, set := range m {
			for c := range set {
				c.close()
			}
			delete(m, id)
		}
	}
}
