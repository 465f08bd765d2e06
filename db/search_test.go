package db_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"
)

// oracleWords is the search rule of api/openapi.yaml ("Search") written apart from
// package search, as a regular expression: runs of letters and digits with the marks that
// follow them, in normal form C, in lower case.
func oracleWords(s string) []string {
	return oracleWord.FindAllString(strings.ToLower(norm.NFC.String(s)), -1)
}

var oracleWord = regexp.MustCompile(`[\p{L}\p{Nd}][\p{L}\p{Nd}\p{M}]*`)

func oracleMatches(name, q string) bool {
	words := oracleWords(name)
	for _, qw := range oracleWords(q) {
		if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, qw) }) {
			return false
		}
	}
	return true
}

var searchNames = []string{
	"Vintage camera bag", "Camera lens", "Camping stove", "Camel figurine", "Came with box", "Cameo brooch",
	"Cam belt", "Camisole", "Campanile print", "Camomile tea set", "Cambridge atlas", "Camcorder",
	"빈티지 카메라 가방", "카메라", "필름 카메라", "Café Müller chair", "Cafe\u0301 au lait bowl", "Cafeteria tray",
	"Vinyl 100%_rare", "Swiss pocket watch", "Pocket WATCH watch", "Wristwatch", "Leather jacket", "Denim jacket",
	"Vinyl record (1960s)", "Valve radio", "%%%", "Camera camping set", "Watch watchman strap",
}

// TestSearchFollowsTheRuleEveryWay checks every way a search is read (one index run per
// word, the word's rows read whole, the walk of a sort's index) against the rule written
// apart, for every sort, with filters and cursors, after bids, likes, status changes,
// soft-close ends, renames and deletes changed the auctions, on both databases; and that
// the word index then still agrees with the auctions.
func TestSearchFollowsTheRuleEveryWay(t *testing.T) {
	ctx := context.Background()
	d := testenv.DB(t)
	sellers := []int64{insertUser(t, d, "s1@x").ID, insertUser(t, d, "s2@x").ID}
	now := time.Now().UTC().Truncate(time.Second)
	var ids []int64
	for i := range 3 * len(searchNames) {
		a := &db.Auction{SellerID: sellers[i%2], Name: searchNames[i%len(searchNames)], StartPrice: 100, CurrentPrice: 100,
			Status: db.StatusReady, StartAt: now.Add(time.Hour), EndAt: now.Add(time.Duration(2+i%4) * time.Hour)}
		require.NoError(t, db.InsertAuction(ctx, d, a))
		ids = append(ids, a.ID)
	}
	// What decisions, likes, the scheduler and soft close write, straight to the rows: the
	// trigger must carry it to the word index.
	for i, id := range ids {
		status := []string{db.StatusReady, db.StatusPending, db.StatusDone}[i%3]
		_, err := d.NewUpdate().Model((*db.Auction)(nil)).
			Set("current_price = ?", 100+(i*37)%7*50).Set("bid_count = ?", i%4).Set("like_count = ?", (i*7)%5).
			Set("status = ?", status).Set("end_at = ?", now.Add(time.Duration(2+i%3)*time.Hour)).
			Where("id = ?", id).Exec(ctx)
		require.NoError(t, err)
	}
	// Renames and deletes through the writes the API uses (the auctions are READY: editable).
	for _, id := range ids[:12] {
		a, err := db.AuctionByID(ctx, d, id, false)
		require.NoError(t, err)
		if a.Status != db.StatusReady {
			continue
		}
		if id%2 == 0 {
			a.Name = "Renamed " + a.Name + " telescope"
			require.NoError(t, db.UpdateAuctionIfEditable(ctx, d, a))
		} else {
			_, err := db.DeleteAuctionIfEditable(ctx, d, id, a.SellerID)
			require.NoError(t, err)
		}
	}
	var lots []db.AuctionSummary
	require.NoError(t, d.NewSelect().TableExpr("auctions AS a").ColumnExpr("a.id, a.name, a.current_price, a.status, a.start_at, a.end_at, a.bid_count, a.like_count, a.seller_id, a.created_at, a.thumbnail_id").Scan(ctx, &lots))
	problems, err := db.CheckWordIndex(ctx, d)
	require.NoError(t, err)
	require.Empty(t, problems)
	// The counts that choose the leading word, from what is now indexed.
	counted, err := db.CountSearchTerms(ctx, d)
	require.NoError(t, err)
	assert.Greater(t, counted, int64(50))
	var cameras int64
	require.NoError(t, d.NewRaw("SELECT auctions FROM search_terms WHERE word = 'camera'").Scan(ctx, &cameras))
	want := 0
	for _, a := range lots {
		if slices.Contains(oracleWords(a.Name), "camera") {
			want++
		}
	}
	assert.EqualValues(t, want, cameras)

	less := map[string]func(a, b db.AuctionSummary) bool{
		db.SortNewest: func(a, b db.AuctionSummary) bool {
			return a.CreatedAt.After(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.ID > b.ID
		},
		db.SortEndingSoon: func(a, b db.AuctionSummary) bool {
			return a.EndAt.Before(b.EndAt) || a.EndAt.Equal(b.EndAt) && a.ID < b.ID
		},
		db.SortPriceAsc: func(a, b db.AuctionSummary) bool {
			return a.CurrentPrice < b.CurrentPrice || a.CurrentPrice == b.CurrentPrice && a.ID < b.ID
		},
		db.SortPriceDesc: func(a, b db.AuctionSummary) bool {
			return a.CurrentPrice > b.CurrentPrice || a.CurrentPrice == b.CurrentPrice && a.ID > b.ID
		},
		db.SortMostBids: func(a, b db.AuctionSummary) bool {
			return a.BidCount > b.BidCount || a.BidCount == b.BidCount && a.ID > b.ID
		},
		db.SortPopular: func(a, b db.AuctionSummary) bool {
			return a.LikeCount > b.LikeCount || a.LikeCount == b.LikeCount && a.ID > b.ID
		},
	}
	queries := []string{"cam", "CAMERA", "camera bag", "bag camera", "vint cam", "c", "ca", "came", "amera", "카메", "카메라 가방",
		"카", "cafe", "café", "Cafe\u0301", "müll", "100", "00", "rare 100", "watch", "wat", "pocket watch", "jacket",
		"v", "tel", "renamed", "zzz", "cam cam", "jacket ja"}
	filters := []struct {
		name string
		set  func(*db.ListFilter)
		keep func(db.AuctionSummary) bool
	}{
		{"all", func(*db.ListFilter) {}, func(db.AuctionSummary) bool { return true }},
		{"pending", func(f *db.ListFilter) { f.Status = db.StatusPending }, func(a db.AuctionSummary) bool { return a.Status == db.StatusPending }},
		{"seller and price", func(f *db.ListFilter) { f.SellerID = sellers[1]; p := int64(200); f.MinPrice = &p },
			func(a db.AuctionSummary) bool { return a.SellerID == sellers[1] && a.CurrentPrice >= 200 }},
	}
	ways := []struct {
		name              string
		maxRuns, rangeCap int
		// sql runs first: the last way makes every index entry pass the signature's
		// pre-test, so that the substring test alone must keep what the rule keeps.
		sql string
	}{{"runs", 8, 2000, ""}, {"rows read whole", 0, 1 << 30, ""}, {"sort index walked", 0, 0, ""},
		{"runs, every signature full", 8, 2000, "UPDATE auction_words SET sig = -1"}}
	const pageSize = 3 // small: most queries take several pages, so cursors are read
	for _, way := range ways {
		if way.sql != "" {
			_, err := d.ExecContext(ctx, way.sql)
			require.NoError(t, err)
		}
		restore := db.ForceSearchPlanForTest(way.maxRuns, way.rangeCap)
		for sort, lessFn := range less {
			for _, q := range queries {
				for _, fl := range filters {
					want := []int64{}
					sorted := slices.Clone(lots)
					slices.SortStableFunc(sorted, func(a, b db.AuctionSummary) int {
						if lessFn(a, b) {
							return -1
						}
						if lessFn(b, a) {
							return 1
						}
						return 0
					})
					for _, a := range sorted {
						if fl.keep(a) && oracleMatches(a.Name, q) {
							want = append(want, a.ID)
						}
					}
					got := []int64{}
					f := db.ListFilter{Sort: sort, Q: q, Limit: pageSize}
					fl.set(&f)
					for range 100 {
						page, err := db.ListAuctions(ctx, d, f)
						require.NoError(t, err)
						for _, a := range page {
							got = append(got, a.ID)
						}
						if len(page) < pageSize {
							break
						}
						pos := db.PositionOf(sort, page[len(page)-1])
						f.After = &pos
					}
					assert.Equal(t, want, got, "%s: sort=%s q=%q %s", way.name, sort, q, fl.name)
				}
			}
		}
		restore()
	}
}

// TestWordIndexCheckCatchesDrift breaks the word index each way it could drift from the
// auctions and requires CheckWordIndex to name it.
func TestWordIndexCheckCatchesDrift(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, sql, want string
	}{
		{"a copied column", "UPDATE auction_words SET current_price = current_price + 1 WHERE word = 'camera'", "differs"},
		{"a missing word", "DELETE FROM auction_words WHERE word = 'bag'", `no row for its word "bag"`},
		{"an extra word", "UPDATE auction_words SET word = 'lens' WHERE word = 'bag'", `a row for "lens"`},
		{"a name changed behind the index", "UPDATE auctions SET name = 'Tripod'", "makes"},
		{"a word missing from the terms", "DELETE FROM search_terms WHERE word = 'camera'", `"camera" is not in search_terms`},
		{"a signature changed behind the index", "UPDATE auctions SET search_sig = 1", "search_sig 1"},
		{"a word row's signature", "UPDATE auction_words SET sig = 0 WHERE word = 'camera'", "differs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := testenv.DB(t)
			a := &db.Auction{SellerID: insertUser(t, d, "s@x").ID, Name: "Vintage camera bag", StartPrice: 10, CurrentPrice: 10,
				Status: db.StatusReady, StartAt: time.Now().Add(time.Hour), EndAt: time.Now().Add(2 * time.Hour)}
			require.NoError(t, db.InsertAuction(ctx, d, a))
			problems, err := db.CheckWordIndex(ctx, d)
			require.NoError(t, err)
			require.Empty(t, problems)
			_, err = d.ExecContext(ctx, c.sql)
			require.NoError(t, err)
			problems, err = db.CheckWordIndex(ctx, d)
			require.NoError(t, err)
			assert.Contains(t, fmt.Sprint(problems), c.want)
		})
	}
}

// TestSearchMigrationIndexesExistingAuctions applies the migrations before the word index,
// loads auctions the old way, then the rest: the migration's Go step indexes them.
func TestSearchMigrationIndexesExistingAuctions(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, testenv.EmptyDatabaseURL(t), "")
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	ms, err := d.Migrations()
	require.NoError(t, err)
	i := slices.IndexFunc(ms, func(m db.Migration) bool { return m.Version == "0011_search" })
	require.Positive(t, i)
	_, err = db.ApplyForTest(ctx, d, testenv.Discard(), ms[:i])
	require.NoError(t, err)
	u := insertUser(t, d, "s@x")
	want := 0
	for n := range 2500 { // more than one chunk
		name := fmt.Sprintf("%s no. %d", searchNames[n%len(searchNames)], n)
		if oracleMatches(name, "카메라 가방") {
			want++
		}
		_, err := d.ExecContext(ctx, `INSERT INTO auctions (seller_id, name, start_price, current_price, status, start_at, end_at, created_at, updated_at)
			VALUES (?, ?, 10, 10, 'READY', ?, ?, ?, ?)`, u.ID, name,
			time.Now().Add(time.Hour), time.Now().Add(2*time.Hour), time.Now(), time.Now())
		require.NoError(t, err)
	}
	_, err = db.ApplyForTest(ctx, d, testenv.Discard(), ms)
	require.NoError(t, err)
	problems, err := db.CheckWordIndex(ctx, d)
	require.NoError(t, err)
	require.Empty(t, problems)
	page, err := db.ListAuctions(ctx, d, db.ListFilter{Sort: db.SortNewest, Q: "카메라 가방", Limit: 100})
	require.NoError(t, err)
	assert.Len(t, page, want)
	assert.Positive(t, want)
}

// TestSearchReadsTheWayItShould checks that every query gets its page from the remembered
// completions after its first search, and the page the rule gives: a remembered read that
// wrongly found nothing would be hidden by the reads after it. It checks again with every
// signature full (every index entry passes the pre-test), where the substring test alone
// must keep the matches.
func TestSearchReadsTheWayItShould(t *testing.T) {
	ctx := context.Background()
	d := testenv.DB(t)
	u := insertUser(t, d, "s@x").ID
	names := append(slices.Clone(searchNames), "Pocket knife", "Pocket radio", "Camera strap")
	ids := map[int64]string{}
	for _, n := range names {
		a := &db.Auction{SellerID: u, Name: n, StartPrice: 10, CurrentPrice: 10,
			Status: db.StatusReady, StartAt: time.Now().Add(time.Hour), EndAt: time.Now().Add(2 * time.Hour)}
		require.NoError(t, db.InsertAuction(ctx, d, a))
		ids[a.ID] = n
	}
	_, err := db.CountSearchTerms(ctx, d)
	require.NoError(t, err)
	var got string
	defer db.SearchAnsweredForTest(func(read string) { got = read })()
	for _, full := range []bool{false, true} {
		if full {
			_, err := d.ExecContext(ctx, "UPDATE auction_words SET sig = -1")
			require.NoError(t, err)
		}
		// Each query is read from its completions the first time, then as remembered, in
		// one statement, whatever read it is.
		for _, q := range []string{
			"camera",       // one word, one completion
			"camera bag",   // two words with masks, one completion each: the signature's read
			"bag camera",   // the same, the other way round
			"pocket watch", // the same
			"swiss wat",    // one word with one completion leads; the other has several
			"카메라 가방",       // a word of two code points: its run, the other's mask tested
			"wat",          // several completions: their runs merged
			"cam",          // more than searchMaxRuns: not run by run
		} {
			want := [2]string{"completions", "remembered"}
			db.ForgetCompletionsForTest()
			var match []int64
			for id, n := range ids {
				if oracleMatches(n, q) {
					match = append(match, id)
				}
			}
			slices.Sort(match)
			for i, sort := range []string{db.SortNewest, db.SortPriceDesc, db.SortEndingSoon} {
				got = ""
				page, err := db.ListAuctions(ctx, d, db.ListFilter{Q: q, Sort: sort, Limit: 100})
				require.NoError(t, err)
				var found []int64
				for _, a := range page {
					found = append(found, a.ID)
				}
				slices.Sort(found)
				assert.Equal(t, match, found, "q=%q sort=%s full=%v", q, sort, full)
				assert.Equal(t, want[min(i, 1)], got, "q=%q sort=%s", q, sort)
			}
		}
	}
}

// TestRememberedCompletionsAreCheckedAgain checks that what the memo of query words
// remembers never gives a wrong page: once the index has gained a completion of "wat",
// the next search still finds every auction the rule finds, by the reads after the
// remembered one, and then remembers the new completions.
func TestRememberedCompletionsAreCheckedAgain(t *testing.T) {
	ctx := context.Background()
	d := testenv.DB(t)
	u := insertUser(t, d, "memo@x").ID
	var ids []int64
	add := func(name string) {
		a := &db.Auction{SellerID: u, Name: name, StartPrice: 10, CurrentPrice: 10,
			Status: db.StatusReady, StartAt: time.Now().Add(time.Hour), EndAt: time.Now().Add(2 * time.Hour)}
		require.NoError(t, db.InsertAuction(ctx, d, a))
		ids = append(ids, a.ID)
	}
	add("Pocket watch")
	add("Watering can")
	var got string
	defer db.SearchAnsweredForTest(func(read string) { got = read })()
	db.ForgetCompletionsForTest()
	check := func(want string) {
		t.Helper()
		got = ""
		page, err := db.ListAuctions(ctx, d, db.ListFilter{Q: "wat", Sort: db.SortPriceAsc, Limit: 20})
		require.NoError(t, err)
		var found []int64
		for _, a := range page {
			found = append(found, a.ID)
		}
		assert.ElementsMatch(t, ids, found)
		assert.Equal(t, want, got)
	}
	check("completions")
	check("remembered")
	add("Watt meter") // a third completion
	check("completions")
	check("remembered")
}

// TestPruneSearchTermsDropsOnlyDeadWords checks that the words no name has any more, after
// a rename and a delete, leave search_terms, batch after batch, and that the others stay.
func TestPruneSearchTermsDropsOnlyDeadWords(t *testing.T) {
	ctx := context.Background()
	d := testenv.DB(t)
	u := insertUser(t, d, "prune@x").ID
	var ids []int64
	for _, n := range []string{"Zebra lamp", "Yak lamp", "Okapi figurine"} {
		a := &db.Auction{SellerID: u, Name: n, StartPrice: 10, CurrentPrice: 10,
			Status: db.StatusReady, StartAt: time.Now().Add(time.Hour), EndAt: time.Now().Add(2 * time.Hour)}
		require.NoError(t, db.InsertAuction(ctx, d, a))
		ids = append(ids, a.ID)
	}
	a, err := db.AuctionByID(ctx, d, ids[0], false)
	require.NoError(t, err)
	a.Name = "Giraffe lamp"
	require.NoError(t, db.UpdateAuctionIfEditable(ctx, d, a))
	_, err = db.DeleteAuctionIfEditable(ctx, d, ids[2], u)
	require.NoError(t, err)
	terms := func() []string {
		var words []string
		require.NoError(t, d.NewRaw("SELECT word FROM search_terms ORDER BY word").Scan(ctx, &words))
		return words
	}
	require.Equal(t, []string{"figurine", "giraffe", "lamp", "okapi", "yak", "zebra"}, terms())
	defer db.PruneBatchForTest(2)()
	n, err := db.PruneSearchTerms(ctx, d)
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)
	assert.Equal(t, []string{"giraffe", "lamp", "yak"}, terms())
	problems, err := db.CheckWordIndex(ctx, d)
	require.NoError(t, err)
	assert.Empty(t, problems)
	// Nothing more to prune.
	n, err = db.PruneSearchTerms(ctx, d)
	require.NoError(t, err)
	assert.Zero(t, n)
}

// TestPruneKeepsTheWordOfAnAuctionBeingWritten prunes while a writer's transaction has
// found its word in search_terms (left there, dead, by a deleted auction) and not yet
// committed, and checks what the writer is then told: a search for the word finds its
// auction. A prune that did not wait for the writer would delete the word, and hide the
// auction from every search.
func TestPruneKeepsTheWordOfAnAuctionBeingWritten(t *testing.T) {
	ctx := context.Background()
	d := testenv.DB(t)
	u := insertUser(t, d, "prune-race@x").ID
	newAuction := func() *db.Auction {
		return &db.Auction{SellerID: u, Name: "Wooden tapir", StartPrice: 10, CurrentPrice: 10,
			Status: db.StatusReady, StartAt: time.Now().Add(time.Hour), EndAt: time.Now().Add(2 * time.Hour)}
	}
	gone := newAuction()
	require.NoError(t, db.InsertAuction(ctx, d, gone))
	_, err := db.DeleteAuctionIfEditable(ctx, d, gone.ID, u)
	require.NoError(t, err)

	tx, err := d.BeginTx(ctx, nil)
	require.NoError(t, err)
	a := newAuction()
	require.NoError(t, db.InsertAuction(ctx, tx, a))
	pruned := make(chan error, 1)
	go func() {
		_, err := db.PruneSearchTerms(ctx, d)
		pruned <- err
	}()
	time.Sleep(300 * time.Millisecond) // the prune runs, or waits for the writer
	require.NoError(t, tx.Commit())
	require.NoError(t, <-pruned)

	page, err := db.ListAuctions(ctx, d, db.ListFilter{Q: "tapir", Sort: db.SortNewest, Limit: 5})
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, a.ID, page[0].ID)
	problems, err := db.CheckWordIndex(ctx, d)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// TestPruneGivesWayToALongWriter checks that a prune does not hold writers off behind a
// transaction that keeps its lock on search_terms (a bulk load): it gives up when its lock
// is not granted within lock_timeout, deleting nothing, and a later run prunes.
func TestPruneGivesWayToALongWriter(t *testing.T) {
	ctx := context.Background()
	d := testenv.DB(t)
	if d.Kind != db.Postgres {
		t.Skip("SQLite has one writer at a time: a prune waits for it (busy_timeout)")
	}
	u := insertUser(t, d, "prune-wait@x").ID
	a := &db.Auction{SellerID: u, Name: "Numbat", StartPrice: 10, CurrentPrice: 10,
		Status: db.StatusReady, StartAt: time.Now().Add(time.Hour), EndAt: time.Now().Add(2 * time.Hour)}
	require.NoError(t, db.InsertAuction(ctx, d, a))
	_, err := db.DeleteAuctionIfEditable(ctx, d, a.ID, u)
	require.NoError(t, err)
	tx, err := d.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, "INSERT INTO search_terms (word, auctions) VALUES ('wombat', 0) ON CONFLICT DO NOTHING")
	require.NoError(t, err)
	n, err := db.PruneSearchTerms(ctx, d)
	require.NoError(t, err)
	assert.Zero(t, n, "the prune gave way")
	require.NoError(t, tx.Rollback())
	n, err = db.PruneSearchTerms(ctx, d)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n, "numbat, pruned by the next run")
}

// TestSearchLeadsWithItsRarestWord checks the choice of the runs that a search of several
// words reads: those of the query word whose completions have the fewest auctions, and no
// run at all when a query word begins no word of the index, for then nothing can match and
// reading a common word's whole run would be wasted.
func TestSearchLeadsWithItsRarestWord(t *testing.T) {
	ctx := context.Background()
	d := testenv.DB(t)
	u := insertUser(t, d, "lead@x").ID
	for _, n := range []string{"Camera bag", "Camera lens", "Camera strap", "Leather bag", "Camping stove", "Watch"} {
		a := &db.Auction{SellerID: u, Name: n, StartPrice: 10, CurrentPrice: 10,
			Status: db.StatusReady, StartAt: time.Now().Add(time.Hour), EndAt: time.Now().Add(2 * time.Hour)}
		require.NoError(t, db.InsertAuction(ctx, d, a))
	}
	_, err := db.CountSearchTerms(ctx, d)
	require.NoError(t, err)
	for words, want := range map[string][]string{
		"camera bag":   {"bag"},  // 2 auctions against 3
		"bag camera":   {"bag"},  // whatever the order of the query
		"camera lens":  {"lens"}, // 1
		"strap lens":   {"lens"}, // 1 each: the first in word order
		"lens strap":   {"lens"},
		"came bag":     {"bag"}, // came: camera only; bag is rarer
		"cam stove":    {"stove"},
		"cam camp":     {"camping"},           // cam begins two words (4 auctions), camp one
		"cam ca":       {"camera", "camping"}, // both begin the same two words: their runs
		"camera zzz":   nil,                   // zzz begins nothing: no match, no run
		"zzz camera":   nil,
		"cam wat zzz":  nil,
		"watch camera": {"watch"},
	} {
		lead, err := db.LeadForTest(ctx, d, strings.Fields(words))
		require.NoError(t, err)
		assert.Equal(t, want, lead, words)
	}
	// Every word begins more than the runs a search merges: no run leads.
	defer db.ForceSearchPlanForTest(1, 2000)()
	lead, err := db.LeadForTest(ctx, d, []string{"cam", "ca"})
	require.NoError(t, err)
	assert.Empty(t, lead)
}
