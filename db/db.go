// Package db is Gavel's storage: bun models, embedded migrations, the store functions the
// domain calls, and every difference between PostgreSQL and SQLite. SQL lives here only.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"
)

// Dialect names the database behind a DB.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is a bun database that knows its dialect.
type DB struct {
	*bun.DB
	Kind Dialect
	// stmts keeps the list reads prepared on PostgreSQL (prepared.go); nil elsewhere.
	stmts *stmtCache
}

// ErrDuplicate is returned when a write hits a unique constraint.
var ErrDuplicate = errors.New("duplicate key")

// ErrNotFound is returned when a row that must exist does not.
var ErrNotFound = errors.New("not found")

// Open connects to rawURL: postgres://... or sqlite:PATH. An empty rawURL opens the
// embedded SQLite file gavel.db under dataDir, creating the directory.
func Open(ctx context.Context, rawURL, dataDir string) (*DB, error) {
	if rawURL == "" {
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("db: create data dir: %w", err)
		}
		rawURL = "sqlite:" + filepath.Join(dataDir, "gavel.db")
	}
	var d *DB
	if path, ok := strings.CutPrefix(rawURL, "sqlite:"); ok {
		d = openSQLite(path)
	} else {
		d = openPostgres(rawURL)
	}
	pingCtx, cancel := context.WithTimeout(ctx, openWait)
	defer cancel()
	for {
		// A new SQLite file switching to WAL while another process migrates it can answer
		// SQLITE_BUSY at once, whatever the busy timeout; a PostgreSQL that is down,
		// restarting or recovering refuses connections or says it is starting up. A role
		// started meanwhile waits for it rather than exit.
		err := d.PingContext(pingCtx)
		if err == nil {
			return d, nil
		}
		if !(retryable(err) || notUpYet(err)) || pingCtx.Err() != nil {
			_ = d.Close()
			return nil, fmt.Errorf("db: connect to %s: %w", d.Kind, err)
		}
		pause := 20 * time.Millisecond
		if notUpYet(err) {
			pause = 200 * time.Millisecond
		}
		select {
		case <-pingCtx.Done():
		case <-time.After(pause):
		}
	}
}

// openWait is how long Open waits for a database that is not up yet.
const openWait = 30 * time.Second

// notUpYet reports an error of a PostgreSQL server that is down or not taking connections
// yet: refused, cut off while connecting, starting up or recovering.
func notUpYet(err error) bool {
	var op *net.OpError
	return Unreachable(err) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &op)
}

func openPostgres(dsn string) *DB {
	// pgdriver's 10 s read timeout would cut off a long index build in a migration or a
	// bulk load; requests are bounded by their contexts instead.
	conn := pgdriver.NewConnector(pgdriver.WithDSN(dsn), pgdriver.WithApplicationName("gavel"),
		pgdriver.WithReadTimeout(10*time.Minute), genericPlans, pgdriver.WithResetSessionFunc(stillOpen))
	sqldb := sql.OpenDB(conn)
	sqldb.SetMaxOpenConns(32)
	sqldb.SetMaxIdleConns(32)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{DB: bun.NewDB(sqldb, pgdialect.New()), Kind: Postgres, stmts: newStmtCache()}
}

// genericPlans sets plan_cache_mode = force_generic_plan on every connection, unless the
// URL sets plan_cache_mode itself. It only concerns prepared statements, which here are the
// list reads (prepared.go): each is written as a walk of one index in the sort's order,
// whose generic plan is that walk (TestEverySortIsAnIndexScan checks it). The default
// (auto) plans a statement for its arguments five times on each connection before it
// weighs the generic plan, and keeps planning every time when the generic plan's estimate
// is the dearer, as it is for a page after a cursor or within a price range: measured at a
// million auctions, those planned on every read, 140 µs each, two to three times the cost
// of running them (docs/BENCHMARKS.md, "the fifth session").
func genericPlans(conf *pgdriver.Config) {
	params := map[string]any{"plan_cache_mode": "force_generic_plan"}
	for k, v := range conf.ConnParams { // the URL's own, plan_cache_mode included
		params[k] = v
	}
	conf.ConnParams = params
}

// stillOpen is checked before a pooled connection is used again: one the server closed
// (a restart, a crash, pg_terminate_backend) is reported bad, so that database/sql takes
// another or opens one, where pgdriver would fail the next statement with EOF and only
// then drop the connection. After a PostgreSQL restart each pooled connection used to
// fail one task or request that way.
func stillOpen(_ context.Context, cn *pgdriver.Conn) error {
	if closedByServer(cn.Conn()) {
		return driver.ErrBadConn
	}
	return nil
}

func openSQLite(path string) *DB {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	// Every transaction takes the write lock at BEGIN, so two writers queue instead of
	// failing halfway with SQLITE_BUSY on lock upgrade.
	q.Set("_txlock", "immediate")
	sqldb, _ := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	return &DB{DB: bun.NewDB(sqldb, sqlitedialect.New()), Kind: SQLite}
}

// Transact runs fn in a transaction and retries it when the database reports a transient
// conflict (serialization failure or deadlock on PostgreSQL, SQLITE_BUSY on SQLite).
func (d *DB) Transact(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return retryTransient(ctx, func() error { return d.RunInTx(ctx, nil, fn) })
}

// retryTransient runs attempt up to 8 times while it fails with a transient conflict,
// with a growing, jittered pause between tries.
func retryTransient(ctx context.Context, attempt func() error) error {
	const attempts = 8
	var err error
	for i := range attempts {
		err = attempt()
		if err == nil || !retryable(err) {
			return err
		}
		backoff := time.Duration(1<<i)*time.Millisecond + rand.N(5*time.Millisecond)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
	}
	return err
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.NewRaw("SELECT 1").Scan(ctx, &one)
}

func retryable(err error) bool {
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		switch pe.Field('C') {
		case "40001", "40P01":
			return true
		}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return false
}

// isDuplicate reports a unique-constraint violation on either dialect.
func isDuplicate(err error) bool {
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		return pe.Field('C') == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == 2067 || se.Code() == 1555 // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
	}
	return false
}

// isCheckViolation reports a CHECK constraint failure on either dialect.
func isCheckViolation(err error) bool {
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		return pe.Field('C') == "23514"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == 275 // SQLITE_CONSTRAINT_CHECK
	}
	return false
}

// Unreachable reports an error of PostgreSQL going away or not taking connections
// (SQLSTATE class 08, connection exception, and 57P01-57P03: shutting down, crashed,
// starting up), as opposed to an error in the query.
func Unreachable(err error) bool {
	var pe pgdriver.Error
	if !errors.As(err, &pe) {
		return false
	}
	code := pe.Field('C')
	return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03"
}

// lockNotGranted reports PostgreSQL's lock_timeout (SQLSTATE 55P03, lock not available).
func lockNotGranted(err error) bool {
	var pe pgdriver.Error
	return errors.As(err, &pe) && pe.Field('C') == "55P03"
}

// isForeignKeyViolation reports a foreign-key failure on either dialect.
func isForeignKeyViolation(err error) bool {
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		return pe.Field('C') == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == 787 // SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
