-- The signature of the PostgreSQL migration of the same name (which explains it).
ALTER TABLE auctions ADD COLUMN search_sig BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auction_words ADD COLUMN sig BIGINT NOT NULL DEFAULT 0;

DROP INDEX auction_words_newest;
DROP INDEX auction_words_ending;
DROP INDEX auction_words_price;
DROP INDEX auction_words_bids;
DROP INDEX auction_words_likes;
CREATE INDEX auction_words_newest ON auction_words (word, created_at DESC, auction_id DESC, sig);
CREATE INDEX auction_words_ending ON auction_words (word, end_at, auction_id, sig);
CREATE INDEX auction_words_price  ON auction_words (word, current_price, auction_id, sig);
CREATE INDEX auction_words_bids   ON auction_words (word, bid_count DESC, auction_id DESC, sig);
CREATE INDEX auction_words_likes  ON auction_words (word, like_count DESC, auction_id DESC, sig);

DROP TRIGGER auction_words_sync;
CREATE TRIGGER auction_words_sync AFTER UPDATE ON auctions FOR EACH ROW
    WHEN OLD.status IS NOT NEW.status OR OLD.start_at IS NOT NEW.start_at
      OR OLD.end_at IS NOT NEW.end_at OR OLD.current_price IS NOT NEW.current_price
      OR OLD.bid_count IS NOT NEW.bid_count OR OLD.like_count IS NOT NEW.like_count
      OR OLD.thumbnail_id IS NOT NEW.thumbnail_id
BEGIN
    UPDATE auction_words SET status = NEW.status, start_at = NEW.start_at, end_at = NEW.end_at,
        current_price = NEW.current_price, bid_count = NEW.bid_count, like_count = NEW.like_count,
        thumbnail_id = NEW.thumbnail_id, name = NEW.name, search_words = NEW.search_words, sig = NEW.search_sig
    WHERE auction_id = NEW.id;
END;
