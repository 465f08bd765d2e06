package db

import (
	"container/list"
	"context"
	"database/sql"
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
// sort, filters, cursor, limit and the shape of a search); the least recently used one is
// closed when a new one needs the room.
const stmtCacheSize = 256

type stmtCache struct {
	mu    sync.Mutex
	byKey map[string]*list.Element
	order *list.List // front: most recently used; values are *cachedStmt
}

type cachedStmt struct {
	query string
	stmt  *sql.Stmt
}

func newStmtCache() *stmtCache {
	return &stmtCache{byKey: map[string]*list.Element{}, order: list.New()}
}

// get returns the prepared statement of query, preparing it on sqldb if it is new.
func (c *stmtCache) get(ctx context.Context, sqldb *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	if e, ok := c.byKey[query]; ok {
		c.order.MoveToFront(e)
		c.mu.Unlock()
		return e.Value.(*cachedStmt).stmt, nil
	}
	c.mu.Unlock()
	stmt, err := sqldb.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[query]; ok { // prepared meanwhile by another request
		_ = stmt.Close()
		c.order.MoveToFront(e)
		return e.Value.(*cachedStmt).stmt, nil
	}
	c.byKey[query] = c.order.PushFront(&cachedStmt{query: query, stmt: stmt})
	for c.order.Len() > stmtCacheSize {
		old := c.order.Remove(c.order.Back()).(*cachedStmt)
		delete(c.byKey, old.query)
		// A request may still be running it: database/sql closes it on each connection
		// once that connection is done with it.
		_ = old.stmt.Close()
	}
	return stmt, nil
}

// scanRead runs a read of query (? for each of args) into dest, prepared when it can be.
func scanRead(ctx context.Context, idb bun.IDB, query string, args []any, dest any) error {
	d, ok := idb.(*DB)
	if !ok || d.stmts == nil || !sendable(args) {
		return idb.NewRaw(query, args...).Scan(ctx, dest)
	}
	stmt, err := d.stmts.get(ctx, d.DB.DB, numbered(query))
	if err != nil {
		return err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return d.ScanRows(ctx, rows, dest)
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
