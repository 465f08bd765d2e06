package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

//go:embed migrations
var migrationFiles embed.FS

// migrationLockKey is the PostgreSQL advisory lock that serialises migrators.
const migrationLockKey = 7_461_203_115

// Migration is one embedded SQL file.
type Migration struct {
	Version string // the file name without .sql, e.g. 0001_accounts
	SQL     string
}

// Migrations lists the dialect's migrations in order.
func (d *DB) Migrations() ([]Migration, error) {
	dir := path.Join("migrations", string(d.Kind))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate applies every pending migration. Each migration runs in its own transaction
// together with the row that marks it applied, so a failed migration leaves no mark and
// no half-built schema. Concurrent migrators queue on a lock taken inside that
// transaction (an advisory transaction lock on PostgreSQL, the write lock of
// BEGIN IMMEDIATE on SQLite): it waits rather than fails, and a crash releases it
// with the connection.
func (d *DB) Migrate(ctx context.Context, log *slog.Logger) (applied []string, err error) {
	ms, err := d.Migrations()
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return d.apply(ctx, log, ms)
}

func (d *DB) apply(ctx context.Context, log *slog.Logger, ms []Migration) (applied []string, err error) {
	for _, m := range ms {
		var ran bool
		err := d.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
			ran = false
			if err := d.lockMigrations(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`); err != nil {
				return err
			}
			var n int
			if err := tx.NewRaw("SELECT count(*) FROM schema_migrations WHERE version = ?", m.Version).
				Scan(ctx, &n); err != nil || n > 0 {
				return err
			}
			start := time.Now()
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Version, err)
			}
			if step := goSteps[m.Version]; step != nil {
				if err := step(ctx, tx, log); err != nil {
					return fmt.Errorf("%s: %w", m.Version, err)
				}
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
				m.Version, time.Now().UTC()); err != nil {
				return err
			}
			ran = true
			log.Info("migration applied", "version", m.Version, "took", time.Since(start).Round(time.Millisecond))
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: %w", err)
		}
		if ran {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

// goSteps run after the SQL of the migration they name, in its transaction: what the
// database cannot compute itself (the words of names are made in Go).
var goSteps = map[string]func(context.Context, bun.Tx, *slog.Logger) error{
	"0011_search":           backfillSearch,
	"0013_search_signature": backfillSignature,
}

// AppliedMigrations lists the versions recorded as applied.
func (d *DB) AppliedMigrations(ctx context.Context) ([]string, error) {
	var vs []string
	err := d.NewRaw("SELECT version FROM schema_migrations ORDER BY version").Scan(ctx, &vs)
	return vs, err
}

func (d *DB) lockMigrations(ctx context.Context, tx bun.Tx) error {
	if d.Kind != Postgres {
		return nil // BEGIN IMMEDIATE already holds SQLite's write lock
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", migrationLockKey)
	if err != nil {
		return errors.Join(errors.New("take migration lock"), err)
	}
	return nil
}
