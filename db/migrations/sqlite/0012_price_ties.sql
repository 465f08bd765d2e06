-- price_asc ties by id ascending: the indexes of the PostgreSQL migration of the same name
-- (which explains them).
DROP INDEX auctions_price_asc;
DROP INDEX auctions_status_price_asc;
DROP INDEX auctions_price_desc;
DROP INDEX auctions_status_price_desc;
CREATE INDEX auctions_price        ON auctions (current_price, id);
CREATE INDEX auctions_status_price ON auctions (status, current_price, id);

DROP INDEX auction_words_price_asc;
DROP INDEX auction_words_price_desc;
CREATE INDEX auction_words_price ON auction_words (word, current_price, auction_id);
