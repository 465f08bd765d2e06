-- Search by words (api/openapi.yaml, "Search"). Words are made in Go (package search) and
-- only stored here; the database compares them as byte strings (COLLATE "C"), so a
-- word's prefixes form one range of the index.
--
-- auction_words holds one row per word of each auction's name, with a copy of the columns
-- a list shows and sorts by, and one index per sort that leads with the word: the page of
-- a search for a word is then one short index scan in the order of the sort, however many
-- auctions have the word. Go writes the rows with the auction (db.InsertAuction, an edit's
-- rename) in the same transaction; the trigger below copies every later change of the
-- other columns (prices and bid counts from decisions, likes, status, soft-close ends,
-- thumbnails) in the statement that makes it; deletes cascade.
--
-- search_words (search.Index: " " before each word) lets a query's other words, and the
-- walk of a sort's own index for a prefix of many words, test a word by substring.

-- The substring search it served is gone; the trigram index was also updated on every
-- bid decision (a new index tuple per trigram of the name).
DROP INDEX IF EXISTS auctions_name_trgm;
ALTER TABLE auctions ALTER COLUMN name SET STATISTICS -1;
ALTER TABLE auctions ADD COLUMN search_words TEXT NOT NULL DEFAULT '';

CREATE TABLE auction_words (
    word          TEXT COLLATE "C" NOT NULL,
    auction_id    BIGINT      NOT NULL REFERENCES auctions (id) ON DELETE CASCADE,
    seller_id     BIGINT      NOT NULL,
    name          TEXT        NOT NULL,
    search_words  TEXT        NOT NULL,
    status        TEXT        NOT NULL,
    start_at      TIMESTAMPTZ NOT NULL,
    end_at        TIMESTAMPTZ NOT NULL,
    current_price BIGINT      NOT NULL,
    bid_count     BIGINT      NOT NULL,
    like_count    BIGINT      NOT NULL,
    thumbnail_id  BIGINT,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (auction_id, word)
);
-- search_terms lists every word the index has had (a word whose last auction went is kept:
-- its run is empty), so that a query word's completions are one short range scan, with
-- how many auctions had it when the scheduler last counted (count-search-words): the
-- rarest word of a query leads its read. Words are only ever added, so a write never waits
-- for another on a shared word.
CREATE TABLE search_terms (
    word     TEXT COLLATE "C" PRIMARY KEY,
    auctions BIGINT NOT NULL DEFAULT 0
);
-- The orders of the sorts of auctions (0002_catalogue), ties by id the same way.
CREATE INDEX auction_words_newest     ON auction_words (word, created_at DESC, auction_id DESC);
CREATE INDEX auction_words_ending     ON auction_words (word, end_at, auction_id);
CREATE INDEX auction_words_price_asc  ON auction_words (word, current_price, auction_id DESC);
CREATE INDEX auction_words_price_desc ON auction_words (word, current_price DESC, auction_id DESC);
CREATE INDEX auction_words_bids       ON auction_words (word, bid_count DESC, auction_id DESC);
CREATE INDEX auction_words_likes      ON auction_words (word, like_count DESC, auction_id DESC);

CREATE FUNCTION gavel_sync_auction_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auction_words SET status = NEW.status, start_at = NEW.start_at, end_at = NEW.end_at,
        current_price = NEW.current_price, bid_count = NEW.bid_count, like_count = NEW.like_count,
        thumbnail_id = NEW.thumbnail_id, name = NEW.name, search_words = NEW.search_words
    WHERE auction_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER auction_words_sync AFTER UPDATE ON auctions FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.start_at IS DISTINCT FROM NEW.start_at
       OR OLD.end_at IS DISTINCT FROM NEW.end_at OR OLD.current_price IS DISTINCT FROM NEW.current_price
       OR OLD.bid_count IS DISTINCT FROM NEW.bid_count OR OLD.like_count IS DISTINCT FROM NEW.like_count
       OR OLD.thumbnail_id IS DISTINCT FROM NEW.thumbnail_id)
    EXECUTE FUNCTION gavel_sync_auction_words();
