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
