package memory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/memory"
	"github.com/aigateway/gateway/internal/state/statetest"
)

func TestConformanceWithFakeClock(t *testing.T) {
	clock := statetest.NewFakeClock(time.Now())
	statetest.Run(t, func(*testing.T) *state.Store { return memory.New(clock.Now) }, clock)
}

func TestConformanceWithWallClock(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps past a cache ttl")
	}
	statetest.Run(t, func(*testing.T) *state.Store { return memory.New(nil) })
}

func TestCacheEvictsTheLeastRecentlyUsedPastTheEntryBound(t *testing.T) {
	ctx := context.Background()
	c := memory.NewCache(nil, 3, 1<<20)
	for _, k := range []string{"a", "b", "c"} {
		if err := c.Put(ctx, k, &state.CacheEntry{Body: []byte(k)}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Get(ctx, "a"); err != nil { // a becomes the most recently used
		t.Fatal(err)
	}
	if err := c.Put(ctx, "d", &state.CacheEntry{Body: []byte("d")}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "b"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("b (least recently used) = %v, want evicted", err)
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, err := c.Get(ctx, k); err != nil {
			t.Fatalf("%s: %v, want kept", k, err)
		}
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
}

func TestCacheEvictsPastTheByteBoundAndRefusesOversizedEntries(t *testing.T) {
	ctx := context.Background()
	const maxBytes = 10_000
	c := memory.NewCache(nil, 1000, maxBytes)
	body := make([]byte, 3000)
	for i := range 5 {
		if err := c.Put(ctx, fmt.Sprint(i), &state.CacheEntry{Body: body}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if c.Bytes() > maxBytes {
			t.Fatalf("after put %d: %d bytes held, over the bound %d", i, c.Bytes(), maxBytes)
		}
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3 entries of ~3 KB in 10 KB", c.Len())
	}
	if _, err := c.Get(ctx, "0"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("oldest entry = %v, want evicted", err)
	}
	if err := c.Put(ctx, "huge", &state.CacheEntry{Body: make([]byte, maxBytes)}, time.Hour); err == nil {
		t.Fatal("Put of an entry larger than the whole cache succeeded, want an error")
	}
	if c.Len() != 3 {
		t.Fatalf("a refused put changed the cache: Len = %d, want 3", c.Len())
	}
}

func TestCacheDropsExpiredEntriesOnRead(t *testing.T) {
	ctx := context.Background()
	clock := statetest.NewFakeClock(time.Now())
	c := memory.NewCache(clock.Now, 0, 0)
	if err := c.Put(ctx, "k", &state.CacheEntry{Body: []byte("x")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := c.Get(ctx, "k"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get at the expiry instant = %v, want ErrNotFound", err)
	}
	if c.Len() != 0 || c.Bytes() != 0 {
		t.Fatalf("expired entry still held: Len %d, Bytes %d", c.Len(), c.Bytes())
	}
}

func TestLimitsForgetPastWindows(t *testing.T) {
	ctx := context.Background()
	start := time.Now().Truncate(time.Minute)
	clock := statetest.NewFakeClock(start)
	l := memory.NewLimits(clock.Now)
	w := state.Window{Name: "key:k:rpm", Size: time.Minute}
	if _, err := l.Take(ctx, w, start, 5, 10); err != nil {
		t.Fatal(err)
	}
	// Well past the window's expiry: the next Take sweeps it away.
	clock.Advance(memory.CounterExpiry(w, start).Sub(start) + 2*time.Minute)
	if _, err := l.Take(ctx, w, clock.Now(), 1, 10); err != nil {
		t.Fatal(err)
	}
	r, err := l.Take(ctx, w, start, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count != 0 {
		t.Fatalf("count of a swept window = %d, want 0 (forgotten)", r.Count)
	}
}

func TestTakeRejectsBadArguments(t *testing.T) {
	ctx := context.Background()
	l := memory.NewLimits(nil)
	if _, err := l.Take(ctx, state.Window{Name: "x"}, time.Now(), 1, 10); err == nil {
		t.Fatal("Take with a zero window size succeeded, want an error")
	}
	if _, err := l.Take(ctx, state.Window{Name: "x", Size: time.Minute}, time.Now(), -1, 10); err == nil {
		t.Fatal("Take of a negative n succeeded, want an error")
	}
}

func BenchmarkTake(b *testing.B) {
	ctx := context.Background()
	l := memory.NewLimits(nil)
	w := state.Window{Name: "key:bench:rpm", Size: time.Minute}
	now := time.Now()
	for b.Loop() {
		if _, err := l.Take(ctx, w, now, 1, 1<<62); err != nil {
			b.Fatal(err)
		}
	}
}
