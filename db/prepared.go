package db

import (
	"container/list"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// A list read (ListAuctions, a search) is a statement text with ? for each argument. On
// PostgreSQL it runs as a prepared statement, once prepared per connection, so that the
// server keeps its plan: planning a page on auctions or auction_words, which weighs every
// index of the table, costs more than reading the page. Elsewhere (SQLite, a transaction,
// an argument the driver cannot send) bun writes the arguments into the text, as it does
// for every other statement.

// stmtCacheSize bounds how many statement texts are kept prepared (the texts differ by
// sort, filters, cursor, limit and the shape of a search), and so what each connection's
// server process keeps of them; the least recently used one is closed when a new one
// needs the room, once the reads running it are done.
const stmtCacheSize = 128

type stmtCache struct {
	mu    sync.Mutex
	byKey map[string]*list.Element
	order *list.List // front: most recently used; values are *cachedStmt
}

type cachedStmt struct {
	query   string
	stmt    *sql.Stmt
	users   int  // reads running it
	evicted bool // out of the cache: closed when its last user is done
}

func newStmtCache() *stmtCache {
	return &stmtCache{byKey: map[string]*list.Element{}, order: list.New()}
}

// get returns the prepared statement of query (? for each argument), preparing it on
// sqldb, numbered, if it is new; the caller must release it.
func (c *stmtCache) get(ctx context.Context, sqldb *sql.DB, query string) (*cachedStmt, error) {
	c.mu.Lock()
	if e, ok := c.byKey[query]; ok {
		c.order.MoveToFront(e)
		cs := e.Value.(*cachedStmt)
		cs.users++
		c.mu.Unlock()
		return cs, nil
	}
	c.mu.Unlock()
	stmt, err := sqldb.PrepareContext(ctx, numbered(query))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[query]; ok { // prepared meanwhile by another read
		_ = stmt.Close()
		c.order.MoveToFront(e)
		cs := e.Value.(*cachedStmt)
		cs.users++
		return cs, nil
	}
	cs := &cachedStmt{query: query, stmt: stmt, users: 1}
	c.byKey[query] = c.order.PushFront(cs)
	for c.order.Len() > stmtCacheSize {
		old := c.order.Remove(c.order.Back()).(*cachedStmt)
		delete(c.byKey, old.query)
		old.evicted = true
		if old.users == 0 {
			_ = old.stmt.Close()
		}
	}
	return cs, nil
}

// release ends a read's use of cs.
func (c *stmtCache) release(cs *cachedStmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.users--
	if cs.evicted && cs.users == 0 {
		_ = cs.stmt.Close()
	}
}

// scanRead runs a read of query (? for each of args) into dest, prepared when it can be.
func scanRead(ctx context.Context, idb bun.IDB, query string, args []any, dest any) error {
	d, ok := idb.(*DB)
	if !ok || d.stmts == nil || !sendable(args) {
		return idb.NewRaw(query, args...).Scan(ctx, dest)
	}
	cs, err := d.stmts.get(ctx, d.DB.DB, query)
	if err != nil {
		return err
	}
	defer d.stmts.release(cs)
	rows, err := cs.stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if out, ok := dest.(*[]AuctionSummary); ok {
		if scanned, err := scanSummaries(rows, out); scanned {
			return err
		}
	}
	return d.ScanRows(ctx, rows, dest)
}

// summaryNames are the columns of an AuctionSummary, in the order of summaryColumns.
var summaryNames = []string{"id", "name", "current_price", "status", "start_at", "end_at",
	"bid_count", "like_count", "seller_id", "created_at", "thumbnail_id"}

// scanSummaries reads a page of summaries straight into out when rows has exactly the
// columns of summaryColumns, in order, and reports whether it did (if not, it has read
// nothing). Every list read is such a page. Under `newest`, the scan of rows took 35.9 % of
// the API's CPU with bun's reflection and 28.7 % with this one (docs/BENCHMARKS.md, the
// sixth session); TestSummariesScanAsBunScansThem pins the two.
func scanSummaries(rows *sql.Rows, out *[]AuctionSummary) (bool, error) {
	cols, err := rows.Columns()
	if err != nil || !slices.Equal(cols, summaryNames) {
		return false, nil
	}
	*out = (*out)[:0]
	var thumbnail sql.NullInt64
	for rows.Next() {
		var s AuctionSummary
		if err := rows.Scan(&s.ID, &s.Name, &s.CurrentPrice, &s.Status, &s.StartAt, &s.EndAt,
			&s.BidCount, &s.LikeCount, &s.SellerID, &s.CreatedAt, &thumbnail); err != nil {
			return true, err
		}
		if thumbnail.Valid {
			id := thumbnail.Int64
			s.ThumbnailID = &id
		}
		*out = append(*out, s)
	}
	return true, rows.Err()
}

// sendable reports whether the driver can send each argument as a parameter.
func sendable(args []any) bool {
	for _, a := range args {
		switch a.(type) {
		case int64, int, string, time.Time:
		default:
			return false
		}
	}
	return true
}

// numbered replaces each ? of query with $1, $2, …; the list reads have no ? of their own.
func numbered(query string) string {
	var b strings.Builder
	n := 0
	for {
		i := strings.IndexByte(query, '?')
		if i < 0 {
			b.WriteString(query)
			return b.String()
		}
		n++
		b.WriteString(query[:i])
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
		query = query[i+1:]
	}
}
