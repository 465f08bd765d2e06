-- Search by words: the tables and trigger of the PostgreSQL migration of the same name
-- (which explains them). SQLite compares text byte by byte (BINARY), as COLLATE "C" does.
ALTER TABLE auctions ADD COLUMN search_words TEXT NOT NULL DEFAULT '';

CREATE TABLE auction_words (
    word          TEXT      NOT NULL,
    auction_id    BIGINT    NOT NULL REFERENCES auctions (id) ON DELETE CASCADE,
    seller_id     BIGINT    NOT NULL,
    name          TEXT      NOT NULL,
    search_words  TEXT      NOT NULL,
    status        TEXT      NOT NULL,
    start_at      TIMESTAMP NOT NULL,
    end_at        TIMESTAMP NOT NULL,
    current_price BIGINT    NOT NULL,
    bid_count     BIGINT    NOT NULL,
    like_count    BIGINT    NOT NULL,
    thumbnail_id  BIGINT,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (auction_id, word)
);
CREATE TABLE search_terms (
    word     TEXT PRIMARY KEY,
    auctions BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX auction_words_newest     ON auction_words (word, created_at DESC, auction_id DESC);
CREATE INDEX auction_words_ending     ON auction_words (word, end_at, auction_id);
CREATE INDEX auction_words_price_asc  ON auction_words (word, current_price, auction_id DESC);
CREATE INDEX auction_words_price_desc ON auction_words (word, current_price DESC, auction_id DESC);
CREATE INDEX auction_words_bids       ON auction_words (word, bid_count DESC, auction_id DESC);
CREATE INDEX auction_words_likes      ON auction_words (word, like_count DESC, auction_id DESC);

CREATE TRIGGER auction_words_sync AFTER UPDATE ON auctions FOR EACH ROW
    WHEN OLD.status IS NOT NEW.status OR OLD.start_at IS NOT NEW.start_at
      OR OLD.end_at IS NOT NEW.end_at OR OLD.current_price IS NOT NEW.current_price
      OR OLD.bid_count IS NOT NEW.bid_count OR OLD.like_count IS NOT NEW.like_count
      OR OLD.thumbnail_id IS NOT NEW.thumbnail_id
BEGIN
    UPDATE auction_words SET status = NEW.status, start_at = NEW.start_at, end_at = NEW.end_at,
        current_price = NEW.current_price, bid_count = NEW.bid_count, like_count = NEW.like_count,
        thumbnail_id = NEW.thumbnail_id, name = NEW.name, search_words = NEW.search_words
    WHERE auction_id = NEW.id;
END;
