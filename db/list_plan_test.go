package db_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEverySortIsAnIndexScan checks, on PostgreSQL, that every list sort, with and without
// the status filter, first page and from a cursor, is served in order by an index: the
// plan has no Sort node even when the planner is told to avoid sorting. The plan is the
// generic one of the statement as it is prepared (ListAuctions keeps its plan).
func TestEverySortIsAnIndexScan(t *testing.T) {
	if !testenv.Postgres() {
		t.Skip("query plans are PostgreSQL's; SQLite runs the same queries in the other tests")
	}
	t.Parallel()
	ctx := context.Background()
	d := testenv.DB(t)
	conn, err := d.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "SET enable_sort = off; SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	after := &db.ListPosition{Time: time.Now(), N: 100, ID: 1000}
	for _, sort := range []string{db.SortNewest, db.SortEndingSoon, db.SortPriceAsc, db.SortPriceDesc, db.SortMostBids, db.SortPopular} {
		for _, status := range []string{"", db.StatusPending} {
			for _, pos := range []*db.ListPosition{nil, after} {
				f := db.ListFilter{Sort: sort, Status: status, After: pos, Limit: 21}
				query, args := db.ListQueryForTest(f)
				_, err := conn.ExecContext(ctx, "PREPARE page AS "+query)
				require.NoError(t, err)
				var plan []string
				execute := "EXPLAIN EXECUTE page"
				if len(args) > 0 {
					execute += "(" + strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ") + ")"
				}
				require.NoError(t, conn.NewRaw(execute, args...).Scan(ctx, &plan))
				_, err = conn.ExecContext(ctx, "DEALLOCATE page")
				require.NoError(t, err)
				text := strings.Join(plan, "\n")
				name := fmt.Sprintf("sort=%s status=%q cursor=%v", sort, status, pos != nil)
				assert.NotContains(t, text, "Sort  (", "%s:\n%s", name, text)
				assert.NotContains(t, text, "Incremental Sort", "%s:\n%s", name, text)
				assert.Contains(t, text, "Index", "%s:\n%s", name, text)
			}
		}
	}
}
