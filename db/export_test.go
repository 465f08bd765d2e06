package db

import (
	"context"
	"log/slog"

	"github.com/uptrace/bun"
)

// ApplyForTest applies the given migrations, for tests of the migrator itself.
func ApplyForTest(ctx context.Context, d *DB, log *slog.Logger, ms []Migration) ([]string, error) {
	return d.apply(ctx, log, ms)
}

// ListQueryForTest is the SQL of a list page, for plan tests.
func ListQueryForTest(idb bun.IDB, f ListFilter) string { return listQuery(idb, f).String() }
