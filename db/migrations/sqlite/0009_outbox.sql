-- The outbox (SQLite twin of the PostgreSQL migration): what a decision round or a
-- settlement must tell once it has committed, written in its transaction.
CREATE TABLE outbox (
    id         INTEGER   PRIMARY KEY,
    kind       TEXT      NOT NULL CHECK (kind IN ('decided', 'settled')),
    auction_id BIGINT,
    events     TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK ((kind = 'decided') = (events IS NOT NULL) AND (kind = 'settled') = (auction_id IS NOT NULL))
);
CREATE INDEX outbox_created ON outbox (created_at, id);
