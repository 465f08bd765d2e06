package api

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Login throttling: after this many failures within the window, for one email or from one
// IP, logins are refused with 429 until the window ends, even with the right password.
const (
	maxFailuresPerEmail = 10
	maxFailuresPerIP    = 50
	failureWindow       = 15 * time.Minute
)

type loginThrottle struct{ rdb *redis.Client }

func emailThrottleKey(emailKey string) string { return "gavel:login:fail:email:" + emailKey }
func ipThrottleKey(ip string) string          { return "gavel:login:fail:ip:" + ip }

// blocked returns how long the caller must wait, or 0 when it may try.
func (t *loginThrottle) blocked(ctx context.Context, emailKey, ip string) (time.Duration, error) {
	pipe := t.rdb.Pipeline()
	email := pipe.Get(ctx, emailThrottleKey(emailKey))
	emailTTL := pipe.PTTL(ctx, emailThrottleKey(emailKey))
	addr := pipe.Get(ctx, ipThrottleKey(ip))
	addrTTL := pipe.PTTL(ctx, ipThrottleKey(ip))
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return 0, err
	}
	var wait time.Duration
	if n, _ := email.Int(); n >= maxFailuresPerEmail {
		wait = max(wait, emailTTL.Val())
	}
	if n, _ := addr.Int(); n >= maxFailuresPerIP {
		wait = max(wait, addrTTL.Val())
	}
	return wait, nil
}

// failed counts a failed login for the email and the IP; the window starts at the first.
func (t *loginThrottle) failed(ctx context.Context, emailKey, ip string) error {
	pipe := t.rdb.TxPipeline()
	for _, k := range []string{emailThrottleKey(emailKey), ipThrottleKey(ip)} {
		pipe.Incr(ctx, k)
		pipe.ExpireNX(ctx, k, failureWindow)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// succeeded forgets the email's failures.
func (t *loginThrottle) succeeded(ctx context.Context, emailKey string) error {
	return t.rdb.Del(ctx, emailThrottleKey(emailKey)).Err()
}
