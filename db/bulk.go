package db

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
)

// Loader loads rows in bulk inside one transaction: COPY on PostgreSQL, multi-row INSERTs
// on SQLite. A crash or an error rolls the whole load back.
type Loader struct {
	d        *DB
	conn     bun.Conn // PostgreSQL: COPY needs the connection itself
	tx       bun.Tx   // SQLite
	rebuild  []string // index definitions to create again before the commit
	Progress func(table string, rows int64)
}

// Load runs fn with a Loader and commits what it loaded.
func (d *DB) Load(ctx context.Context, fn func(ctx context.Context, l *Loader) error) (err error) {
	l := &Loader{d: d}
	if d.Kind != Postgres {
		if l.tx, err = d.BeginTx(ctx, nil); err != nil {
			return err
		}
		if err := fn(ctx, l); err != nil {
			_ = l.tx.Rollback()
			return err
		}
		return l.tx.Commit()
	}
	if l.conn, err = d.Conn(ctx); err != nil {
		return err
	}
	defer l.conn.Close()
	if _, err := l.conn.ExecContext(ctx, "BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = l.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if err := fn(ctx, l); err != nil {
		return err
	}
	for _, def := range l.rebuild {
		start := time.Now()
		if _, err := l.conn.ExecContext(ctx, def); err != nil {
			return fmt.Errorf("rebuild index: %w", err)
		}
		if l.Progress != nil {
			l.Progress("rebuilt in "+time.Since(start).Round(time.Millisecond).String()+": "+def, 0)
		}
	}
	_, err = l.conn.ExecContext(ctx, "COMMIT")
	return err
}

// DeferIndexes drops the secondary indexes of table, when it is empty, its foreign keys
// and (when nothing refers to it) its primary key, and makes them again at the end of the
// load: one sorted build is far faster than a million inserts into each index. Inside the
// load's transaction, nobody ever sees the table without them.
func (l *Loader) DeferIndexes(ctx context.Context, table string) error {
	if l.d.Kind != Postgres {
		return nil
	}
	var empty bool
	if err := l.conn.QueryRowContext(ctx, "SELECT NOT EXISTS (SELECT 1 FROM "+table+")").Scan(&empty); err != nil || !empty {
		return err
	}
	rows, err := l.conn.QueryContext(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes AS i
		WHERE i.schemaname = current_schema() AND i.tablename = ?
		AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conname = i.indexname)`, table)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return err
		}
		names = append(names, name)
		l.rebuild = append(l.rebuild, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, n := range names {
		if _, err := l.conn.ExecContext(ctx, "DROP INDEX "+n); err != nil {
			return err
		}
	}
	// Foreign keys too: one validating join at the end beats a lookup per loaded row. And
	// the primary key, when no foreign key refers to it (one can only be dropped with what
	// refers to it): a sorted build is faster than an insert per row here too.
	rows, err = l.conn.QueryContext(ctx, `SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint AS c
		WHERE c.conrelid = ?::regclass AND (c.contype = 'f' OR c.contype = 'p'
			AND NOT EXISTS (SELECT 1 FROM pg_constraint AS r WHERE r.confrelid = c.conrelid AND r.contype = 'f'))
		ORDER BY c.contype DESC`, table)
	if err != nil {
		return err
	}
	var cons [][2]string
	for rows.Next() {
		var c [2]string
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			rows.Close()
			return err
		}
		cons = append(cons, c)
	}
	rows.Close()
	for _, c := range cons {
		if _, err := l.conn.ExecContext(ctx, "ALTER TABLE "+table+" DROP CONSTRAINT "+c[0]); err != nil {
			return err
		}
		l.rebuild = append(l.rebuild, "ALTER TABLE "+table+" ADD CONSTRAINT "+c[0]+" "+c[1])
	}
	return rows.Err()
}

// Copy loads the rows that next returns into table.
func (l *Loader) Copy(ctx context.Context, table string, columns []string, next func() ([]any, bool)) (int64, error) {
	if l.d.Kind == Postgres {
		return l.copyIn(ctx, table, columns, next)
	}
	return l.insertBatches(ctx, table, columns, next)
}

func (l *Loader) progress(table string, n int64) {
	if l.Progress != nil && n%50_000 == 0 {
		l.Progress(table, n)
	}
}

func (l *Loader) copyIn(ctx context.Context, table string, columns []string, next func() ([]any, bool)) (int64, error) {
	pr, pw := io.Pipe()
	var n int64
	go func() {
		w := bufio.NewWriterSize(pw, 1<<20)
		var line []byte
		for {
			row, ok := next()
			if !ok {
				break
			}
			line = line[:0]
			for i, v := range row {
				if i > 0 {
					line = append(line, '\t')
				}
				line = appendCopyValue(line, v)
			}
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				pw.CloseWithError(err)
				return
			}
			n++
			l.progress(table, n)
		}
		pw.CloseWithError(w.Flush())
	}()
	q := fmt.Sprintf("COPY %s (%s) FROM STDIN", table, strings.Join(columns, ", "))
	if _, err := pgdriver.CopyFrom(ctx, l.conn, pr, q); err != nil {
		pr.CloseWithError(err)
		return 0, fmt.Errorf("copy into %s: %w", table, err)
	}
	return n, nil
}

// appendCopyValue writes v in COPY's text format.
func appendCopyValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, `\N`...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		return x.UTC().AppendFormat(b, "2006-01-02 15:04:05.999999Z07:00")
	case string:
		for i := 0; i < len(x); i++ {
			switch c := x[i]; c {
			case '\\':
				b = append(b, `\\`...)
			case '\t':
				b = append(b, `\t`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			default:
				b = append(b, c)
			}
		}
		return b
	default:
		panic(fmt.Sprintf("db: bulk load of %T", v))
	}
}

func (l *Loader) insertBatches(ctx context.Context, table string, columns []string, next func() ([]any, bool)) (int64, error) {
	const perStatement = 200
	placeholders := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	head := fmt.Sprintf("INSERT INTO %s (%s) VALUES ", table, strings.Join(columns, ", "))
	var n int64
	for {
		var args []any
		rows := 0
		for rows < perStatement {
			row, ok := next()
			if !ok {
				break
			}
			args = append(args, row...)
			rows++
		}
		if rows == 0 {
			return n, nil
		}
		q := head + strings.TrimSuffix(strings.Repeat(placeholders+", ", rows), ", ")
		if _, err := l.tx.ExecContext(ctx, q, args...); err != nil {
			return n, fmt.Errorf("insert into %s: %w", table, err)
		}
		for range rows {
			n++
			l.progress(table, n)
		}
	}
}

// MaxID returns the largest id in table, 0 when it is empty.
func (l *Loader) MaxID(ctx context.Context, table string) (int64, error) {
	var id int64
	err := l.queryRow(ctx, "SELECT COALESCE(MAX(id), 0) FROM "+table).Scan(&id)
	return id, err
}

func (l *Loader) queryRow(ctx context.Context, q string) *sql.Row {
	if l.d.Kind == Postgres {
		return l.conn.QueryRowContext(ctx, q)
	}
	return l.tx.QueryRowContext(ctx, q)
}

// SyncIDSequence moves PostgreSQL's identity sequence of table past its largest id, after
// rows were loaded with explicit ids. SQLite needs nothing.
func (l *Loader) SyncIDSequence(ctx context.Context, table string) error {
	if l.d.Kind != Postgres {
		return nil
	}
	_, err := l.conn.ExecContext(ctx, fmt.Sprintf(
		"SELECT setval(pg_get_serial_sequence('%s', 'id'), GREATEST((SELECT MAX(id) FROM %s), 1))", table, table))
	return err
}

// Analyze refreshes the planner's statistics of the tables, after a bulk load.
func (d *DB) Analyze(ctx context.Context, tables ...string) error {
	return d.maintain(ctx, "ANALYZE ", tables)
}

// Vacuum vacuums and analyzes the tables on PostgreSQL (ANALYZE on SQLite): after a bulk
// load it sets the visibility map for index-only scans and spares the server an
// autovacuum of the whole load later.
func (d *DB) Vacuum(ctx context.Context, tables ...string) error {
	if d.Kind != Postgres {
		return d.Analyze(ctx, tables...)
	}
	return d.maintain(ctx, "VACUUM (ANALYZE) ", tables)
}

func (d *DB) maintain(ctx context.Context, stmt string, tables []string) error {
	for _, t := range tables {
		if _, err := d.ExecContext(ctx, stmt+t); err != nil {
			return err
		}
	}
	return nil
}
