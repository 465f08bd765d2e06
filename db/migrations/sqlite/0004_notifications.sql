-- Notifications (SQLite twin of the PostgreSQL migration).
CREATE TABLE notifications (
    id         INTEGER   PRIMARY KEY,
    user_id    BIGINT    NOT NULL REFERENCES users (id),
    kind       TEXT      NOT NULL CHECK (kind IN ('price_changed', 'outbid', 'bid_rejected', 'auction_won', 'auction_sold', 'auction_ended')),
    auction_id BIGINT    NOT NULL REFERENCES auctions (id) ON DELETE CASCADE,
    source     TEXT      NOT NULL,
    data       TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at    TIMESTAMP,
    CONSTRAINT notifications_once UNIQUE (user_id, kind, source)
);
CREATE INDEX notifications_user ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread ON notifications (user_id, id) WHERE read_at IS NULL;
