-- Auctions, their images (SQLite twin of the PostgreSQL migration), and the rows the Auction view reads (bids, likes, subscriptions).
CREATE TABLE auctions (
    id               INTEGER PRIMARY KEY,
    seller_id        BIGINT      NOT NULL REFERENCES users (id),
    name             TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description      TEXT        NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    start_price      BIGINT      NOT NULL CHECK (start_price >= 1),
    current_price    BIGINT      NOT NULL CHECK (current_price >= start_price),
    status           TEXT        NOT NULL DEFAULT 'READY' CHECK (status IN ('READY', 'PENDING', 'DONE')),
    start_at         TIMESTAMP    NOT NULL,
    end_at           TIMESTAMP    NOT NULL,
    bid_count        BIGINT      NOT NULL DEFAULT 0 CHECK (bid_count >= 0),
    like_count       BIGINT      NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    subscriber_count BIGINT      NOT NULL DEFAULT 0 CHECK (subscriber_count >= 0),
    leading_bid_id   BIGINT,
    -- The first image, kept by the writes that add and delete images, so a list page
    -- needs no lookup per item.
    thumbnail_id     BIGINT,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    CHECK (end_at > start_at)
);
-- One index per list sort, so that every page is a short index scan from the cursor
-- (keyset pagination, ties broken by id); with the status first for the sorts that
-- browsing filters by status most. most_bids and popular with a status walk their index
-- and skip the other statuses.
CREATE INDEX auctions_newest        ON auctions (created_at DESC, id DESC);
CREATE INDEX auctions_status_newest ON auctions (status, created_at DESC, id DESC);
CREATE INDEX auctions_ending        ON auctions (end_at, id);
CREATE INDEX auctions_status_ending ON auctions (status, end_at, id);
CREATE INDEX auctions_price_asc         ON auctions (current_price, id DESC);
CREATE INDEX auctions_status_price_asc  ON auctions (status, current_price, id DESC);
CREATE INDEX auctions_price_desc        ON auctions (current_price DESC, id DESC);
CREATE INDEX auctions_status_price_desc ON auctions (status, current_price DESC, id DESC);
CREATE INDEX auctions_bids          ON auctions (bid_count DESC, id DESC);
CREATE INDEX auctions_likes         ON auctions (like_count DESC, id DESC);
CREATE INDEX auctions_seller        ON auctions (seller_id, created_at DESC, id DESC);
CREATE INDEX auctions_due_to_open   ON auctions (start_at) WHERE status = 'READY';

CREATE TABLE auction_images (
    id           INTEGER PRIMARY KEY,
    auction_id   BIGINT      NOT NULL REFERENCES auctions (id) ON DELETE CASCADE,
    storage_key  TEXT        NOT NULL,
    content_type TEXT        NOT NULL,
    size         BIGINT      NOT NULL CHECK (size > 0),
    etag         TEXT        NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX auction_images_auction ON auction_images (auction_id, id);
-- Demo data shares files between rows: a file is deleted with the last row that names it.
CREATE INDEX auction_images_key ON auction_images (storage_key);

CREATE TABLE bids (
    id              INTEGER PRIMARY KEY,
    auction_id      BIGINT      NOT NULL REFERENCES auctions (id),
    bidder_id       BIGINT      NOT NULL REFERENCES users (id),
    amount          BIGINT      NOT NULL CHECK (amount >= 1),
    status          TEXT        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'leading', 'outbid', 'rejected', 'won')),
    reason          TEXT,
    created_at      TIMESTAMP NOT NULL,
    decided_at      TIMESTAMP   
);
CREATE INDEX bids_auction ON bids (auction_id, id);
CREATE INDEX bids_bidder  ON bids (bidder_id, id DESC);
CREATE INDEX bids_pending ON bids (auction_id, id) WHERE status = 'pending';
CREATE INDEX bids_pending_since ON bids (created_at) WHERE status = 'pending';

CREATE TABLE likes (
    auction_id BIGINT      NOT NULL REFERENCES auctions (id) ON DELETE CASCADE,
    user_id    BIGINT      NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (auction_id, user_id)
);

CREATE TABLE subscriptions (
    auction_id BIGINT      NOT NULL REFERENCES auctions (id) ON DELETE CASCADE,
    user_id    BIGINT      NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (auction_id, user_id)
);
CREATE INDEX subscriptions_user ON subscriptions (user_id, created_at DESC);

CREATE TABLE bid_logs (
    bid_id     INTEGER   PRIMARY KEY REFERENCES bids (id),
    auction_id INTEGER   NOT NULL,
    bidder_id  INTEGER   NOT NULL,
    age        INTEGER   NOT NULL,
    gender     TEXT      NOT NULL,
    amount     INTEGER   NOT NULL,
    success    BOOLEAN   NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX bid_logs_recent ON bid_logs (created_at);
