-- Placing many bids in one statement, for db.HoldBatcher: the bids that arrive while
-- earlier ones are being placed share one call and one commit. Under load a commit that
-- waits for its WAL flush costs the server more than the statements it commits, and every
-- placed bid must be durable before it is answered, so the bids share the wait instead.
--
-- gavel_place_bids does for each bid what gavel_place_bid (0005) did for one, which it
-- replaces (a bid alone is a batch of one, so the rules are written once), and returns a
-- row per bid: ord (its 1-based position in the arrays), then gavel_place_bid's
-- columns, and short, true when the bidder lacked the points (the bid is not placed; one
-- bid failing its rules or its points does not undo the others). The auction columns are
-- NULL when the auction does not exist.
--
-- Lock order, so that no two transactions wait for each other: every auction first (KEY
-- SHARE, in ID order), then every bidder (in ID order, as gavel_release_bids does). A
-- closing auction (FOR UPDATE, one auction a transaction) waits for the batch or makes it
-- wait before the batch holds any bidder; deciding (NO KEY UPDATE) never conflicts with it.
CREATE FUNCTION gavel_place_bids(p_auctions BIGINT[], p_bidders BIGINT[], p_amounts BIGINT[],
    OUT ord INTEGER, OUT id BIGINT, OUT seller_id BIGINT, OUT status TEXT, OUT start_price BIGINT,
    OUT current_price BIGINT, OUT leading_bid_id BIGINT, OUT start_at TIMESTAMPTZ,
    OUT end_at TIMESTAMPTZ, OUT db_now TIMESTAMPTZ, OUT bid_id BIGINT, OUT bid_at TIMESTAMPTZ,
    OUT short BOOLEAN)
RETURNS SETOF record LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    db_now := statement_timestamp();
    PERFORM 1 FROM auctions AS a WHERE a.id = ANY (p_auctions) ORDER BY a.id FOR KEY SHARE;
    FOR ord IN SELECT o FROM generate_subscripts(p_bidders, 1) AS o ORDER BY p_bidders[o], o LOOP
        bid_id := NULL;
        bid_at := NULL;
        short := false;
        SELECT a.id, a.seller_id, a.status, a.start_price, a.current_price, a.leading_bid_id, a.start_at, a.end_at
        INTO id, seller_id, status, start_price, current_price, leading_bid_id, start_at, end_at
        FROM auctions AS a WHERE a.id = p_auctions[ord];
        IF FOUND AND seller_id <> p_bidders[ord] AND db_now >= start_at AND db_now < end_at
            AND status <> 'DONE' AND p_amounts[ord] >= gavel_min_next_bid(start_price, current_price, leading_bid_id) THEN
            UPDATE users AS u SET points_available = u.points_available - p_amounts[ord],
                points_held = u.points_held + p_amounts[ord]
            WHERE u.id = p_bidders[ord] AND u.points_available >= p_amounts[ord];
            IF FOUND THEN
                INSERT INTO bids AS b (auction_id, bidder_id, amount, status, created_at)
                VALUES (p_auctions[ord], p_bidders[ord], p_amounts[ord], 'pending', db_now)
                RETURNING b.id, b.created_at INTO bid_id, bid_at;
                INSERT INTO point_ledger (user_id, kind, delta, held_delta, bid_id, auction_id, created_at)
                VALUES (p_bidders[ord], 'bid_hold', -p_amounts[ord], p_amounts[ord], bid_id, p_auctions[ord], db_now);
            ELSE
                short := true;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

DROP FUNCTION gavel_place_bid(BIGINT, BIGINT, BIGINT);
