package auction

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gavelhq/gavel/limit"
	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's 19 MiB, 2 passes, 1 lane.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword reports whether password matches the PHC hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when an email is unknown, so that a login takes as long either way;
// made on first use, not at every start of the program.
var dummyHash = sync.OnceValue(func() string { return HashPassword("not a real password") })

// ErrBusy is what a sign-up or login gets when too many passwords are being hashed for
// its own hash to start within HashWait.
var ErrBusy = errors.New("too many sign-ins are being checked at once; try again in a moment")

// HashWait is how long a password hash waits for one of the process's hashing slots.
var HashWait = time.Second

// hashSlots bounds the password hashes that run at once in the process, one per core:
// each takes 19 MiB and a core for tens of milliseconds, so an unbounded burst of logins
// or sign-ups would take all the memory and CPU (a hundred took 1.9 GB and 21 s).
var hashSlots = limit.NewSlots(max(2, runtime.GOMAXPROCS(0)))

// withHashSlot runs fn in a hashing slot: ErrBusy when none frees up within HashWait.
func withHashSlot(ctx context.Context, fn func()) error {
	release, err := hashSlots.Take(ctx, HashWait)
	if errors.Is(err, limit.ErrTimeout) {
		return ErrBusy
	}
	if err != nil {
		return err
	}
	defer release()
	fn()
	return nil
}
