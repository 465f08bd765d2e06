-- Placing a bid and closing an auction, the statements that run thousands of times a
-- second, as functions. PL/pgSQL keeps each statement's plan for the connection, so a call
-- is executed, not parsed and planned again (bun sends arguments inlined, and planning any
-- statement on auctions opens all of its indexes: that was a third of the server's time in
-- a settlement batch), and closing an auction is one round trip. Go calls them through
-- db.PlaceHold and db.CloseAuction; on SQLite the same steps run from Go, a statement at
-- a time.

-- MinNextBid (package auction); a test holds the two to the same answers.
CREATE FUNCTION gavel_min_next_bid(start_price BIGINT, current_price BIGINT, leading_bid_id BIGINT)
RETURNS BIGINT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN leading_bid_id IS NULL THEN start_price ELSE current_price + CASE
        WHEN current_price < 1000 THEN 10 WHEN current_price < 10000 THEN 100
        WHEN current_price < 100000 THEN 500 WHEN current_price < 1000000 THEN 1000 ELSE 5000 END END
$$;

-- Places a bid: reads the auction with a KEY SHARE lock (held to the commit, so a closing
-- auction waits for the bid and a later bid sees the auction DONE), and when the rules
-- allow it holds the points, inserts the bid as pending and its bid_hold ledger row. It
-- returns the auction's columns as read and the database's time, and the bid's ID and
-- time (NULL when the rules refused it); no row when the auction does not exist. Too few
-- points fail the users_points_available_check constraint.
CREATE FUNCTION gavel_place_bid(p_auction BIGINT, p_bidder BIGINT, p_amount BIGINT,
    OUT id BIGINT, OUT seller_id BIGINT, OUT status TEXT, OUT start_price BIGINT,
    OUT current_price BIGINT, OUT leading_bid_id BIGINT, OUT start_at TIMESTAMPTZ,
    OUT end_at TIMESTAMPTZ, OUT db_now TIMESTAMPTZ, OUT bid_id BIGINT, OUT bid_at TIMESTAMPTZ)
RETURNS SETOF record LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    db_now := statement_timestamp();
    SELECT a.id, a.seller_id, a.status, a.start_price, a.current_price, a.leading_bid_id, a.start_at, a.end_at
    INTO id, seller_id, status, start_price, current_price, leading_bid_id, start_at, end_at
    FROM auctions AS a WHERE a.id = p_auction FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF seller_id <> p_bidder AND db_now >= start_at AND db_now < end_at AND status <> 'DONE'
        AND p_amount >= gavel_min_next_bid(start_price, current_price, leading_bid_id) THEN
        UPDATE users AS u SET points_available = u.points_available - p_amount, points_held = u.points_held + p_amount
        WHERE u.id = p_bidder;
        IF FOUND THEN
            INSERT INTO bids AS b (auction_id, bidder_id, amount, status, created_at)
            VALUES (p_auction, p_bidder, p_amount, 'pending', db_now)
            RETURNING b.id, b.created_at INTO bid_id, bid_at;
            INSERT INTO point_ledger (user_id, kind, delta, held_delta, bid_id, auction_id, created_at)
            VALUES (p_bidder, 'bid_hold', -p_amount, p_amount, bid_id, p_auction, db_now);
        END IF;
    END IF;
    RETURN NEXT;
END
$$;

-- Closes and settles an auction in the caller's transaction, as package auction's Close
-- does: locks it FOR UPDATE (with p_skip_locked, SKIP LOCKED: outcome 'skipped' when
-- another transaction holds it), and unless it is gone ('gone'), DONE or not ended yet
-- ('not_due'), or has pending bids ('pending': the caller decides them under the lock
-- and calls again), marks it DONE at the database's time and, when a bid leads, settles
-- it: the bid becomes won, the winner row is written, and the amount moves from the
-- winner's held points to the seller's available points with a winning_payment and a
-- payout ledger row ('settled'; without a leading bid, 'closed').
-- The lock waits for bids being placed (they hold KEY SHARE), and the statements after it
-- take a new snapshot, so a bid committed while the lock was awaited is seen as pending.
--
-- A closing transaction commits without waiting for its WAL to reach the disk
-- (synchronous_commit off, for this transaction only): a quarter of the time of a batch
-- on a slow disk. The one fault that can undo such a commit, the database server crashing
-- within a few hundred milliseconds of it, loses the whole transaction and nothing else
-- (WAL is flushed in order, so no later durable commit can depend on it): the auction is
-- PENDING again with the same bids, as none are accepted after its end, and the next
-- close-ended-auctions run settles it again, identically. Notifications already sent for it
-- stay true, and are stored once (they are unique per user, kind and source).
CREATE FUNCTION gavel_close_auction(p_id BIGINT, p_skip_locked BOOLEAN,
    OUT outcome TEXT, OUT seller_id BIGINT, OUT closed_at TIMESTAMPTZ,
    OUT bid_id BIGINT, OUT bidder_id BIGINT, OUT amount BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    a_status TEXT;
    a_end TIMESTAMPTZ;
    a_lead BIGINT;
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
    PERFORM set_config('synchronous_commit', 'off', true);
    UPDATE auctions AS a SET status = 'DONE', closed_at = statement_timestamp(), updated_at = statement_timestamp()
    WHERE a.id = p_id AND NOT EXISTS (SELECT 1 FROM bids AS b WHERE b.auction_id = p_id AND b.status = 'pending')
    RETURNING a.seller_id, a.leading_bid_id INTO seller_id, a_lead;
    IF NOT FOUND THEN
        outcome := 'pending';
        RETURN;
    END IF;
    IF a_lead IS NULL THEN
        outcome := 'closed';
        RETURN;
    END IF;
    -- One statement: the bid, the winner row, the two ledger rows and the two balances.
    WITH w AS (
        UPDATE bids AS b SET status = 'won' WHERE b.id = a_lead AND b.auction_id = p_id AND b.status = 'leading'
        RETURNING b.id, b.bidder_id, b.amount
    ), wr AS (
        INSERT INTO auction_winners (auction_id, bid_id, winner_id, seller_id, amount, settled_at)
        SELECT p_id, w.id, w.bidder_id, seller_id, w.amount, closed_at FROM w
    ), lr AS (
        INSERT INTO point_ledger (user_id, kind, delta, held_delta, bid_id, auction_id, created_at)
        SELECT w.bidder_id, 'winning_payment', 0, -w.amount, w.id, p_id, closed_at FROM w
        UNION ALL SELECT seller_id, 'payout', w.amount, 0, w.id, p_id, closed_at FROM w
    ), u AS (
        UPDATE users AS u
        SET points_held = u.points_held - CASE WHEN u.id = w.bidder_id THEN w.amount ELSE 0 END,
            points_available = u.points_available + CASE WHEN u.id = w.bidder_id THEN 0 ELSE w.amount END
        FROM w WHERE u.id IN (w.bidder_id, seller_id)
    )
    SELECT w.id, w.bidder_id, w.amount INTO bid_id, bidder_id, amount FROM w;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'auction %: its leading bid % is not leading', p_id, a_lead;
    END IF;
    outcome := 'settled';
END
$$;
