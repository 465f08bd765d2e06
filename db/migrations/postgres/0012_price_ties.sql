-- price_asc breaks ties by id ascending (it was descending), as every sort now breaks them
-- in the direction of its key: one index per table, read forward for price_asc and
-- backward for price_desc, serves both price sorts. That is two indexes fewer on auctions
-- and one fewer on auction_words for every bid decision to update (a new price moves the
-- auction in all of them), and one fewer to build when a million auctions are seeded.
DROP INDEX auctions_price_asc;
DROP INDEX auctions_status_price_asc;
DROP INDEX auctions_price_desc;
DROP INDEX auctions_status_price_desc;
CREATE INDEX auctions_price        ON auctions (current_price, id);
CREATE INDEX auctions_status_price ON auctions (status, current_price, id);

DROP INDEX auction_words_price_asc;
DROP INDEX auction_words_price_desc;
CREATE INDEX auction_words_price ON auction_words (word, current_price, auction_id);
