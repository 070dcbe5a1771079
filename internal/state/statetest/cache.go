package statetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

func (s *suite) cache(t *testing.T) {
	ctx := context.Background()
	created := time.Date(2026, 11, 25, 10, 30, 0, 123456789, time.UTC)

	roundTrip := func(t *testing.T, c state.Cache, key string, want *state.CacheEntry) {
		t.Helper()
		if err := c.Put(ctx, key, want, time.Hour); err != nil {
			t.Fatalf("Put(%d bytes): %v", len(want.Body), err)
		}
		got, err := c.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		assertEntry(t, got, want)
	}

	t.Run("a put entry comes back with every field", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		roundTrip(t, st.Cache, hashOf("req1"), &state.CacheEntry{
			Body:        []byte(`{"id":"chatcmpl-1","choices":[{"message":{"content":"hi"}}]}`),
			ContentType: "application/json",
			Provider:    "openai",
			Model:       "gpt-4o-mini",
			Created:     created,
		})
		roundTrip(t, st.Cache, hashOf("req2"), &state.CacheEntry{
			Body:        []byte("data: {\"x\":1}\n\ndata: [DONE]\n\n"),
			ContentType: "text/event-stream",
			Provider:    "anthropic",
			Model:       "claude-sonnet-4-5",
			Created:     created,
		})
	})

	t.Run("a 200 KB body round trips", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		var b strings.Builder
		for i := 0; b.Len() < 200<<10; i++ {
			fmt.Fprintf(&b, `{"index":%d,"delta":{"content":"token %d of a long answer"}},`, i, i*7)
		}
		roundTrip(t, st.Cache, hashOf("large"), &state.CacheEntry{Body: []byte(b.String()), ContentType: "application/json", Created: created})
	})

	t.Run("a binary body round trips byte for byte", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		small := []byte{0, 1, 2, 0xff, 0xfe, 0, '\n', 0x80}
		roundTrip(t, st.Cache, hashOf("small-binary"), &state.CacheEntry{Body: small, ContentType: "application/octet-stream"})
		// Random bytes do not compress: 200 KB stays about 200 KB.
		rng := rand.NewChaCha8([32]byte{1, 2, 3})
		random := make([]byte, 200<<10)
		_, _ = rng.Read(random)
		roundTrip(t, st.Cache, hashOf("random-binary"), &state.CacheEntry{Body: random, ContentType: "audio/mpeg"})
	})

	t.Run("an empty body round trips", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		roundTrip(t, st.Cache, hashOf("empty"), &state.CacheEntry{Body: []byte{}, ContentType: "application/json"})
	})

	t.Run("a miss is not found", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		if _, err := st.Cache.Get(ctx, hashOf("never put")); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("Get = %v, want ErrNotFound", err)
		}
	})

	t.Run("put replaces an entry", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		key := hashOf("replaced")
		roundTrip(t, st.Cache, key, &state.CacheEntry{Body: []byte("first"), ContentType: "text/plain", Model: "a"})
		roundTrip(t, st.Cache, key, &state.CacheEntry{Body: []byte("second"), ContentType: "application/json", Model: "b"})
	})

	t.Run("a put with no ttl stores nothing", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		key := hashOf("no ttl")
		for _, ttl := range []time.Duration{0, -time.Second} {
			if err := st.Cache.Put(ctx, key, &state.CacheEntry{Body: []byte("x")}, ttl); err != nil {
				t.Fatalf("Put(ttl %v): %v", ttl, err)
			}
		}
		if _, err := st.Cache.Get(ctx, key); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("Get = %v, want ErrNotFound", err)
		}
	})

	t.Run("an expired entry is not found", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		key := hashOf("short-lived")
		long := hashOf("long-lived")
		if err := st.Cache.Put(ctx, key, &state.CacheEntry{Body: []byte("soon gone")}, time.Second); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := st.Cache.Put(ctx, long, &state.CacheEntry{Body: []byte("stays")}, time.Hour); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if _, err := st.Cache.Get(ctx, key); err != nil {
			t.Fatalf("Get before expiry: %v", err)
		}
		// Implementations may round a ttl up to the next whole second.
		s.clock.Advance(2100 * time.Millisecond)
		if _, err := st.Cache.Get(ctx, key); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("Get after expiry = %v, want ErrNotFound", err)
		}
		if _, err := st.Cache.Get(ctx, long); err != nil {
			t.Fatalf("Get of an unexpired entry: %v", err)
		}
	})

	t.Run("changing a put or returned entry does not change the cache", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		key := hashOf("copied")
		e := &state.CacheEntry{Body: []byte("original"), ContentType: "text/plain"}
		if err := st.Cache.Put(ctx, key, e, time.Hour); err != nil {
			t.Fatalf("Put: %v", err)
		}
		copy(e.Body, "XXXXXXXX")
		got, err := st.Cache.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		copy(got.Body, "YYYYYYYY")
		again, err := st.Cache.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		assertEntry(t, again, &state.CacheEntry{Body: []byte("original"), ContentType: "text/plain"})
	})
}

func assertEntry(t *testing.T, got, want *state.CacheEntry) {
	t.Helper()
	if !bytes.Equal(got.Body, want.Body) {
		t.Fatalf("Body: got %d bytes, want %d (equal prefix: %v)", len(got.Body), len(want.Body),
			len(got.Body) > 0 && len(want.Body) > 0 && got.Body[0] == want.Body[0])
	}
	if got.ContentType != want.ContentType || got.Provider != want.Provider ||
		got.Model != want.Model || !got.Created.Equal(want.Created) {
		g, w := *got, *want
		g.Body, w.Body = nil, nil
		t.Fatalf("entry = %+v, want %+v", g, w)
	}
}
