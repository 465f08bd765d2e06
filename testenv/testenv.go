// Package testenv gives tests a fresh database and Redis: the real PostgreSQL and Redis
// when TEST_DATABASE_URL / TEST_REDIS_URL are set, an SQLite file and an in-process Redis
// otherwise. The same tests run either way.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/redisconn"
	"github.com/redis/go-redis/v9"
)

// Log is a logger for tests: it prints warnings and errors only.
func Log() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Discard is a logger that prints nothing.
func Discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Postgres reports whether the tests run against a real PostgreSQL.
func Postgres() bool { return os.Getenv("TEST_DATABASE_URL") != "" }

// DatabaseURL returns the URL of a fresh, migrated database that is dropped after the test.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		path := filepath.Join(t.TempDir(), "gavel.db")
		d, err := db.Open(context.Background(), "sqlite:"+path, "")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.Migrate(context.Background(), Discard()); err != nil {
			t.Fatal(err)
		}
		return "sqlite:" + path
	}
	return freshPostgres(t, base, true)
}

// EmptyDatabaseURL returns the URL of a fresh database with no schema at all.
func EmptyDatabaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		return "sqlite:" + filepath.Join(t.TempDir(), "gavel.db")
	}
	return freshPostgres(t, base, false)
}

// DB opens a fresh, migrated database for the test.
func DB(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), DatabaseURL(t), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

var template struct {
	sync.Mutex
	name string
}

// freshPostgres creates a database for the test, copied from a migrated template that is
// built once per version of the migrations.
func freshPostgres(t testing.TB, base string, migrated bool) string {
	ctx := context.Background()
	admin, err := db.Open(ctx, base, "")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	from := "template0"
	if migrated {
		if from, err = migratedTemplate(ctx, admin, base); err != nil {
			t.Fatal(err)
		}
	}
	name := "gavel_test_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+from); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := db.Open(context.Background(), base, "")
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return withDatabase(base, name)
}

func migratedTemplate(ctx context.Context, admin *db.DB, base string) (string, error) {
	template.Lock()
	defer template.Unlock()
	if template.name != "" {
		return template.name, nil
	}
	probe := &db.DB{Kind: db.Postgres}
	ms, err := probe.Migrations()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		h.Write([]byte(m.Version + m.SQL))
	}
	name := "gavel_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]
	// Test binaries of several packages build the template at once: one builds, the others wait.
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7461203116)"); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(7461203116)") //nolint:errcheck
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = ?", name).Scan(&n); err != nil {
		return "", err
	}
	if n == 0 {
		building := name + "_building"
		_, _ = conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building+" TEMPLATE template0"); err != nil {
			return "", err
		}
		d, err := db.Open(ctx, withDatabase(base, building), "")
		if err != nil {
			return "", err
		}
		_, err = d.Migrate(ctx, Discard())
		d.Close()
		if err != nil {
			return "", err
		}
		if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
			return "", err
		}
	}
	template.name = name
	return name, nil
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Redis returns a client on an empty Redis database that is the test's alone: a claimed
// database number (1..15) of TEST_REDIS_URL, or a new in-process server.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	return redis.NewClient(mustParse(t, RedisURL(t)))
}

// RedisURL is like Redis but returns the URL.
func RedisURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_REDIS_URL")
	if base == "" {
		m, err := redisconn.StartEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		return m.URL()
	}
	return claimRedisDB(t, base)
}

// RedisURLIfReal is RedisURL when TEST_REDIS_URL is set, and "" otherwise (for code that
// starts its own embedded Redis when given none).
func RedisURLIfReal(t testing.TB) string {
	t.Helper()
	if os.Getenv("TEST_REDIS_URL") == "" {
		return ""
	}
	return RedisURL(t)
}

func mustParse(t testing.TB, u string) *redis.Options {
	o, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// claimRedisDB takes a free database number with a lock key in database 0, so test
// binaries running in parallel never share one; the claim expires if a test binary dies.
func claimRedisDB(t testing.TB, base string) string {
	ctx := context.Background()
	o := mustParse(t, base)
	o.DB = 0
	lock := redis.NewClient(o)
	defer lock.Close()
	token := randomHex(8)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for n := 1; n <= 15; n++ {
			key := fmt.Sprintf("gavel:test:db:%d", n)
			ok, err := lock.SetNX(ctx, key, token, 5*time.Minute).Result()
			if err != nil {
				t.Fatalf("claim redis db: %v", err)
			}
			if !ok {
				continue
			}
			u := redisDBURL(base, n)
			c := redis.NewClient(mustParse(t, u))
			if err := c.FlushDB(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			c.Close()
			t.Cleanup(func() {
				o := mustParse(t, base)
				o.DB = 0
				l := redis.NewClient(o)
				defer l.Close()
				c := redis.NewClient(mustParse(t, u))
				defer c.Close()
				c.FlushDB(context.Background())
				if l.Get(context.Background(), key).Val() == token {
					l.Del(context.Background(), key)
				}
			})
			return u
		}
		if time.Now().After(deadline) {
			t.Fatal("no free redis database for the test")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func redisDBURL(base string, n int) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = fmt.Sprintf("/%d", n)
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
