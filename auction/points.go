package auction

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gavelhq/gavel/db"
	"github.com/uptrace/bun"
)

// MaxCharge is the most points one charge may add.
const MaxCharge = 10_000_000

// Points are a user's available and held points.
type Points struct {
	Available int64 `json:"available"`
	Held      int64 `json:"held"`
}

// Wallet moves points and keeps the ledger.
type Wallet struct {
	DB *db.DB
}

// Charge adds amount points to the user. With a non-empty idempotency key, a repeat of the
// same charge returns the first result and credits nothing; a different amount under the
// same key is ErrIdempotencyConflict.
func (w *Wallet) Charge(ctx context.Context, userID, amount int64, idempotencyKey string) (Points, error) {
	var v validator
	v.check(amount >= 1 && amount <= MaxCharge, "amount", "must be an integer from 1 to %d", MaxCharge)
	if err := v.err(); err != nil {
		return Points{}, err
	}
	var out Points
	err := w.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		var key *db.IdempotencyKey
		if idempotencyKey != "" {
			key = &db.IdempotencyKey{UserID: userID, Scope: "points:charge", Key: idempotencyKey,
				RequestHash: requestHash("amount", amount)}
			prior, err := db.ClaimIdempotencyKey(ctx, tx, key)
			if err != nil {
				return err
			}
			if prior != nil {
				if prior.RequestHash != key.RequestHash {
					return ErrIdempotencyConflict
				}
				return json.Unmarshal(prior.Response, &out)
			}
		}
		b, err := db.ApplyLedger(ctx, tx, &db.LedgerEntry{UserID: userID, Kind: db.KindCharge, Delta: amount})
		if err != nil {
			return err
		}
		out = Points{Available: b.Available, Held: b.Held}
		if key != nil {
			res, _ := json.Marshal(out)
			return db.SaveIdempotentResult(ctx, tx, key, res)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return Points{}, ErrNotFound
		}
		return Points{}, fmt.Errorf("charge: %w", err)
	}
	return out, nil
}

// Balance returns the user's points.
func (w *Wallet) Balance(ctx context.Context, userID int64) (Points, error) {
	b, err := db.BalanceOf(ctx, w.DB, userID)
	if errors.Is(err, db.ErrNotFound) {
		return Points{}, ErrNotFound
	}
	return Points{Available: b.Available, Held: b.Held}, err
}

// Ledger returns the user's ledger entries newest first, below beforeID when positive.
func (w *Wallet) Ledger(ctx context.Context, userID, beforeID, limit int64) ([]db.LedgerEntry, error) {
	return db.LedgerPage(ctx, w.DB, userID, beforeID, limit)
}

func requestHash(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
