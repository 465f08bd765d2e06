package limit

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSlots(t *testing.T) {
	s := NewSlots(2)
	ctx := context.Background()
	r1, err := s.Take(ctx, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Take(ctx, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Take(ctx, 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("a third slot of two: %v, want ErrTimeout", err)
	}
	r1()
	if _, err := s.Take(ctx, time.Millisecond); err != nil {
		t.Fatalf("a slot given back is free again: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Take(cancelled, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestPerKey(t *testing.T) {
	var p PerKey[string]
	r, ok := p.Take("a", 1)
	if !ok {
		t.Fatal("first take refused")
	}
	if _, ok := p.Take("a", 1); ok {
		t.Fatal("a second take over a limit of one")
	}
	if _, ok := p.Take("b", 1); !ok {
		t.Fatal("another key has its own count")
	}
	r()
	r() // a second release counts nothing off
	if _, ok := p.Take("a", 1); !ok {
		t.Fatal("released, the key may take again")
	}
	if _, ok := p.Take("a", 0); !ok {
		t.Fatal("no limit")
	}
}
