package redisconn

import (
	"path/filepath"
	"testing"
	"time"
)

// Kept keys outlive a restart of the embedded server with what is left of their TTL;
// others do not.
func TestEmbeddedKeepsKeysAcrossRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sessions.json")
	m, err := StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Keep(file, "gavel:session:", time.Hour); err != nil {
		t.Fatal(err)
	}
	_ = m.Set("gavel:session:a", "alice")
	m.SetTTL("gavel:session:a", time.Hour)
	_ = m.Set("gavel:session:b", "gone")
	m.SetTTL("gavel:session:b", time.Millisecond)
	_ = m.Set("other", "x")
	time.Sleep(5 * time.Millisecond)
	m.Close()

	m2, err := StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := m2.Keep(file, "gavel:session:", time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, err := m2.Get("gavel:session:a"); err != nil || v != "alice" {
		t.Fatalf("kept session: %q %v", v, err)
	}
	if ttl := m2.TTL("gavel:session:a"); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("kept TTL %v, want what was left of an hour", ttl)
	}
	if m2.Exists("gavel:session:b") || m2.Exists("other") {
		t.Fatal("an expired key or one without the prefix came back")
	}
}
