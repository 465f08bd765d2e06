package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMalformedRequests sends bad input to every endpoint of accounts and points: each
// gets a 4xx problem+json with the expected code, never a 5xx, and changes nothing.
func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	anon := h.client()
	user := h.login("malf")
	big := `{"amount": 1, "pad": "` + strings.Repeat("x", 70<<10) + `"}`
	signup := func(override string) string {
		base := map[string]string{
			"email": `"new@example.com"`, "password": `"long enough"`, "nickname": `"nick"`,
			"birth_date": `"1990-01-01"`, "gender": `"male"`,
		}
		k, v, _ := strings.Cut(override, "=")
		if v == "" {
			delete(base, k)
		} else {
			base[k] = v
		}
		var parts []string
		for k, v := range base {
			parts = append(parts, `"`+k+`":`+v)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}

	cases := []struct {
		name    string
		c       *client
		method  string
		path    string
		body    any
		headers []string
		status  int
		code    string
		field   string
	}{
		{"signup no body", anon, "POST", "/api/v1/users", "", nil, 400, "validation_failed", "body"},
		{"signup not json", anon, "POST", "/api/v1/users", "email=a", nil, 400, "validation_failed", "body"},
		{"signup array", anon, "POST", "/api/v1/users", "[]", nil, 400, "validation_failed", "body"},
		{"signup truncated", anon, "POST", "/api/v1/users", `{"email": "a@b.c"`, nil, 400, "validation_failed", "body"},
		{"signup trailing data", anon, "POST", "/api/v1/users", signup("x=") + "{}", nil, 400, "validation_failed", "body"},
		{"signup unknown field", anon, "POST", "/api/v1/users", signup(`role="admin"`), nil, 400, "validation_failed", "role"},
		{"signup email number", anon, "POST", "/api/v1/users", signup("email=42"), nil, 400, "validation_failed", "email"},
		{"signup email missing", anon, "POST", "/api/v1/users", signup("email="), nil, 400, "validation_failed", "email"},
		{"signup email no at", anon, "POST", "/api/v1/users", signup(`email="nobody.example.com"`), nil, 400, "validation_failed", "email"},
		{"signup email with name", anon, "POST", "/api/v1/users", signup(`email="Ann <ann@example.com>"`), nil, 400, "validation_failed", "email"},
		{"signup password short", anon, "POST", "/api/v1/users", signup(`password="short"`), nil, 400, "validation_failed", "password"},
		{"signup password long", anon, "POST", "/api/v1/users", signup(`password="` + strings.Repeat("p", 129) + `"`), nil, 400, "validation_failed", "password"},
		{"signup password null", anon, "POST", "/api/v1/users", signup(`password=null`), nil, 400, "validation_failed", "password"},
		{"signup nickname empty", anon, "POST", "/api/v1/users", signup(`nickname="  "`), nil, 400, "validation_failed", "nickname"},
		{"signup nickname long", anon, "POST", "/api/v1/users", signup(`nickname="` + strings.Repeat("n", 31) + `"`), nil, 400, "validation_failed", "nickname"},
		{"signup nickname object", anon, "POST", "/api/v1/users", signup(`nickname={}`), nil, 400, "validation_failed", "nickname"},
		{"signup birth date format", anon, "POST", "/api/v1/users", signup(`birth_date="01/02/1990"`), nil, 400, "validation_failed", "birth_date"},
		{"signup birth date future", anon, "POST", "/api/v1/users", signup(`birth_date="2999-01-01"`), nil, 400, "validation_failed", "birth_date"},
		{"signup birth date 1900", anon, "POST", "/api/v1/users", signup(`birth_date="1900-01-01"`), nil, 400, "validation_failed", "birth_date"},
		{"signup birth date impossible", anon, "POST", "/api/v1/users", signup(`birth_date="1990-02-30"`), nil, 400, "validation_failed", "birth_date"},
		{"signup gender", anon, "POST", "/api/v1/users", signup(`gender="unknown"`), nil, 400, "validation_failed", "gender"},
		{"signup gender case", anon, "POST", "/api/v1/users", signup(`gender="Male"`), nil, 400, "validation_failed", "gender"},
		{"signup wrong content type", anon, "POST", "/api/v1/users", signup(""), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
		{"signup no content type", anon, "POST", "/api/v1/users", signup(""), []string{"Content-Type", ""}, 415, "unsupported_media_type", ""},
		{"signup too large", anon, "POST", "/api/v1/users", big, nil, 413, "payload_too_large", ""},
		{"signup invalid utf8", anon, "POST", "/api/v1/users", []byte("{\"email\": \"\xff\xfe\"}"), nil, 400, "validation_failed", ""},
		{"login empty object", anon, "POST", "/api/v1/sessions", "{}", nil, 400, "validation_failed", "email"},
		{"login no password", anon, "POST", "/api/v1/sessions", `{"email": "a@example.com"}`, nil, 400, "validation_failed", "password"},
		{"login password number", anon, "POST", "/api/v1/sessions", `{"email": "a@example.com", "password": 12345678}`, nil, 400, "validation_failed", "password"},
		{"login form encoded", anon, "POST", "/api/v1/sessions", "email=a&password=b", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
		{"login GET", anon, "GET", "/api/v1/sessions", nil, nil, 405, "method_not_allowed", ""},
		{"logout anonymous", anon, "DELETE", "/api/v1/sessions/current", nil, nil, 401, "unauthenticated", ""},
		{"me anonymous", anon, "GET", "/api/v1/me", nil, nil, 401, "unauthenticated", ""},
		{"me POST", user, "POST", "/api/v1/me", "{}", nil, 405, "method_not_allowed", ""},
		{"charge anonymous", anon, "POST", "/api/v1/me/points/charges", `{"amount": 5}`, nil, 401, "unauthenticated", ""},
		{"charge zero", user, "POST", "/api/v1/me/points/charges", `{"amount": 0}`, nil, 400, "validation_failed", "amount"},
		{"charge negative", user, "POST", "/api/v1/me/points/charges", `{"amount": -5}`, nil, 400, "validation_failed", "amount"},
		{"charge too much", user, "POST", "/api/v1/me/points/charges", `{"amount": 10000001}`, nil, 400, "validation_failed", "amount"},
		{"charge fraction", user, "POST", "/api/v1/me/points/charges", `{"amount": 1.5}`, nil, 400, "validation_failed", "amount"},
		{"charge exponent", user, "POST", "/api/v1/me/points/charges", `{"amount": 1e3}`, nil, 400, "validation_failed", "amount"},
		{"charge overflow", user, "POST", "/api/v1/me/points/charges", `{"amount": 99999999999999999999}`, nil, 400, "validation_failed", "amount"},
		{"charge string", user, "POST", "/api/v1/me/points/charges", `{"amount": "100"}`, nil, 400, "validation_failed", "amount"},
		{"charge missing", user, "POST", "/api/v1/me/points/charges", `{}`, nil, 400, "validation_failed", "amount"},
		{"charge null body", user, "POST", "/api/v1/me/points/charges", `null`, nil, 400, "validation_failed", "amount"},
		{"charge key too long", user, "POST", "/api/v1/me/points/charges", `{"amount": 5}`, []string{"Idempotency-Key", strings.Repeat("k", 65)}, 400, "validation_failed", "Idempotency-Key"},
		{"charge key with space", user, "POST", "/api/v1/me/points/charges", `{"amount": 5}`, []string{"Idempotency-Key", "a b"}, 400, "validation_failed", "Idempotency-Key"},
		{"charge too large", user, "POST", "/api/v1/me/points/charges", big, nil, 413, "payload_too_large", ""},
		{"ledger limit zero", user, "GET", "/api/v1/me/points/ledger?limit=0", nil, nil, 400, "validation_failed", "limit"},
		{"ledger limit big", user, "GET", "/api/v1/me/points/ledger?limit=101", nil, nil, 400, "validation_failed", "limit"},
		{"ledger limit text", user, "GET", "/api/v1/me/points/ledger?limit=ten", nil, nil, 400, "validation_failed", "limit"},
		{"ledger cursor garbage", user, "GET", "/api/v1/me/points/ledger?cursor=%%%", nil, nil, 400, "validation_failed", "query"},
		{"ledger cursor unsigned", user, "GET", "/api/v1/me/points/ledger?cursor=eyJiIjoxfQ", nil, nil, 400, "validation_failed", "cursor"},
		{"unknown route", anon, "GET", "/api/v1/nothing-here", nil, nil, 404, "not_found", ""},
		{"unknown root", anon, "GET", "/wp-login.php", nil, nil, 404, "not_found", ""},
		{"healthz POST", anon, "POST", "/healthz", "{}", nil, 405, "method_not_allowed", ""},
	}
	for _, tc := range cases {
		res := tc.c.do(tc.method, tc.path, tc.body, tc.headers...)
		if !assert.Equal(t, tc.status, res.status, "%s: %s", tc.name, res.body) {
			continue
		}
		var p struct {
			Code   string `json:"code"`
			Errors []struct {
				Field string `json:"field"`
			} `json:"errors"`
		}
		res.decode(t, &p)
		assert.Equal(t, tc.code, p.Code, tc.name)
		if tc.field != "" && assert.NotEmpty(t, p.Errors, tc.name) {
			assert.Equal(t, tc.field, p.Errors[0].Field, tc.name)
		}
	}
	assert.GreaterOrEqual(t, len(cases), 40)

	// None of it changed the user's balance.
	bal, _ := user.balance(t)
	assert.Equal(t, points{0, 0}, bal)
	res := anon.do("POST", "/api/v1/sessions", map[string]string{"email": "new@example.com", "password": "long enough"})
	assert.Equal(t, http.StatusUnauthorized, res.status, "no malformed sign-up created an account")
}
