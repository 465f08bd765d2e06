package db_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/require"
)

// TestMain lets the test binary act as a migrator process for TestConcurrentMigrators.
func TestMain(m *testing.M) {
	if url := os.Getenv("GAVEL_TEST_MIGRATOR_URL"); url != "" {
		d, err := db.Open(context.Background(), url, "")
		if err == nil {
			_, err = d.Migrate(context.Background(), testenv.Discard())
			d.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "migrator:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestConcurrentMigrators(t *testing.T) {
	t.Parallel()
	url := testenv.EmptyDatabaseURL(t)
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	outs := make([]strings.Builder, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
		cmds[i].Env = append(os.Environ(), "GAVEL_TEST_MIGRATOR_URL="+url)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		require.NoError(t, cmds[i].Start())
	}
	for i, c := range cmds {
		require.NoError(t, c.Wait(), "migrator %d: %s", i, outs[i].String())
	}
	d, err := db.Open(context.Background(), url, "")
	require.NoError(t, err)
	defer d.Close()
	ms, err := d.Migrations()
	require.NoError(t, err)
	var want []string
	for _, m := range ms {
		want = append(want, m.Version)
	}
	got, err := d.AppliedMigrations(context.Background())
	require.NoError(t, err)
	require.Equal(t, want, got, "each migration applied exactly once")
}

func TestFailedMigrationIsNotMarkedApplied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, err := db.Open(ctx, testenv.EmptyDatabaseURL(t), "")
	require.NoError(t, err)
	defer d.Close()
	ms := []db.Migration{
		{Version: "0001_ok", SQL: "CREATE TABLE t_ok (id INTEGER PRIMARY KEY)"},
		{Version: "0002_bad", SQL: "CREATE TABLE t_half (id INTEGER PRIMARY KEY); INSERT INTO no_such_table VALUES (1)"},
	}
	applied, err := db.ApplyForTest(ctx, d, testenv.Discard(), ms)
	require.Error(t, err)
	require.Equal(t, []string{"0001_ok"}, applied)
	got, err := d.AppliedMigrations(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"0001_ok"}, got)
	// The failed migration left nothing behind: its first statement was rolled back too.
	var n int
	err = d.NewRaw("SELECT count(*) FROM t_half").Scan(ctx, &n)
	require.Error(t, err, "t_half must not exist")

	// Fixed, it applies on the next run.
	ms[1].SQL = "CREATE TABLE t_half (id INTEGER PRIMARY KEY)"
	applied, err = db.ApplyForTest(ctx, d, testenv.Discard(), ms)
	require.NoError(t, err)
	require.Equal(t, []string{"0002_bad"}, applied)
	got, _ = d.AppliedMigrations(ctx)
	require.True(t, slices.Equal([]string{"0001_ok", "0002_bad"}, got))
}
