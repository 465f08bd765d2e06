-- The statements of a decision round that run for every bid under load, as one round trip
-- each (see 0005 for why functions).

-- The auctions with pending bids, those waiting longest first: what every decision round
-- asks, fifty times a second under load. Deciding a bid updates its status, so the entries
-- of bids_pending for decided bids stay in the index, dead, until a vacuum. The planner
-- estimates few pending bids and picks a bitmap scan, which visits every dead entry and
-- its heap page on every call (tens of thousands of entries, milliseconds a round, at two
-- thousand bids a second); a plain index scan marks the entries it finds dead as it
-- passes, so the next round skips them. Bitmap scans are off for this function only.
CREATE FUNCTION gavel_auctions_with_pending(p_limit BIGINT) RETURNS SETOF BIGINT
LANGUAGE plpgsql STABLE SET enable_bitmapscan = off AS $$
BEGIN
    RETURN QUERY SELECT b.auction_id FROM bids AS b WHERE b.status = 'pending'
        GROUP BY b.auction_id ORDER BY min(b.id) LIMIT p_limit;
END
$$;

-- Releases the held points of the outbid and rejected bids among p_bids, each once (the
-- unique bid_release ledger row), as package auction's ReleaseBids does on SQLite: locks the
-- bidders' rows in ID order (every statement that changes several balances does, so two
-- never deadlock), writes the ledger rows and moves the points. One call is one statement:
-- the rows stay locked for its run and commit only, not for round trips from the worker,
-- and a bidder's next bid waits that long at most. It returns how many bids it released
-- now, or -1 when none of p_bids exists.
CREATE FUNCTION gavel_release_bids(p_bids BIGINT[]) RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    released INTEGER;
BEGIN
    PERFORM 1 FROM bids AS b WHERE b.id = ANY (p_bids);
    IF NOT FOUND THEN
        RETURN -1;
    END IF;
    PERFORM 1 FROM users AS u WHERE u.id IN (SELECT b.bidder_id FROM bids AS b
        WHERE b.id = ANY (p_bids) AND b.status IN ('outbid', 'rejected'))
    ORDER BY u.id FOR NO KEY UPDATE;
    WITH entries AS (
        INSERT INTO point_ledger (user_id, kind, delta, held_delta, bid_id, auction_id, created_at)
        SELECT b.bidder_id, 'bid_release', b.amount, -b.amount, b.id, b.auction_id, statement_timestamp()
        FROM bids AS b WHERE b.id = ANY (p_bids) AND b.status IN ('outbid', 'rejected')
        ON CONFLICT (bid_id, kind) DO NOTHING
        RETURNING user_id, delta, held_delta
    ), per_user AS (
        SELECT user_id, sum(delta) AS delta, sum(held_delta) AS held, count(*) AS n FROM entries GROUP BY user_id
    ), moved AS (
        UPDATE users AS u SET points_available = u.points_available + p.delta, points_held = u.points_held + p.held
        FROM per_user AS p WHERE u.id = p.user_id
        RETURNING p.n
    )
    SELECT coalesce(sum(moved.n), 0) INTO released FROM moved;
    RETURN released;
END
$$;
