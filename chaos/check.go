// Package chaos is the chaos run: it starts Gavel's roles as separate processes, drives
// mixed load while killing and restarting them and their servers, and then checks from
// the database that nothing was lost (Check).
package chaos

import (
	"context"
	"fmt"

	"github.com/gavelhq/gavel/db"
)

// Check verifies the invariants of docs/ARCHITECTURE.md on the whole database once the system
// is quiet: every accepted bid (the IDs the clients got in a 202 or 201) exists and is
// decided; every ended auction is DONE and settled exactly once, by a bid above every bid
// that led before it; every outbid or rejected bid is released; every user's balance is
// explained by the ledger, conserved (charges plus payouts minus winning payments) and
// held exactly by their leading bids; and every like a client made after the last loss
// of Redis is in the database. It returns the violations it found.
func Check(ctx context.Context, d *db.DB, accepted []int64, likes map[[2]int64]bool) ([]string, error) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	findings, err := db.Audit(ctx, d)
	if err != nil {
		return nil, err
	}
	for _, f := range findings {
		add("%s: %d", f.What, f.Count)
	}
	for _, id := range accepted {
		b, err := db.BidByID(ctx, d, id)
		if err != nil {
			add("accepted bid %d: %v", id, err)
			continue
		}
		if b.Status == db.BidPending {
			add("accepted bid %d is still pending", id)
		}
	}
	for k, liked := range likes {
		has, err := db.HasLike(ctx, d, k[0], k[1])
		if err != nil {
			return nil, err
		}
		if has != liked {
			add("like of user %d for auction %d: the database says %v, the user's last word was %v", k[1], k[0], has, liked)
		}
	}
	return problems, nil
}
