package api

import (
	"net/http"
	"testing"
)

// FuzzDecodeJSON feeds arbitrary bodies to the request decoder: it must never panic, and
// whatever it refuses it refuses as a 4xx with a code.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"amount": 5}`, `{"email": "a@b.c", "password": "x"}`, `{}`, `[]`, `null`, ``, `{"amount": 1e999}`,
		`{"amount": "5"}`, `{"amount": 5} {}`, `{"x": 1}`, "{\"email\": \"\xff\"}", `{"nickname": {"a": [1, 2]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var charge struct {
			Amount int64 `json:"amount"`
		}
		var signUp struct {
			Email     string `json:"email"`
			Password  string `json:"password"`
			Nickname  string `json:"nickname"`
			BirthDate string `json:"birth_date"`
			Gender    string `json:"gender"`
		}
		for _, dst := range []any{&charge, &signUp} {
			p := decodeJSONBytes(body, dst)
			if p == nil {
				continue
			}
			if p.Status < 400 || p.Status >= 500 || p.Code == "" {
				t.Fatalf("decode %q: status %d code %q", body, p.Status, p.Code)
			}
			if p.Status != http.StatusBadRequest {
				t.Fatalf("decode %q: a body problem must be 400, got %d", body, p.Status)
			}
		}
	})
}
