package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/require"
)

// A pooled connection that the server closed (here pg_terminate_backend; a restart
// closes them all) is left out before it is used again: the next read and the next
// prepared list read answer, where each used to fail once with EOF.
func TestAClosedPooledConnectionIsNotUsedAgain(t *testing.T) {
	if !testenv.Postgres() {
		t.Skip("pooled server connections are PostgreSQL's")
	}
	t.Parallel()
	ctx := context.Background()
	raw := testenv.DatabaseURL(t)
	d, err := db.Open(ctx, raw, "")
	require.NoError(t, err)
	defer d.Close()
	admin, err := db.Open(ctx, raw, "")
	require.NoError(t, err)
	defer admin.Close()
	d.SetMaxOpenConns(1) // the one connection of the pool is the one closed

	terminate := func() {
		t.Helper()
		var pid int64
		require.NoError(t, d.NewRaw("SELECT pg_backend_pid()").Scan(ctx, &pid))
		require.NoError(t, admin.NewRaw("SELECT pg_terminate_backend(?)", pid).Scan(ctx, new(bool)))
		require.Eventually(t, func() bool {
			var n int
			return admin.NewRaw("SELECT count(*) FROM pg_stat_activity WHERE pid = ?", pid).Scan(ctx, &n) == nil && n == 0
		}, 5*time.Second, 10*time.Millisecond, "backend %d still there", pid)
	}

	_, err = db.ListAuctions(ctx, d, db.ListFilter{Sort: db.SortNewest, Limit: 21}) // prepared on the connection
	require.NoError(t, err)
	var first, again int64
	require.NoError(t, d.NewRaw("SELECT pg_backend_pid()").Scan(ctx, &first))
	require.NoError(t, d.NewRaw("SELECT pg_backend_pid()").Scan(ctx, &again))
	require.Equal(t, first, again, "a connection the server did not close is kept")
	terminate()
	var one int
	require.NoError(t, d.NewRaw("SELECT 1").Scan(ctx, &one), "a plain statement after its connection was closed")
	terminate()
	_, err = db.ListAuctions(ctx, d, db.ListFilter{Sort: db.SortNewest, Limit: 21})
	require.NoError(t, err, "a prepared list read after its connection was closed")
}
