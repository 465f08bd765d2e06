package db

import (
	"context"
	"database/sql/driver"

	"github.com/uptrace/bun"
)

// Fused is a PostgreSQL transaction on one connection that sends its BEGIN with its
// first raw statement and its COMMIT with the raw statement marked Final: two round trips
// fewer than a bun transaction, for short transactions that run thousands of times a
// second. It works because the driver sends every query as a simple query, which may
// hold several statements, and reads past the results that carry no rows. A query
// built any other way before the first raw one gets its own BEGIN first.
type Fused struct {
	bun.Conn
	begun, final, committed bool
	ctx                     context.Context
}

// Final makes the next raw statement the transaction's last: it carries the COMMIT.
func (f *Fused) Final() { f.final = true }

// NewRaw implements bun.IDB, fusing BEGIN and COMMIT into the statement.
func (f *Fused) NewRaw(query string, args ...any) *bun.RawQuery {
	if !f.begun {
		query, f.begun = "BEGIN; "+query, true
	}
	if f.final {
		query, f.final, f.committed = query+"; COMMIT", false, true
	}
	return f.Conn.NewRaw(query, args...)
}

func (f *Fused) begin() {
	if !f.begun {
		f.begun = true
		_, _ = f.Conn.ExecContext(f.ctx, "BEGIN") // an error shows in the query that follows
	}
}

// NewSelect implements bun.IDB.
func (f *Fused) NewSelect() *bun.SelectQuery { f.begin(); return f.Conn.NewSelect() }

// NewInsert implements bun.IDB.
func (f *Fused) NewInsert() *bun.InsertQuery { f.begin(); return f.Conn.NewInsert() }

// NewUpdate implements bun.IDB.
func (f *Fused) NewUpdate() *bun.UpdateQuery { f.begin(); return f.Conn.NewUpdate() }

// NewDelete implements bun.IDB.
func (f *Fused) NewDelete() *bun.DeleteQuery { f.begin(); return f.Conn.NewDelete() }

// TransactFused runs fn in a Fused transaction and retries it as Transact does. A fn
// that returns an error is rolled back; one that returns without a Final statement is
// committed with a COMMIT of its own. PostgreSQL only.
func (d *DB) TransactFused(ctx context.Context, fn func(ctx context.Context, tx *Fused) error) error {
	return retryTransient(ctx, func() error { return d.fusedOnce(ctx, fn) })
}

func (d *DB) fusedOnce(ctx context.Context, fn func(ctx context.Context, tx *Fused) error) error {
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx := &Fused{Conn: conn, ctx: ctx}
	err = fn(ctx, tx)
	switch {
	case err != nil:
		if tx.begun { // harmless when the failed statement's COMMIT never ran
			if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
				// The connection may still be inside the transaction: never reuse it.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}
		return err
	case tx.begun && !tx.committed:
		_, err = conn.ExecContext(ctx, "COMMIT")
		return err
	}
	return nil
}

// TransactShort runs fn in a short transaction: on PostgreSQL a Fused one, where calling
// last makes the next raw statement the one that carries the COMMIT; on SQLite a
// Transact, where last does nothing. It retries as Transact does.
func (d *DB) TransactShort(ctx context.Context, fn func(ctx context.Context, tx bun.IDB, last func()) error) error {
	if d.Kind == Postgres {
		return d.TransactFused(ctx, func(ctx context.Context, tx *Fused) error { return fn(ctx, tx, tx.Final) })
	}
	return d.Transact(ctx, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, tx, func() {}) })
}
