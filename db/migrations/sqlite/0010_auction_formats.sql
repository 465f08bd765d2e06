-- Proxy bids, reserve prices, buy-it-now and soft close: the columns of the PostgreSQL
-- migration of the same name (which explains them). On SQLite the rules run in Go only.
ALTER TABLE auctions ADD COLUMN reserve_price BIGINT CHECK (reserve_price >= start_price);
ALTER TABLE auctions ADD COLUMN buy_now_price BIGINT CHECK (buy_now_price > start_price AND buy_now_price >= coalesce(reserve_price, 0));
ALTER TABLE auctions ADD COLUMN extension_seconds INTEGER NOT NULL DEFAULT 0 CHECK (extension_seconds BETWEEN 0 AND 3600);
ALTER TABLE auctions ADD COLUMN original_end_at TIMESTAMP;

ALTER TABLE bids ADD COLUMN kind TEXT NOT NULL DEFAULT 'bid' CHECK (kind IN ('bid', 'buy_now'));
ALTER TABLE bids ADD COLUMN max_amount BIGINT CHECK (max_amount >= amount);
ALTER TABLE bids ADD COLUMN price_after BIGINT;
ALTER TABLE bids ADD COLUMN leader_after BIGINT REFERENCES users (id);
UPDATE bids SET price_after = amount, leader_after = bidder_id WHERE status IN ('leading', 'outbid', 'won');
CREATE INDEX bids_history ON bids (auction_id, id DESC) WHERE price_after IS NOT NULL;
