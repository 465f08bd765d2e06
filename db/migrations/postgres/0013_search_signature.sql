-- A query's other words are tested in the index alone before a row is read: each row of
-- auction_words carries sig, its name's search.Signature (a bit per word, chosen by the
-- word's first three code points), copied from auctions.search_sig, which Go writes with
-- the name. Every name that has a query word of three code points or more holds the word's
-- search.Mask in sig, so `sig & mask = mask` drops most rows without the word while
-- walking one word's run, and the substring test of search_words decides on the few
-- left. Two common words that meet in few names (swiss watch) then cost about one run,
-- not a merge of both runs down to where 20 names have both.
-- The Go step (db.backfillSignature) writes search_sig and the word rows again.
ALTER TABLE auctions ADD COLUMN search_sig BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auction_words ADD COLUMN sig BIGINT NOT NULL DEFAULT 0;

-- sig last in each sort index: the page's walk reads it there (an index-only scan).
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

CREATE OR REPLACE FUNCTION gavel_sync_auction_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auction_words SET status = NEW.status, start_at = NEW.start_at, end_at = NEW.end_at,
        current_price = NEW.current_price, bid_count = NEW.bid_count, like_count = NEW.like_count,
        thumbnail_id = NEW.thumbnail_id, name = NEW.name, search_words = NEW.search_words, sig = NEW.search_sig
    WHERE auction_id = NEW.id;
    RETURN NULL;
END $$;
