package db

import (
	"context"
	"log/slog"
)

// ApplyForTest applies the given migrations, for tests of the migrator itself.
func ApplyForTest(ctx context.Context, d *DB, log *slog.Logger, ms []Migration) ([]string, error) {
	return d.apply(ctx, log, ms)
}

// ListQueryForTest is the SQL of a list page and its arguments, for plan tests. The text
// is numbered ($1, $2, …) as it is prepared on PostgreSQL.
func ListQueryForTest(f ListFilter) (string, []any) {
	var q listSQL
	return numbered(q.auctions(nil, f)), q.args
}

// PlaceBatchForTest places the bids as one batch of a HoldBatcher (bids that waited
// together), those in gone for callers that gave up, and returns, for each, the auction
// as read and the error.
func PlaceBatchForTest(ctx context.Context, d *DB, bids []*Bid, gone map[int]bool) ([]string, []error) {
	over, cancel := context.WithCancel(ctx)
	cancel()
	batch := make([]*holdRequest, len(bids))
	for i, b := range bids {
		batch[i] = &holdRequest{ctx: ctx, bid: b, done: make(chan struct{})}
		if gone[i] {
			batch[i].ctx = over
		}
	}
	NewHoldBatcher(d, 1, len(bids)).place(batch)
	refusals, errs := make([]string, len(bids)), make([]error, len(bids))
	for i, r := range batch {
		if r.refused != nil {
			refusals[i] = r.refused.Code
		}
		errs[i] = r.err
	}
	return refusals, errs
}

// ForceSearchPlanForTest sets how many index words a query word may begin and be read run
// by run, and how many index rows one with more may have and be read whole, and returns
// what restores them (tests that call it must not be parallel).
func ForceSearchPlanForTest(maxRuns, rangeCap int) (restore func()) {
	r, c := searchMaxRuns, searchRangeCap
	searchMaxRuns, searchRangeCap = maxRuns, rangeCap
	return func() { searchMaxRuns, searchRangeCap = r, c }
}

// SearchAnsweredForTest has fn told which read gave each search's page (remembered or
// completions) and returns what stops it (tests that call it must not be parallel).
func SearchAnsweredForTest(fn func(read string)) (restore func()) {
	searchAnswered = fn
	return func() { searchAnswered = nil }
}

// ForgetCompletionsForTest empties the memo of query words' completions (tests that call it
// must not be parallel).
func ForgetCompletionsForTest() {
	wordCompletions.mu.Lock()
	defer wordCompletions.mu.Unlock()
	wordCompletions.words = nil
}

// PruneBatchForTest sets how many words PruneSearchTerms looks at per transaction and
// returns what restores it (tests that call it must not be parallel).
func PruneBatchForTest(n int) (restore func()) {
	old := pruneBatch
	pruneBatch = n
	return func() { pruneBatch = old }
}

// StmtCacheSizeForTest is how many statements the cache keeps.
const StmtCacheSizeForTest = stmtCacheSize

// PreparedForTest takes query from d's statement cache (PostgreSQL only), and returns a run
// of it and the release of the cache's hold.
func PreparedForTest(ctx context.Context, d *DB, query string) (run func() error, release func(), err error) {
	cs, err := d.stmts.get(ctx, d.DB.DB, query)
	if err != nil {
		return nil, nil, err
	}
	run = func() error {
		rows, err := cs.stmt.QueryContext(ctx)
		if err != nil {
			return err
		}
		return rows.Close()
	}
	return run, func() { d.stmts.release(cs) }, nil
}

// StmtCacheLenForTest is how many statements d's cache holds.
func StmtCacheLenForTest(d *DB) int {
	d.stmts.mu.Lock()
	defer d.stmts.mu.Unlock()
	return d.stmts.order.Len()
}

// LeadForTest is the completions whose runs a search of words reads (leadOf), from
// search_terms as it is now: none when a word begins no word of the index (nothing is
// read) or when every word begins more than searchMaxRuns.
func LeadForTest(ctx context.Context, d *DB, words []string) ([]string, error) {
	completions, err := searchCompletions(ctx, d, words, searchMaxRuns+1)
	if err != nil {
		return nil, err
	}
	var lead []string
	if i := leadOf(completions); i >= 0 && !beginsNothing(completions) {
		for _, t := range completions[i] {
			lead = append(lead, t.Word)
		}
	}
	return lead, nil
}
