package db

import (
	"context"
	"log/slog"
)

// ApplyForTest applies the given migrations, for tests of the migrator itself.
func ApplyForTest(ctx context.Context, d *DB, log *slog.Logger, ms []Migration) ([]string, error) {
	return d.apply(ctx, log, ms)
}
