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

// A connection that the server terminates (as on a shutdown) is "unreachable"; an error in
// the query is not.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	d := testenv.DB(t)
	if d.Kind != db.Postgres {
		t.Skip("server-side connection errors are PostgreSQL's")
	}
	ctx := context.Background()
	_, err := d.NewRaw("SELECT pg_terminate_backend(pg_backend_pid())").Exec(ctx)
	require.Error(t, err)
	assert.True(t, db.Unreachable(err), "%v", err)
	_, err = d.NewRaw("SELECT no_such_column FROM users").Exec(ctx)
	require.Error(t, err)
	assert.False(t, db.Unreachable(err), "%v", err)
	assert.False(t, db.Unreachable(errors.New("boom")))
}
