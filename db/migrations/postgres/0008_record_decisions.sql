-- Writes a decision round back: the decided bids' statuses, reasons and decision times, and
-- the auctions' prices, leading bids and counts, in one call, as db.RecordDecisions does on
-- SQLite in two bulk updates. As statements sent from Go, each round's row count made a new
-- statement to parse and plan, and the planner joined larger rounds by hash, reading every
-- row of bids and auctions, dead versions too, a round: joins here go through the primary
-- keys, with plans kept per connection.
CREATE FUNCTION gavel_record_decisions(p_bids BIGINT[], p_statuses TEXT[], p_reasons TEXT[],
    p_decided TIMESTAMPTZ[], p_auctions BIGINT[], p_prices BIGINT[], p_leads BIGINT[],
    p_counts BIGINT[], p_at TIMESTAMPTZ[])
RETURNS void LANGUAGE plpgsql SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    UPDATE bids AS b SET status = d.status, reason = d.reason, decided_at = d.decided
    FROM unnest(p_bids, p_statuses, p_reasons, p_decided) AS d (id, status, reason, decided)
    WHERE b.id = d.id;
    UPDATE auctions AS a SET current_price = d.price, leading_bid_id = d.lead, bid_count = d.n, updated_at = d.at
    FROM unnest(p_auctions, p_prices, p_leads, p_counts, p_at) AS d (id, price, lead, n, at)
    WHERE a.id = d.id;
END
$$;
