package config

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	require.NoError(t, err)
	assert.Equal(t, ":8080", c.HTTPAddr)
	assert.Equal(t, "./data", c.DataDir)
	assert.Equal(t, time.Minute, c.BatchEvery)
	assert.Equal(t, 500, c.BatchSize)
	assert.Equal(t, time.Second, c.ListCacheTTL)
	assert.True(t, c.Embedded())
	assert.Empty(t, c.SessionSecret, "no made-up secret: `gavel api` refuses to start, `gavel dev` keeps one")
	assert.Equal(t, 20, c.SignupPerIPHour)
	assert.Equal(t, 50, c.StreamsPerIP)
	assert.Empty(t, c.CORSOrigins)
}

// gavel dev's secret is made once and kept, so a restart logs nobody out.
func TestDevSessionSecretIsKept(t *testing.T) {
	dir := t.TempDir()
	first, err := DevSessionSecret(dir)
	require.NoError(t, err)
	assert.Len(t, first, 64)
	again, err := DevSessionSecret(dir)
	require.NoError(t, err)
	assert.Equal(t, first, again)
}

func TestHostileClientLimits(t *testing.T) {
	c, err := Load(env(map[string]string{"GAVEL_SIGNUP_PER_IP_HOUR": "0", "GAVEL_STREAMS_PER_IP": "7",
		"GAVEL_CORS_ORIGINS": "https://app.example.com, http://localhost:5173"}))
	require.NoError(t, err)
	assert.Equal(t, 0, c.SignupPerIPHour)
	assert.Equal(t, 7, c.StreamsPerIP)
	assert.Equal(t, []string{"https://app.example.com", "http://localhost:5173"}, c.CORSOrigins)
}

func TestBadValuesAreNamed(t *testing.T) {
	for name, value := range map[string]string{
		"DATABASE_URL": "mysql://x", "REDIS_URL": "http://x", "GAVEL_HTTP_ADDR": "8080",
		"GAVEL_BATCH_EVERY": "10ms", "GAVEL_COOKIE_SECURE": "maybe", "GAVEL_LOG_FORMAT": "xml",
		"GAVEL_LOG_LEVEL": "loud", "GAVEL_SESSION_SECRET": "short", "GAVEL_TRUSTED_PROXIES": "10.0.0.0/99",
		"GAVEL_RECOMMENDER_URL": "ftp://x", "GAVEL_LIST_CACHE_TTL": "2h", "GAVEL_DEBUG_ADDR": "nowhere",
		"GAVEL_BATCH_SIZE": "0", "GAVEL_SIGNUP_PER_IP_HOUR": "-1", "GAVEL_STREAMS_PER_IP": "many",
		"GAVEL_CORS_ORIGINS": "app.example.com",
	} {
		_, err := Load(env(map[string]string{name: value}))
		assert.ErrorContains(t, err, name, "%s=%s", name, value)
	}
}

func TestSecretsAreMasked(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATABASE_URL":         "postgres://gavel:hunter2@db:5432/gavel",
		"REDIS_URL":            "redis://:s3cret@redis:6379/0",
		"GAVEL_SESSION_SECRET": "0123456789abcdef0123456789abcdef-very-secret",
	}))
	require.NoError(t, err)
	printed := fmt.Sprint(c.LogValue())
	for _, secret := range []string{"hunter2", "s3cret", "very-secret"} {
		assert.NotContains(t, printed, secret)
	}
	assert.Contains(t, printed, "db:5432")
}

// One-box deployments may reach Redis over its Unix socket (go-redis reads unix:// URLs).
func TestRedisOverAUnixSocket(t *testing.T) {
	c, err := Load(env(map[string]string{"REDIS_URL": "unix:///run/redis/redis.sock?db=2"}))
	require.NoError(t, err)
	assert.Equal(t, "unix:///run/redis/redis.sock?db=2", c.RedisURL)
}
