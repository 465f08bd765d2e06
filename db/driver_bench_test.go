package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// BenchmarkDriver compares bun's pgdriver (what db.Open uses) with pgx under bun in its
// simple protocol mode, on a points transaction (lock and update a user's balance, insert a
// ledger row) spread over 100 users, and on a primary-key read. Needs TEST_DATABASE_URL.
func BenchmarkDriver(b *testing.B) {
	if !testenv.Postgres() {
		b.Skip("needs TEST_DATABASE_URL")
	}
	url := testenv.DatabaseURL(b)
	ctx := context.Background()
	pgdrv, err := db.Open(ctx, url, "")
	if err != nil {
		b.Fatal(err)
	}
	defer pgdrv.Close()
	const users = 100
	for i := range users {
		u := &db.User{Email: fmt.Sprintf("u%d@x.io", i), EmailKey: fmt.Sprintf("u%d@x.io", i), PasswordHash: "x",
			Nickname: "u", BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "other"}
		if err := db.InsertUser(ctx, pgdrv, u); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	pgxDB := bun.NewDB(stdlib.OpenDB(*cfg), pgdialect.New())
	pgxDB.SetMaxOpenConns(32)
	defer pgxDB.Close()

	for _, drv := range []struct {
		name string
		db   *bun.DB
	}{{"pgdriver", pgdrv.DB}, {"pgx", pgxDB}} {
		b.Run(drv.name+"/charge-tx", func(b *testing.B) {
			var n atomic.Int64
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := n.Add(1)%users + 1
					err := drv.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
						_, err := db.ApplyLedger(ctx, tx, &db.LedgerEntry{UserID: id, Kind: db.KindCharge, Delta: 1})
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run(drv.name+"/read", func(b *testing.B) {
			var n atomic.Int64
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := db.UserByID(ctx, drv.db, n.Add(1)%users+1); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
