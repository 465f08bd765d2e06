-- Accounts, points and idempotency keys (SQLite twin of the PostgreSQL migration).
CREATE TABLE users (
    id               INTEGER PRIMARY KEY,
    email            TEXT      NOT NULL,
    email_key        TEXT      NOT NULL UNIQUE,
    password_hash    TEXT      NOT NULL,
    nickname         TEXT      NOT NULL CHECK (length(nickname) BETWEEN 1 AND 30),
    birth_date       DATE      NOT NULL,
    gender           TEXT      NOT NULL CHECK (gender IN ('male', 'female', 'other')),
    role             TEXT      NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    points_available INTEGER   NOT NULL DEFAULT 0 CHECK (points_available >= 0),
    points_held      INTEGER   NOT NULL DEFAULT 0 CHECK (points_held >= 0),
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE point_ledger (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER   NOT NULL REFERENCES users (id),
    kind       TEXT      NOT NULL,
    delta      INTEGER   NOT NULL,
    held_delta INTEGER   NOT NULL,
    bid_id     INTEGER,
    auction_id INTEGER,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT point_ledger_kind_shape CHECK (
        (kind = 'charge'          AND delta > 0 AND held_delta = 0      AND bid_id IS NULL AND auction_id IS NULL) OR
        (kind = 'bid_hold'        AND delta < 0 AND held_delta = -delta AND bid_id IS NOT NULL AND auction_id IS NOT NULL) OR
        (kind = 'bid_release'     AND delta > 0 AND held_delta = -delta AND bid_id IS NOT NULL AND auction_id IS NOT NULL) OR
        (kind = 'winning_payment' AND delta = 0 AND held_delta < 0      AND bid_id IS NOT NULL AND auction_id IS NOT NULL) OR
        (kind = 'payout'          AND delta > 0 AND held_delta = 0      AND bid_id IS NOT NULL AND auction_id IS NOT NULL)
    ),
    CONSTRAINT point_ledger_bid_kind UNIQUE (bid_id, kind)
);
CREATE INDEX point_ledger_user ON point_ledger (user_id, id DESC);

CREATE TABLE idempotency_keys (
    user_id      INTEGER   NOT NULL REFERENCES users (id),
    scope        TEXT      NOT NULL,
    key          TEXT      NOT NULL,
    request_hash TEXT      NOT NULL,
    response     BLOB,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, scope, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
