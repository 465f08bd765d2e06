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
		key, replay, err := claimIdempotencyKey(ctx, tx, userID, "points:charge", idempotencyKey, "amount", amount)
		if err != nil {
			return err
		}
		if replay != nil {
			return json.Unmarshal(replay, &out)
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

// claimIdempotencyKey claims the key for a request in the caller's transaction. With no key
// it does nothing. For a key used before with the same request it returns the stored
// result to replay; with another request, ErrIdempotencyConflict. Otherwise it returns
// the claimed key, to save the result under before the commit.
func claimIdempotencyKey(ctx context.Context, tx bun.Tx, userID int64, scope, key string, request ...any) (*db.IdempotencyKey, []byte, error) {
	if key == "" {
		return nil, nil, nil
	}
	k := &db.IdempotencyKey{UserID: userID, Scope: scope, Key: key, RequestHash: requestHash(request...)}
	prior, err := db.ClaimIdempotencyKey(ctx, tx, k)
	switch {
	case err != nil:
		return nil, nil, err
	case prior == nil:
		return k, nil, nil
	case prior.RequestHash != k.RequestHash:
		return nil, nil, ErrIdempotencyConflict
	default:
		return nil, prior.Response, nil
	}
}

func requestHash(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
