package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ClaimIdempotencyKey records k inside the caller's transaction. When the key is new it
// returns nil. When the key exists it returns the stored row; on PostgreSQL a claim racing
// an uncommitted one waits for it and then sees its result.
func ClaimIdempotencyKey(ctx context.Context, idb bun.IDB, k *IdempotencyKey) (*IdempotencyKey, error) {
	k.CreatedAt = time.Now().UTC()
	res, err := idb.NewInsert().Model(k).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, nil
	}
	old := new(IdempotencyKey)
	err = idb.NewSelect().Model(old).
		Where("user_id = ? AND scope = ? AND key = ?", k.UserID, k.Scope, k.Key).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	return old, nil
}

// SaveIdempotentResult stores the result of the request that claimed k.
func SaveIdempotentResult(ctx context.Context, idb bun.IDB, k *IdempotencyKey, result []byte) error {
	_, err := idb.NewUpdate().Model((*IdempotencyKey)(nil)).Set("response = ?", result).
		Where("user_id = ? AND scope = ? AND key = ?", k.UserID, k.Scope, k.Key).Exec(ctx)
	if err != nil {
		return fmt.Errorf("save idempotent result: %w", err)
	}
	return nil
}

// PurgeIdempotencyKeys deletes keys created before cutoff and returns how many.
func PurgeIdempotencyKeys(ctx context.Context, idb bun.IDB, cutoff time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*IdempotencyKey)(nil)).Where("created_at < ?", cutoff.UTC()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return res.RowsAffected()
}
