package api

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Login throttling: after this many attempts within the window that did not succeed, for
// one email or from one IP, logins are refused with 429 until the window ends, even with
// the right password. An attempt is counted before its password is checked, so that
// concurrent attempts cannot get past the limit; a successful one is taken back.
const (
	maxFailuresPerEmail = 10
	maxFailuresPerIP    = 50
	failureWindow       = 15 * time.Minute
)

type loginThrottle struct{ rdb *redis.Client }

func emailThrottleKey(emailKey string) string { return "gavel:login:fail:email:" + emailKey }
func ipThrottleKey(ip string) string          { return "gavel:login:fail:ip:" + ip }

// attempt counts a login attempt for the email and the IP (the window starts at the
// first) and returns how long the caller must wait when the attempt is over a limit, or 0
// when its password may be checked.
func (t *loginThrottle) attempt(ctx context.Context, emailKey, ip string) (time.Duration, error) {
	pipe := t.rdb.TxPipeline()
	var counts [2]*redis.IntCmd
	var ttls [2]*redis.DurationCmd
	for i, k := range []string{emailThrottleKey(emailKey), ipThrottleKey(ip)} {
		counts[i] = pipe.Incr(ctx, k)
		pipe.ExpireNX(ctx, k, failureWindow)
		ttls[i] = pipe.PTTL(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	var wait time.Duration
	for i, limit := range []int64{maxFailuresPerEmail, maxFailuresPerIP} {
		if counts[i].Val() > limit {
			wait = max(wait, ttls[i].Val(), time.Second)
		}
	}
	return wait, nil
}

// takeBack undoes the count of an attempt that was not a failure: on success the email's
// count is cleared as well.
func (t *loginThrottle) takeBack(ctx context.Context, emailKey, ip string, succeeded bool) error {
	keys := []string{ipThrottleKey(ip), emailThrottleKey(emailKey)}
	if succeeded {
		if err := t.rdb.Del(ctx, keys[1]).Err(); err != nil {
			return err
		}
		keys = keys[:1]
	}
	return decrScript.Run(ctx, t.rdb, keys).Err()
}

// decrScript decrements each key that is still there, deleting it at zero, so that a
// count never goes below zero when its window ended in between.
var decrScript = redis.NewScript(`
for _, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 and redis.call('DECR', k) <= 0 then redis.call('DEL', k) end
end
return 0`)

// signupLimit counts signups per IP in an hour's window (GAVEL_SIGNUP_PER_IP_HOUR; 0 or
// less: no limit).
type signupLimit struct {
	rdb     *redis.Client
	perHour int
}

func signupKey(ip string) string { return "gavel:signup:ip:" + ip }

// attempt counts a signup from the IP before its password is hashed and returns how long
// the caller must wait when it is over the limit.
func (l *signupLimit) attempt(ctx context.Context, ip string) (time.Duration, error) {
	if l.perHour <= 0 {
		return 0, nil
	}
	pipe := l.rdb.TxPipeline()
	n := pipe.Incr(ctx, signupKey(ip))
	pipe.ExpireNX(ctx, signupKey(ip), time.Hour)
	ttl := pipe.PTTL(ctx, signupKey(ip))
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	if n.Val() > int64(l.perHour) {
		return max(ttl.Val(), time.Second), nil
	}
	return 0, nil
}

// takeBack undoes the count of a signup that was refused as invalid or busy.
func (l *signupLimit) takeBack(ctx context.Context, ip string) error {
	if l.perHour <= 0 {
		return nil
	}
	return decrScript.Run(ctx, l.rdb, []string{signupKey(ip)}).Err()
}
