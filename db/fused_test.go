package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A fused transaction commits with its final statement, commits without one, and rolls
// back on an error, leaving its connection clean for the next user.
func TestTransactFused(t *testing.T) {
	t.Parallel()
	d := testenv.DB(t)
	if d.Kind != db.Postgres {
		t.Skip("fused transactions are PostgreSQL's; the SQLite run settles through Transact")
	}
	ctx := context.Background()
	d.SetMaxOpenConns(1) // every transaction and check below shares one connection
	insert := func(tx *db.Fused, email string) error {
		_, err := tx.NewRaw(`INSERT INTO users (email, email_key, password_hash, nickname, birth_date, gender)
			VALUES (?0, ?0, 'x', 'n', '1990-01-01', 'other')`, email).Exec(ctx)
		return err
	}
	count := func(email string) int64 {
		n, err := d.NewSelect().Model((*db.User)(nil)).Where("email_key = ?", email).Count(ctx)
		require.NoError(t, err)
		return n
	}
	require.NoError(t, d.TransactFused(ctx, func(ctx context.Context, tx *db.Fused) error {
		if err := insert(tx, "a@x"); err != nil {
			return err
		}
		tx.Final()
		return insert(tx, "b@x")
	}))
	assert.EqualValues(t, 1, count("a@x"))
	assert.EqualValues(t, 1, count("b@x"))
	require.NoError(t, d.TransactFused(ctx, func(ctx context.Context, tx *db.Fused) error {
		return insert(tx, "c@x") // no Final: committed afterwards
	}))
	assert.EqualValues(t, 1, count("c@x"))
	boom := errors.New("boom")
	err := d.TransactFused(ctx, func(ctx context.Context, tx *db.Fused) error {
		if err := insert(tx, "d@x"); err != nil {
			return err
		}
		return boom
	})
	assert.ErrorIs(t, err, boom)
	assert.Zero(t, count("d@x"), "rolled back")
	err = d.TransactFused(ctx, func(ctx context.Context, tx *db.Fused) error {
		tx.Final()
		return insert(tx, "a@x") // a duplicate: the statement fails, its COMMIT never runs
	})
	assert.Error(t, err)
	// The connection is outside any transaction again: a plain write commits.
	_, err = d.NewRaw(`UPDATE users SET nickname = 'm' WHERE email_key = 'a@x'`).Exec(ctx)
	require.NoError(t, err, "the connection was left in an aborted transaction")
	require.NoError(t, d.TransactFused(ctx, func(ctx context.Context, tx *db.Fused) error { return insert(tx, "e@x") }))
	assert.EqualValues(t, 1, count("e@x"))
}
