package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// InsertUser inserts u and sets its ID. A taken email key is ErrDuplicate.
func InsertUser(ctx context.Context, idb bun.IDB, u *User) error {
	now := time.Now().UTC()
	u.CreatedAt, u.UpdatedAt = now, now
	if u.Role == "" {
		u.Role = "user"
	}
	if _, err := idb.NewInsert().Model(u).Returning("id").Exec(ctx); err != nil {
		if isDuplicate(err) {
			return ErrDuplicate
		}
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// UserByEmailKey finds a user by the normalised email.
func UserByEmailKey(ctx context.Context, idb bun.IDB, key string) (*User, error) {
	u := new(User)
	if err := idb.NewSelect().Model(u).Where("email_key = ?", key).Scan(ctx); err != nil {
		return nil, notFound(err)
	}
	return u, nil
}

// UserByID finds a user by ID.
func UserByID(ctx context.Context, idb bun.IDB, id int64) (*User, error) {
	u := new(User)
	if err := idb.NewSelect().Model(u).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err)
	}
	return u, nil
}

// SetRole changes the role of the user with the email key.
func SetRole(ctx context.Context, idb bun.IDB, emailKey, role string) error {
	res, err := idb.NewUpdate().Model((*User)(nil)).
		Set("role = ?", role).Set("updated_at = ?", time.Now().UTC()).
		Where("email_key = ?", emailKey).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
