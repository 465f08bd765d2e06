package auction

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gavelhq/gavel/db"
)

// Genders a user may give.
var Genders = []string{"male", "female", "other"}

// Roles.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// SignUp is a new account's details.
type SignUp struct {
	Email     string
	Password  string
	Nickname  string
	BirthDate string // YYYY-MM-DD
	Gender    string
}

// Accounts creates users and checks their credentials.
type Accounts struct {
	DB  *db.DB
	Now func() time.Time
}

// EmailKey is the form of an email that uniqueness and login compare.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// SignUp validates s and creates the user.
func (a *Accounts) SignUp(ctx context.Context, s SignUp) (*db.User, error) {
	var v validator
	email := strings.TrimSpace(s.Email)
	addr, err := mail.ParseAddress(email)
	v.check(err == nil && addr.Address == email && len(email) <= 254 && strings.Contains(email[strings.LastIndex(email, "@")+1:], "."),
		"email", "must be an email address such as name@example.com")
	n := utf8.RuneCountInString(s.Password)
	v.check(n >= 8 && n <= 128, "password", "must be 8 to 128 characters")
	nick := strings.TrimSpace(s.Nickname)
	n = utf8.RuneCountInString(nick)
	v.check(n >= 1 && n <= 30 && utf8.ValidString(nick), "nickname", "must be 1 to 30 characters")
	birth, err := time.Parse(time.DateOnly, s.BirthDate)
	now := a.now()
	v.check(err == nil && birth.After(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)) && birth.Before(now),
		"birth_date", "must be a date (YYYY-MM-DD) after 1900-01-01 and in the past")
	v.check(oneOf(s.Gender, Genders), "gender", "must be one of male, female, other")
	if err := v.err(); err != nil {
		return nil, err
	}
	var hash string
	if err := withHashSlot(ctx, func() { hash = HashPassword(s.Password) }); err != nil {
		return nil, err
	}
	u := &db.User{
		Email: email, EmailKey: EmailKey(email), PasswordHash: hash,
		Nickname: nick, BirthDate: birth, Gender: s.Gender, Role: RoleUser,
	}
	if err := db.InsertUser(ctx, a.DB, u); err != nil {
		if errors.Is(err, db.ErrDuplicate) {
			return nil, ErrEmailTaken
		}
		return nil, fmt.Errorf("sign up: %w", err)
	}
	return u, nil
}

// Authenticate returns the user whose email and password match, or ErrInvalidCredentials;
// ErrBusy when its password check could not start in time.
func (a *Accounts) Authenticate(ctx context.Context, email, password string) (*db.User, error) {
	u, err := db.UserByEmailKey(ctx, a.DB, EmailKey(email))
	hash := ""
	switch {
	case errors.Is(err, db.ErrNotFound):
		hash = dummyHash()
	case err != nil:
		return nil, fmt.Errorf("authenticate: %w", err)
	default:
		hash = u.PasswordHash
	}
	var ok bool
	if err := withHashSlot(ctx, func() { ok = CheckPassword(hash, password) }); err != nil {
		return nil, err
	}
	if !ok || u == nil {
		return nil, ErrInvalidCredentials
	}
	return u, nil
}

// User returns the user with the ID.
func (a *Accounts) User(ctx context.Context, id int64) (*db.User, error) {
	u, err := db.UserByID(ctx, a.DB, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrNotFound
	}
	return u, err
}

// Promote makes the user with the email an admin.
func (a *Accounts) Promote(ctx context.Context, email string) error {
	err := db.SetRole(ctx, a.DB, EmailKey(email), RoleAdmin)
	if errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("promote %s: %w", email, ErrNotFound)
	}
	return err
}

func (a *Accounts) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}
