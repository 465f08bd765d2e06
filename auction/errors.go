// Package auction is Gavel's domain: accounts, points, auctions and their rules.
// It knows nothing of HTTP or queues; api/ and worker/ call it, and it calls db/.
package auction

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; api/errors.go maps each to a status and a stable code.
var (
	ErrNotFound            = errors.New("not found")
	ErrEmailTaken          = errors.New("email already registered")
	ErrInvalidCredentials  = errors.New("invalid email or password")
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different request")
	ErrInsufficientPoints  = errors.New("insufficient points")
)

// FieldError is one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists what is wrong with a request.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// validator collects field errors.
type validator struct{ fields []FieldError }

func (v *validator) check(ok bool, field, format string, args ...any) {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
}

func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.fields}
}
