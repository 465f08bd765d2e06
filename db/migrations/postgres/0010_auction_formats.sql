-- Proxy bids, reserve prices, buy-it-now and soft close (api/openapi.yaml, "Auction
-- formats"). The rules are package auction's (auction/rules.go); what runs here for speed
-- is pinned to them by tests that run every case of rules_test.go's tables through it:
-- gavel_refusal by db's TestRefusalConformance, gavel_close_auction by the settlement cases
-- that run on both databases.

-- reserve_price and buy_now_price are NULL when the seller set none. original_end_at is the
-- seller's end; NULL for rows made before this migration or loaded by the seeder, whose end
-- never moves (extension_seconds 0): read it as end_at then.
ALTER TABLE auctions
    ADD COLUMN reserve_price     BIGINT,
    ADD COLUMN buy_now_price     BIGINT,
    ADD COLUMN extension_seconds INTEGER NOT NULL DEFAULT 0 CHECK (extension_seconds BETWEEN 0 AND 3600),
    ADD COLUMN original_end_at   TIMESTAMPTZ,
    ADD CONSTRAINT auctions_reserve_check CHECK (reserve_price >= start_price),
    ADD CONSTRAINT auctions_buy_now_check CHECK (buy_now_price > start_price AND buy_now_price >= coalesce(reserve_price, 0));

-- kind: 'bid' (straight or proxy) or 'buy_now'. max_amount: a proxy bid's maximum, which it
-- holds; NULL for a straight bid and a buy-now, which hold their amount. A proxy bid's
-- amount is what it offers now: its maximum while it is pending (not shown), the price
-- while it leads. price_after and leader_after are the auction's price and leading bidder
-- just after the bid was decided, set when that decision changed either: the public bid
-- history is the bids that have them.
ALTER TABLE bids
    ADD COLUMN kind         TEXT   NOT NULL DEFAULT 'bid' CHECK (kind IN ('bid', 'buy_now')),
    ADD COLUMN max_amount   BIGINT CHECK (max_amount >= amount),
    ADD COLUMN price_after  BIGINT,
    ADD COLUMN leader_after BIGINT REFERENCES users (id);
UPDATE bids SET price_after = amount, leader_after = bidder_id WHERE status IN ('leading', 'outbid', 'won');
CREATE INDEX bids_history ON bids (auction_id, id DESC) WHERE price_after IS NOT NULL;

-- Why a bid is refused at placement, or NULL: auction.Refusal, the same rules in the same
-- order (own_auction, auction_not_started, auction_closed, buy_now_unavailable,
-- bid_too_low). p_offer is the bid's maximum (a straight bid's amount).
CREATE FUNCTION gavel_refusal(p_kind TEXT, p_bidder BIGINT, p_offer BIGINT, p_now TIMESTAMPTZ,
    p_seller BIGINT, p_status TEXT, p_start_at TIMESTAMPTZ, p_end_at TIMESTAMPTZ, p_start_price BIGINT,
    p_current_price BIGINT, p_leading_bid BIGINT, p_reserve BIGINT, p_buy_now BIGINT)
RETURNS TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_seller = p_bidder THEN 'own_auction'
        WHEN p_now < p_start_at THEN 'auction_not_started'
        WHEN p_now >= p_end_at OR p_status = 'DONE' THEN 'auction_closed'
        WHEN p_kind = 'buy_now' THEN CASE WHEN p_buy_now IS NULL
            OR (p_leading_bid IS NOT NULL AND (p_reserve IS NULL OR p_current_price >= p_reserve))
            THEN 'buy_now_unavailable' END
        WHEN p_offer < gavel_min_next_bid(p_start_price, p_current_price, p_leading_bid) THEN 'bid_too_low'
    END
$$;

-- gavel_place_bids as in 0007, for the three kinds of bid: p_maxes holds a proxy bid's
-- maximum (NULL for a straight bid), p_kinds 'bid' or 'buy_now' (whose amount is the
-- auction's buy_now_price, whatever p_amounts says). A bid holds its maximum, else its
-- amount. refusal is gavel_refusal's code when the rules refused the bid.
DROP FUNCTION gavel_place_bids(BIGINT[], BIGINT[], BIGINT[]);
CREATE FUNCTION gavel_place_bids(p_auctions BIGINT[], p_bidders BIGINT[], p_amounts BIGINT[],
    p_maxes BIGINT[], p_kinds TEXT[],
    OUT ord INTEGER, OUT id BIGINT, OUT seller_id BIGINT, OUT status TEXT, OUT start_price BIGINT,
    OUT current_price BIGINT, OUT leading_bid_id BIGINT, OUT start_at TIMESTAMPTZ,
    OUT end_at TIMESTAMPTZ, OUT db_now TIMESTAMPTZ, OUT bid_id BIGINT, OUT bid_at TIMESTAMPTZ,
    OUT short BOOLEAN, OUT refusal TEXT, OUT bid_amount BIGINT)
RETURNS SETOF record LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    a_reserve BIGINT;
    a_buy_now BIGINT;
    held BIGINT;
BEGIN
    db_now := statement_timestamp();
    PERFORM 1 FROM auctions AS a WHERE a.id = ANY (p_auctions) ORDER BY a.id FOR KEY SHARE;
    FOR ord IN SELECT o FROM generate_subscripts(p_bidders, 1) AS o ORDER BY p_bidders[o], o LOOP
        bid_id := NULL;
        bid_at := NULL;
        short := false;
        refusal := NULL;
        bid_amount := NULL;
        SELECT a.id, a.seller_id, a.status, a.start_price, a.current_price, a.leading_bid_id, a.start_at, a.end_at,
            a.reserve_price, a.buy_now_price
        INTO id, seller_id, status, start_price, current_price, leading_bid_id, start_at, end_at, a_reserve, a_buy_now
        FROM auctions AS a WHERE a.id = p_auctions[ord];
        IF FOUND THEN
            bid_amount := CASE WHEN p_kinds[ord] = 'buy_now' THEN a_buy_now ELSE p_amounts[ord] END;
            refusal := gavel_refusal(p_kinds[ord], p_bidders[ord], coalesce(p_maxes[ord], bid_amount), db_now,
                seller_id, status, start_at, end_at, start_price, current_price, leading_bid_id, a_reserve, a_buy_now);
        END IF;
        IF FOUND AND refusal IS NULL THEN
            held := coalesce(p_maxes[ord], bid_amount);
            UPDATE users AS u SET points_available = u.points_available - held, points_held = u.points_held + held
            WHERE u.id = p_bidders[ord] AND u.points_available >= held;
            IF FOUND THEN
                INSERT INTO bids AS b (auction_id, bidder_id, amount, max_amount, kind, status, created_at)
                VALUES (p_auctions[ord], p_bidders[ord], bid_amount, p_maxes[ord], p_kinds[ord], 'pending', db_now)
                RETURNING b.id, b.created_at INTO bid_id, bid_at;
                INSERT INTO point_ledger (user_id, kind, delta, held_delta, bid_id, auction_id, created_at)
                VALUES (p_bidders[ord], 'bid_hold', -held, held, bid_id, p_auctions[ord], db_now);
            ELSE
                short := true;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- gavel_release_bids as in 0006, releasing what each bid holds: its maximum, else its amount.
CREATE OR REPLACE FUNCTION gavel_release_bids(p_bids BIGINT[]) RETURNS INTEGER LANGUAGE plpgsql AS $$
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
        SELECT b.bidder_id, 'bid_release', coalesce(b.max_amount, b.amount), -coalesce(b.max_amount, b.amount),
            b.id, b.auction_id, statement_timestamp()
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

-- gavel_record_decisions as in 0008, with what the new rules change: a bid's amount (a
-- defended proxy's rises) and its history columns; an auction's end (soft close, or a
-- buy-now's decision time), status and closing time (a buy-now closes it).
DROP FUNCTION gavel_record_decisions(BIGINT[], TEXT[], TEXT[], TIMESTAMPTZ[], BIGINT[], BIGINT[], BIGINT[], BIGINT[], TIMESTAMPTZ[]);
CREATE FUNCTION gavel_record_decisions(p_bids BIGINT[], p_statuses TEXT[], p_reasons TEXT[],
    p_decided TIMESTAMPTZ[], p_amounts BIGINT[], p_price_after BIGINT[], p_leader_after BIGINT[],
    p_auctions BIGINT[], p_prices BIGINT[], p_leads BIGINT[], p_counts BIGINT[], p_at TIMESTAMPTZ[],
    p_ends TIMESTAMPTZ[], p_original_ends TIMESTAMPTZ[], p_astatuses TEXT[], p_closed TIMESTAMPTZ[])
RETURNS void LANGUAGE plpgsql SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    UPDATE bids AS b SET status = d.status, reason = d.reason, decided_at = d.decided, amount = d.amount,
        price_after = d.price_after, leader_after = d.leader_after
    FROM unnest(p_bids, p_statuses, p_reasons, p_decided, p_amounts, p_price_after, p_leader_after)
        AS d (id, status, reason, decided, amount, price_after, leader_after)
    WHERE b.id = d.id;
    UPDATE auctions AS a SET current_price = d.price, leading_bid_id = d.lead, bid_count = d.n, updated_at = d.at,
        end_at = d.end_at, original_end_at = d.original_end_at, status = d.status, closed_at = d.closed
    FROM unnest(p_auctions, p_prices, p_leads, p_counts, p_at, p_ends, p_original_ends, p_astatuses, p_closed)
        AS d (id, price, lead, n, at, end_at, original_end_at, status, closed)
    WHERE a.id = d.id;
END
$$;

-- gavel_close_auction as in 0009, settling by the formats' rules (auction.SettleOutcome):
-- the winner pays the price, its amount, and what it held beyond (a proxy's maximum) comes
-- back as a bid_release in the same statement; with a reserve the price did not reach, the
-- auction is DONE without a winner, and its leading bid is rejected (reserve_not_met) and
-- released here. outcome 'unmet' says so.
DROP FUNCTION gavel_close_auction(BIGINT, BOOLEAN);
CREATE FUNCTION gavel_close_auction(p_id BIGINT, p_skip_locked BOOLEAN,
    OUT outcome TEXT, OUT seller_id BIGINT, OUT closed_at TIMESTAMPTZ,
    OUT bid_id BIGINT, OUT bidder_id BIGINT, OUT amount BIGINT, OUT outbox_id BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    a_status TEXT;
    a_end TIMESTAMPTZ;
    a_lead BIGINT;
    a_price BIGINT;
    a_reserve BIGINT;
BEGIN
    closed_at := statement_timestamp();
    IF p_skip_locked THEN
        SELECT a.status, a.end_at INTO a_status, a_end FROM auctions AS a WHERE a.id = p_id FOR UPDATE SKIP LOCKED;
    ELSE
        SELECT a.status, a.end_at INTO a_status, a_end FROM auctions AS a WHERE a.id = p_id FOR UPDATE;
    END IF;
    IF NOT FOUND THEN
        outcome := CASE WHEN p_skip_locked AND EXISTS (SELECT 1 FROM auctions AS a WHERE a.id = p_id)
            THEN 'skipped' ELSE 'gone' END;
        RETURN;
    END IF;
    IF a_status = 'DONE' OR closed_at < a_end THEN
        outcome := 'not_due';
        RETURN;
    END IF;
    UPDATE auctions AS a SET status = 'DONE', closed_at = statement_timestamp(), updated_at = statement_timestamp()
    WHERE a.id = p_id AND NOT EXISTS (SELECT 1 FROM bids AS b WHERE b.auction_id = p_id AND b.status = 'pending')
    RETURNING a.seller_id, a.leading_bid_id, a.current_price, a.reserve_price INTO seller_id, a_lead, a_price, a_reserve;
    IF NOT FOUND THEN
        outcome := 'pending';
        RETURN;
    END IF;
    INSERT INTO outbox (kind, auction_id, created_at) VALUES ('settled', p_id, closed_at) RETURNING id INTO outbox_id;
    IF a_lead IS NULL THEN
        outcome := 'closed';
        RETURN;
    END IF;
    IF a_price < a_reserve THEN
        -- Reserve not met: the leading bid is rejected and everything it holds comes back.
        WITH r AS (
            UPDATE bids AS b SET status = 'rejected', reason = 'reserve_not_met'
            WHERE b.id = a_lead AND b.auction_id = p_id AND b.status = 'leading'
            RETURNING b.id, b.bidder_id, coalesce(b.max_amount, b.amount) AS held
        ), lr AS (
            INSERT INTO point_ledger (user_id, kind, delta, held_delta, bid_id, auction_id, created_at)
            SELECT r.bidder_id, 'bid_release', r.held, -r.held, r.id, p_id, closed_at FROM r
        ), u AS (
            UPDATE users AS u SET points_held = u.points_held - r.held, points_available = u.points_available + r.held
            FROM r WHERE u.id = r.bidder_id
        )
        SELECT r.id, r.bidder_id, r.held INTO bid_id, bidder_id, amount FROM r;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'auction %: its leading bid % is not leading', p_id, a_lead;
        END IF;
        outcome := 'unmet';
        RETURN;
    END IF;
    -- One statement: the bid, the winner row, the ledger rows and the two balances.
    WITH w AS (
        UPDATE bids AS b SET status = 'won' WHERE b.id = a_lead AND b.auction_id = p_id AND b.status = 'leading'
        RETURNING b.id, b.bidder_id, b.amount, coalesce(b.max_amount, b.amount) - b.amount AS rest
    ), wr AS (
        INSERT INTO auction_winners (auction_id, bid_id, winner_id, seller_id, amount, settled_at)
        SELECT p_id, w.id, w.bidder_id, seller_id, w.amount, closed_at FROM w
    ), lr AS (
        INSERT INTO point_ledger (user_id, kind, delta, held_delta, bid_id, auction_id, created_at)
        SELECT w.bidder_id, 'winning_payment', 0, -w.amount, w.id, p_id, closed_at FROM w
        UNION ALL SELECT w.bidder_id, 'bid_release', w.rest, -w.rest, w.id, p_id, closed_at FROM w WHERE w.rest > 0
        UNION ALL SELECT seller_id, 'payout', w.amount, 0, w.id, p_id, closed_at FROM w
    ), u AS (
        UPDATE users AS u
        SET points_held = u.points_held - CASE WHEN u.id = w.bidder_id THEN w.amount + w.rest ELSE 0 END,
            points_available = u.points_available + CASE WHEN u.id = w.bidder_id THEN w.rest ELSE w.amount END
        FROM w WHERE u.id IN (w.bidder_id, seller_id)
    )
    SELECT w.id, w.bidder_id, w.amount INTO bid_id, bidder_id, amount FROM w;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'auction %: its leading bid % is not leading', p_id, a_lead;
    END IF;
    outcome := 'settled';
END
$$;
