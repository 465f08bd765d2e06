package db

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gavelhq/gavel/search"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// How a search reads its page (listSearch), as variables so tests can force each way on
// small data.
var (
	// searchMaxRuns is how many index words a query word may begin and still be read as
	// one index run per word, merged (UNION) in the order of the sort.
	searchMaxRuns = 8
	// searchRangeCap is how many index rows a query word with more words than that may
	// have and still be read whole and sorted; one with more is common enough that walking
	// the sort's index of auctions finds a page soon.
	searchRangeCap = 2000
	// searchAnswered, when set (by tests), is told which read gave a search's page.
	searchAnswered func(read string)
)

func answered(read string) {
	if searchAnswered != nil {
		searchAnswered(read)
	}
}

// listSearch is ListAuctions for a search. Every word of f.Q must be a prefix of a word of
// the name (package search). One query word leads the read; the others are tested on the
// rows it reads, by substring in search_words:
//   - the query word with at most searchMaxRuns completions (words of search_terms that it
//     begins) and the fewest auctions leads: the runs of auction_words of its completions,
//     each in the order of the sort, are merged (one run: read as it is). When another query
//     word has three code points or more, a run is walked in its sort index alone, each
//     entry's sig tested for the other words' bits (search.Mask) before its row is read:
//     about one page of rows whichever words meet;
//   - when every query word begins more words than that, the longest leads: when it has
//     fewer than searchRangeCap rows they are read whole and sorted, else it is common
//     enough that walking the sort's index of auctions soon finds a page.
//
// The completions come from the memo of query words (wordCompletions), so that a search
// is most often one statement (remembered); the statement then checks that the lead has no
// completion the memo does not know of. When it reads nothing (no match, or a completion
// was added), the completions are read again (completions) and the page read from them.
func listSearch(ctx context.Context, idb bun.IDB, f ListFilter) ([]AuctionSummary, error) {
	words := search.Words(f.Q)
	if len(words) == 0 {
		return nil, nil
	}
	var out []AuctionSummary
	if completions, ok := wordCompletions.get(words); ok {
		err := readSearch(ctx, idb, f, words, completions, true, &out)
		if err != nil || len(out) > 0 {
			answered("remembered")
			return out, wrapSearch(err)
		}
	}
	completions, err := searchCompletions(ctx, idb, words, searchMaxRuns+1)
	if err != nil {
		return nil, wrapSearch(err)
	}
	wordCompletions.set(words, completions)
	if beginsNothing(completions) {
		return nil, nil // no auction has a word that one of the query's begins
	}
	err = readSearch(ctx, idb, f, words, completions, false, &out)
	answered("completions")
	return out, wrapSearch(err)
}

// readSearch reads the page of a search as listSearch says, given each query word's
// completions (at most searchMaxRuns+1 of them: more count as more). When guarded, the
// completions may be out of date: the read then finds nothing unless the lead's are still
// all there are.
func readSearch(ctx context.Context, idb bun.IDB, f ListFilter, words []string, completions [][]searchTerm, guarded bool, out *[]AuctionSummary) error {
	lead := leadOf(completions)
	var q listSQL
	var read string
	if lead >= 0 {
		ts := completions[lead]
		var mask int64 // the bits of the other words, which an entry's sig must hold
		for i, w := range words {
			if i != lead {
				mask |= search.Mask(w)
			}
		}
		var guard func() []string
		if guarded {
			guard = func() []string { return []string{q.noOtherCompletion(words[lead], ts)} }
		}
		read = q.mergedRuns(idb, f, len(ts), func(i int, conds []string) string {
			return q.wordRun(idb, f, words, lead, mask, conds, "w.word = "+q.arg(ts[i].Word))
		}, guard)
		return scanRead(ctx, idb, read, q.args, out)
	}
	// Every query word begins more words than searchMaxRuns: whatever they are, both reads
	// test every word by substring, so remembered completions need no check.
	lead = 0
	for i, w := range words {
		if len(w) > len(words[lead]) {
			lead = i
		}
	}
	prefix, end := words[lead], search.PrefixEnd(words[lead])
	var n int
	err := scanRead(ctx, idb, "SELECT count(*) FROM (SELECT 1 FROM auction_words WHERE word >= ? AND word < ? LIMIT ?) AS c",
		[]any{prefix, end, searchRangeCap}, &n)
	if err != nil {
		return err
	}
	if n < searchRangeCap {
		read = q.wordRun(idb, f, words, lead, 0, nil, "w.word >= ? AND w.word < ?", prefix, end)
		read = "SELECT DISTINCT" + strings.TrimPrefix(read, "SELECT")
	} else {
		var conds []string
		for _, w := range words {
			conds = append(conds, containsExpr(idb, "a.search_words", q.arg(search.Needle(w))))
		}
		read = q.auctions(conds, f)
	}
	return scanRead(ctx, idb, read, q.args, out)
}

// leadOf is the query word whose completions' runs a search reads: of the words with at
// most searchMaxRuns completions, the one whose completions have the fewest auctions (ties:
// the first completion first in word order, whatever the order of the query); -1 when
// every word has more.
func leadOf(completions [][]searchTerm) int {
	lead, leadAuctions := -1, int64(0)
	for i, ts := range completions {
		if len(ts) == 0 || len(ts) > searchMaxRuns {
			continue
		}
		var n int64
		for _, t := range ts {
			n += t.Auctions
		}
		if lead < 0 || n < leadAuctions || n == leadAuctions && ts[0].Word < completions[lead][0].Word {
			lead, leadAuctions = i, n
		}
	}
	return lead
}

// beginsNothing reports whether a query word has no completion: then no name matches.
func beginsNothing(completions [][]searchTerm) bool {
	return slices.ContainsFunc(completions, func(ts []searchTerm) bool { return len(ts) == 0 })
}

func wrapSearch(err error) error {
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	return nil
}

// noOtherCompletion is the condition that word begins no word of search_terms but ts: the
// check of remembered completions, which PostgreSQL evaluates once, before the runs.
func (s *listSQL) noOtherCompletion(word string, ts []searchTerm) string {
	cond := "NOT EXISTS (SELECT 1 FROM search_terms AS t WHERE t.word >= " + s.arg(word) + " AND t.word < " +
		s.arg(search.PrefixEnd(word)) + " AND t.word NOT IN ("
	for i, t := range ts {
		if i > 0 {
			cond += ", "
		}
		cond += s.arg(t.Word)
	}
	return cond + "))"
}

// mergedRuns is a page of f merged, in the order of the sort, from n runs of
// auction_words: run(i, conds) is the i-th, kept also by conds, and adds its arguments.
// A name in several runs is kept once. guard, when not nil, gives the conditions of the
// whole read (and adds their arguments).
func (s *listSQL) mergedRuns(idb bun.IDB, f ListFilter, n int, run func(i int, conds []string) string, guard func() []string) string {
	if guard == nil {
		guard = func() []string { return nil }
	}
	if n == 1 {
		return run(0, guard())
	}
	runs := make([]string, n)
	for i := range runs {
		runs[i] = "SELECT * FROM (" + run(i, nil) + ") AS r" + strconv.Itoa(i)
	}
	// PostgreSQL merges the runs in the sort's order (UNION ALL: a Merge Append of the
	// runs' index scans) and keeps the first row of each auction, which the merge brings
	// together; SQLite's UNION does both.
	cols, union := "s.*", " UNION "
	if idb.Dialect().Name() == dialect.PG {
		cols, union = "DISTINCT ON (s."+sortKey(f.Sort)+", s.id) s.*", " UNION ALL "
	}
	return s.page(cols, "("+strings.Join(runs, union)+") AS s", "s", "s.id", guard(), ListFilter{Sort: f.Sort, Limit: f.Limit})
}

// completionMemo remembers, for query words, the words of the index that each began when
// last read (up to searchMaxRuns+1 of them) and their counts, for at most ttl, so that a
// search is most often one statement. It only chooses the statement: a statement read from
// it checks the completions it relies on (noOtherCompletion), so an entry gone stale costs
// a statement, never a wrong page; that is also what makes one memo safe for every
// database a process opens (tests open many). It holds up to max words, and forgets about
// half of them (any) when full.
type completionMemo struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	words map[string]memoEntry
}

type memoEntry struct {
	terms []searchTerm
	at    time.Time
}

var wordCompletions = &completionMemo{max: 10_000, ttl: time.Minute, now: time.Now}

// get is the completions remembered for each of words, if every word has some that are
// at most ttl old.
func (m *completionMemo) get(words []string) ([][]searchTerm, bool) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]searchTerm, len(words))
	for i, w := range words {
		e, ok := m.words[w]
		if !ok || now.Sub(e.at) > m.ttl {
			return nil, false
		}
		out[i] = e.terms
	}
	return out, true
}

// set remembers the completions of each of words (read together); a word that has none is
// forgotten, for a search must see at once when it gains one.
func (m *completionMemo) set(words []string, completions [][]searchTerm) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.words == nil {
		m.words = make(map[string]memoEntry)
	}
	for i, w := range words {
		if len(completions[i]) == 0 {
			delete(m.words, w)
			continue
		}
		if _, ok := m.words[w]; !ok && len(m.words) >= m.max {
			for k := range m.words {
				delete(m.words, k)
				if len(m.words) <= m.max/2 {
					break
				}
			}
		}
		m.words[w] = memoEntry{terms: completions[i], at: now}
	}
}

// wordRun is a page of f read from the rows of auction_words that match (a condition on
// w.word with its arguments), kept by conds (whose arguments were added before) and by the
// query words other than words[lead] (all of them for lead -1). With a mask, the run is
// walked in its sort index alone: an entry's sig must hold mask before its row (x) is read.
func (s *listSQL) wordRun(idb bun.IDB, f ListFilter, words []string, lead int, mask int64, conds []string, match string, args ...any) string {
	conds = append(slices.Clone(conds), match)
	s.args = append(s.args, args...)
	cols, from, row := summaryColumns("w", "w.auction_id AS id"), "auction_words AS w", "w"
	if mask != 0 {
		conds = append(conds, "(w.sig & "+s.arg(mask)+") = "+s.arg(mask))
		// x is the row of w's entry: read only for the entries that pass the pre-test.
		cols, from, row = summaryColumns("x", "x.auction_id AS id"), from+" JOIN auction_words AS x ON x.auction_id = w.auction_id AND x.word = w.word", "x"
	}
	for i, w := range words {
		if i != lead {
			conds = append(conds, containsExpr(idb, row+".search_words", s.arg(search.Needle(w))))
		}
	}
	return s.page(cols, from, "w", "w.auction_id", conds, f)
}

// searchTerm is a word of the index and how many auctions had it when last counted.
type searchTerm struct {
	Q        int    `bun:"q"`
	Word     string `bun:"word"`
	Auctions int64  `bun:"auctions"`
}

// searchCompletions lists, for each query word, up to limit words of the index that it
// begins, in one statement.
func searchCompletions(ctx context.Context, idb bun.IDB, words []string, limit int) ([][]searchTerm, error) {
	var q listSQL
	var terms []searchTerm
	if err := scanRead(ctx, idb, q.completions(words, limit), q.args, &terms); err != nil {
		return nil, err
	}
	out := make([][]searchTerm, len(words))
	for _, t := range terms {
		out[t.Q] = append(out[t.Q], t)
	}
	return out, nil
}

// completions reads, for each query word (q, its index in words), up to limit words of
// search_terms that it begins (word) and their counts (auctions), in word order.
func (s *listSQL) completions(words []string, limit int) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = fmt.Sprintf("SELECT * FROM (%s) AS c%d", s.terms(fmt.Sprintf("%d AS q, t.word, t.auctions", i), w, limit), i)
	}
	return strings.Join(parts, " UNION ALL ")
}

// terms reads up to limit words of search_terms (alias t) that word begins, in word
// order, as cols; it adds its arguments.
func (s *listSQL) terms(cols, word string, limit int) string {
	return "SELECT " + cols + " FROM search_terms AS t WHERE t.word >= " + s.arg(word) + " AND t.word < " +
		s.arg(search.PrefixEnd(word)) + " ORDER BY t.word LIMIT " + strconv.Itoa(limit)
}

// CountSearchTerms counts again how many auctions have each word of search_terms, which
// only chooses how a search reads (the scheduler's count-search-words), and returns how
// many words it counted.
func CountSearchTerms(ctx context.Context, idb bun.IDB) (int64, error) {
	res, err := idb.NewRaw(`UPDATE search_terms SET auctions = (SELECT count(*) FROM auction_words AS w WHERE w.word = search_terms.word)`).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("count search terms: %w", err)
	}
	return res.RowsAffected()
}

// pruneBatch is how many words of search_terms one transaction of PruneSearchTerms looks
// at, so that the writers it holds off wait for a batch, not for the whole table.
var pruneBatch = 5000

// PruneSearchTerms deletes the words of search_terms that no auction's name has any more
// (renamed or deleted since), so that the table does not grow with every word ever
// written and a prefix's completions are the words it can find; it returns how many it
// deleted. It is the scheduler's count-search-words, with CountSearchTerms.
//
// A writer of an auction inserts its word rows, then the words into search_terms (ON
// CONFLICT DO NOTHING, which takes no lock on a row that is there). On PostgreSQL each
// batch therefore first locks search_terms against writers (SHARE ROW EXCLUSIVE: an
// INSERT's ROW EXCLUSIVE waits for it, and it waits for the writers that have inserted
// into search_terms and not committed), so that its test sees every word row written by
// a writer that found its words there, and a writer that comes after re-inserts a word
// the batch deleted. A lock not granted within a second ends the run (a long load holds
// it): the next run goes on. SQLite has one writer at a time.
func PruneSearchTerms(ctx context.Context, d *DB) (int64, error) {
	var deleted int64
	after := ""
	for {
		var n int64
		var last string
		done := false
		err := d.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
			n, last, done = 0, "", false // a retried transaction starts over
			if d.Kind == Postgres {
				if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '1s'"); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, "LOCK TABLE search_terms IN SHARE ROW EXCLUSIVE MODE"); err != nil {
					return err
				}
			}
			var words []string
			if err := tx.NewRaw("SELECT word FROM search_terms WHERE word > ? ORDER BY word LIMIT ?", after, pruneBatch).
				Scan(ctx, &words); err != nil {
				return err
			}
			if len(words) < pruneBatch {
				done = true
			}
			if len(words) == 0 {
				return nil
			}
			last = words[len(words)-1]
			res, err := tx.NewRaw(`DELETE FROM search_terms WHERE word > ? AND word <= ?
				AND NOT EXISTS (SELECT 1 FROM auction_words AS w WHERE w.word = search_terms.word)`, after, last).Exec(ctx)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if lockNotGranted(err) {
			return deleted, nil
		}
		if err != nil {
			return deleted, fmt.Errorf("prune search terms: %w", err)
		}
		deleted += n
		if done {
			return deleted, nil
		}
		after = last
	}
}

// containsExpr tests that column holds the string arg (a placeholder) as a substring.
func containsExpr(idb bun.IDB, column, arg string) string {
	if idb.Dialect().Name() == dialect.PG {
		return "strpos(" + column + ", " + arg + ") > 0"
	}
	return "instr(" + column + ", " + arg + ") > 0"
}

// indexAuctionWords writes the rows of auction_words of auction id, one per word of its
// search_words, from its row as it now is. The writes that insert an auction or change its
// name call it in their transaction, after writing search_words = search.Index(name).
func indexAuctionWords(ctx context.Context, idb bun.IDB, id int64, searchWords string) error {
	if _, err := idb.NewDelete().TableExpr("auction_words").Where("auction_id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("index auction words: %w", err)
	}
	if searchWords == "" {
		return nil
	}
	return insertWordRows(ctx, idb, id-1, id)
}

// insertWordRows inserts the rows of auction_words of the auctions with IDs in (after, upTo],
// one per word of their search_words, copying the columns of their rows.
// Splitting search_words at its spaces undoes search.Index's join; it is not the word
// rule, which only Go applies.
func insertWordRows(ctx context.Context, idb bun.IDB, after, upTo int64) error {
	where, args := "a.id > ? AND a.id <= ?", []any{after, upTo}
	const insert = `INSERT INTO auction_words (word, auction_id, seller_id, name, search_words, sig, status,
			start_at, end_at, current_price, bid_count, like_count, thumbnail_id, created_at)
		SELECT w.word, a.id, a.seller_id, a.name, a.search_words, a.search_sig, a.status,
			a.start_at, a.end_at, a.current_price, a.bid_count, a.like_count, a.thumbnail_id, a.created_at `
	var q string
	if idb.Dialect().Name() == dialect.PG {
		q = insert + `FROM auctions AS a CROSS JOIN LATERAL unnest(string_to_array(substr(a.search_words, 2), ' ')) AS w (word)
			WHERE a.search_words <> '' AND ` + where
	} else {
		q = `WITH RECURSIVE w (id, word, rest) AS (
				SELECT a.id, NULL, substr(a.search_words, 2) || ' ' FROM auctions AS a WHERE a.search_words <> '' AND ` + where + `
				UNION ALL
				SELECT id, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1) FROM w WHERE rest <> '')
			` + insert + `FROM w JOIN auctions AS a ON a.id = w.id WHERE w.word IS NOT NULL`
	}
	if _, err := idb.NewRaw(q, args...).Exec(ctx); err != nil {
		return fmt.Errorf("index auction words: %w", err)
	}
	// New words join search_terms with the count of what was just indexed; in word order,
	// so that two writers adding the same new words cannot wait for each other in a cycle.
	_, err := idb.NewRaw(`INSERT INTO search_terms (word, auctions)
		SELECT w.word, count(*) FROM auction_words AS w
		WHERE w.auction_id > ? AND w.auction_id <= ? GROUP BY w.word ORDER BY w.word
		ON CONFLICT (word) DO NOTHING`, args...).Exec(ctx)
	if err != nil {
		return fmt.Errorf("index auction words: %w", err)
	}
	return nil
}

// backfillSearch writes search_words of every auction, for the migration that adds it
// (0011_search) on a database that already has auctions, in that migration's transaction;
// 0013_search_signature writes their word rows.
func backfillSearch(ctx context.Context, tx bun.Tx, log *slog.Logger) error {
	return eachAuctionName(ctx, tx, log, "search words", func(ids []int64, names []string) error {
		words := make([]any, len(names))
		for i, n := range names {
			words[i] = search.Index(n)
		}
		return setByID(ctx, tx, "search_words", ids, words)
	})
}

// backfillSignature writes search_sig of every auction and its word rows again (with
// their sig), for the migration that adds them (0013_search_signature).
func backfillSignature(ctx context.Context, tx bun.Tx, log *slog.Logger) error {
	return eachAuctionName(ctx, tx, log, "search signatures", func(ids []int64, names []string) error {
		sigs := make([]any, len(names))
		for i, n := range names {
			sigs[i] = search.Signature(n)
		}
		if err := setByID(ctx, tx, "search_sig", ids, sigs); err != nil {
			return err
		}
		after, upTo := ids[0]-1, ids[len(ids)-1]
		if _, err := tx.NewRaw("DELETE FROM auction_words WHERE auction_id > ? AND auction_id <= ?", after, upTo).Exec(ctx); err != nil {
			return err
		}
		return insertWordRows(ctx, tx, after, upTo)
	})
}

// eachAuctionName calls fn with the IDs and names of every auction, a chunk at a time in
// the order of IDs, and logs progress.
func eachAuctionName(ctx context.Context, tx bun.Tx, log *slog.Logger, what string, fn func(ids []int64, names []string) error) error {
	const chunk = 2000
	var after, done int64
	for {
		var rows []struct {
			ID   int64  `bun:"id"`
			Name string `bun:"name"`
		}
		if err := tx.NewRaw("SELECT id, name FROM auctions WHERE id > ? ORDER BY id LIMIT ?", after, chunk).
			Scan(ctx, &rows); err != nil {
			return fmt.Errorf("backfill %s: %w", what, err)
		}
		if len(rows) == 0 {
			return nil
		}
		ids, names := make([]int64, len(rows)), make([]string, len(rows))
		for i, r := range rows {
			ids[i], names[i] = r.ID, r.Name
		}
		if err := fn(ids, names); err != nil {
			return fmt.Errorf("backfill %s: %w", what, err)
		}
		after = rows[len(rows)-1].ID
		done += int64(len(rows))
		if done%100_000 < chunk {
			log.Info("migration: backfilling "+what, "auctions", done)
		}
	}
}

// setByID sets column of the auctions with the IDs to the values, in one statement.
func setByID(ctx context.Context, tx bun.Tx, column string, ids []int64, values []any) error {
	rows := make([]string, len(ids))
	args := make([]any, 0, 2*len(ids))
	for i, id := range ids {
		rows[i] = "(?, ?)"
		args = append(args, id, values[i])
	}
	_, err := tx.NewRaw(`WITH v (id, x) AS (VALUES `+strings.Join(rows, ", ")+`)
		UPDATE auctions SET `+column+` = (SELECT v.x FROM v WHERE v.id = auctions.id)
		WHERE id IN (SELECT v.id FROM v)`, args...).Exec(ctx)
	return err
}

// IndexAuctionWords writes the word index of the auctions loaded after afterID from their
// search_words (which the load wrote): one statement for them all.
func (l *Loader) IndexAuctionWords(ctx context.Context, afterID int64) error {
	var idb bun.IDB = l.tx
	if l.d.Kind == Postgres {
		idb = l.conn
	}
	return insertWordRows(ctx, idb, afterID, math.MaxInt64)
}

// CheckWordIndex compares the word index with the auctions it indexes and describes each
// difference: a search_words or search_sig that is not search.Index(name) or
// search.Signature(name), a word missing or extra, a copied column that differs, a word
// missing from search_terms. It reads both tables whole: for tests and checks, not for
// requests.
func CheckWordIndex(ctx context.Context, idb bun.IDB) ([]string, error) {
	type row struct {
		AuctionSummary
		SearchWords string `bun:"search_words"`
		Sig         int64  `bun:"sig"`
		Word        string `bun:"word"`
	}
	var auctions, words []row
	if err := idb.NewRaw("SELECT "+summaryColumns("a", "a.id")+", a.search_words, a.search_sig AS sig FROM auctions AS a").
		Scan(ctx, &auctions); err != nil {
		return nil, err
	}
	if err := idb.NewRaw("SELECT "+summaryColumns("w", "w.auction_id AS id")+", w.search_words, w.sig, w.word FROM auction_words AS w").
		Scan(ctx, &words); err != nil {
		return nil, err
	}
	type key struct {
		id   int64
		word string
	}
	indexed := map[key]row{}
	for _, w := range words {
		indexed[key{w.ID, w.Word}] = w
	}
	var problems []string
	same := func(a, b row) bool {
		return a.AuctionSummary.Name == b.AuctionSummary.Name && a.CurrentPrice == b.CurrentPrice && a.Status == b.Status &&
			a.StartAt.Equal(b.StartAt) && a.EndAt.Equal(b.EndAt) && a.BidCount == b.BidCount && a.LikeCount == b.LikeCount &&
			a.SellerID == b.SellerID && a.CreatedAt.Equal(b.CreatedAt) && a.SearchWords == b.SearchWords && a.Sig == b.Sig &&
			(a.ThumbnailID == nil) == (b.ThumbnailID == nil) && (a.ThumbnailID == nil || *a.ThumbnailID == *b.ThumbnailID)
	}
	for _, a := range auctions {
		if want := search.Index(a.Name); a.SearchWords != want {
			problems = append(problems, fmt.Sprintf("auction %d: search_words %q, its name %q makes %q", a.ID, a.SearchWords, a.Name, want))
		}
		if want := search.Signature(a.Name); a.Sig != want {
			problems = append(problems, fmt.Sprintf("auction %d: search_sig %x, its name %q makes %x", a.ID, a.Sig, a.Name, want))
		}
		for _, w := range search.Words(a.Name) {
			k := key{a.ID, w}
			r, ok := indexed[k]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("auction %d: no row for its word %q", a.ID, w))
			case !same(a, r):
				problems = append(problems, fmt.Sprintf("auction %d: the row of %q differs from the auction: %+v, not %+v", a.ID, w, r, a))
			}
			delete(indexed, k)
		}
	}
	for k := range indexed {
		problems = append(problems, fmt.Sprintf("auction %d: a row for %q, which its name does not have", k.id, k.word))
	}
	var unlisted []string
	if err := idb.NewRaw(`SELECT DISTINCT w.word FROM auction_words AS w
		WHERE NOT EXISTS (SELECT 1 FROM search_terms AS t WHERE t.word = w.word)`).Scan(ctx, &unlisted); err != nil {
		return nil, err
	}
	for _, w := range unlisted {
		problems = append(problems, fmt.Sprintf("the word %q is not in search_terms: searches for it find nothing", w))
	}
	return problems, nil
}
