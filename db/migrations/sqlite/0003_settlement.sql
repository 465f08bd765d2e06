-- Settlement (SQLite twin of the PostgreSQL migration): the winner of each finished
-- auction, recorded once, and when each auction was closed.
CREATE TABLE auction_winners (
    auction_id BIGINT    PRIMARY KEY REFERENCES auctions (id),
    bid_id     BIGINT    NOT NULL UNIQUE REFERENCES bids (id),
    winner_id  BIGINT    NOT NULL REFERENCES users (id),
    seller_id  BIGINT    NOT NULL REFERENCES users (id),
    amount     BIGINT    NOT NULL CHECK (amount > 0),
    settled_at TIMESTAMP NOT NULL
);
ALTER TABLE auctions ADD COLUMN closed_at TIMESTAMP;
CREATE INDEX auctions_due_to_close ON auctions (end_at) WHERE status <> 'DONE';
