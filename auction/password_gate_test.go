package auction

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Password hashes run at most cap(hashSlots) at a time, however many callers come at once;
// one that cannot start within HashWait gets ErrBusy. Before, a hundred concurrent logins
// hashed a hundred passwords at once (1.9 GB).
func TestPasswordHashingIsBounded(t *testing.T) {
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	var busy atomic.Int64
	for range 20 {
		wg.Go(func() {
			err := withHashSlot(context.Background(), func() {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(20 * time.Millisecond)
				running.Add(-1)
			})
			if errors.Is(err, ErrBusy) {
				busy.Add(1)
			} else if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// One per core (at least two), not whatever the slots were made with.
	if p, most := peak.Load(), int64(max(2, runtime.GOMAXPROCS(0))); p > most || p < 1 {
		t.Fatalf("%d hashes ran at once, want at most %d", p, most)
	}
	if busy.Load() != 0 {
		t.Fatalf("%d callers got ErrBusy though the queue drains within HashWait", busy.Load())
	}

	// Every slot taken for longer than HashWait: the next caller is told to come back.
	for range cap(hashSlots) {
		hashSlots <- struct{}{}
	}
	defer func() {
		for range cap(hashSlots) {
			<-hashSlots
		}
	}()
	old := HashWait
	HashWait = 50 * time.Millisecond
	defer func() { HashWait = old }()
	a := &Accounts{}
	if _, err := a.SignUp(context.Background(), SignUp{Email: "busy@example.com", Password: "secret-password",
		Nickname: "Busy", BirthDate: "1990-01-01", Gender: "other"}); !errors.Is(err, ErrBusy) {
		t.Fatalf("sign-up with every slot taken: %v, want ErrBusy", err)
	}
}
