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

// RunResponses is the conformance suite of state.Responses, with the
// arguments of Run: newStore returns a fresh store per subtest, clock (at
// most one) is the clock that store reads for expiry.
func RunResponses(t *testing.T, newStore func(t *testing.T) *state.Store, clock ...Clock) {
	t.Helper()
	var c Clock = wallClock{}
	switch len(clock) {
	case 0:
	case 1:
		c = clock[0]
	default:
		t.Fatalf("statetest.RunResponses: at most one clock, got %d", len(clock))
	}
	s := &suite{newStore: newStore, clock: c}
	s.responses(t)
}

func (s *suite) responses(t *testing.T) {
	ctx := context.Background()
	roundTrip := func(t *testing.T, r state.Responses, keyID, id string, blob []byte) {
		t.Helper()
		if err := r.Put(ctx, keyID, id, blob, time.Hour); err != nil {
			t.Fatalf("Put(%d bytes): %v", len(blob), err)
		}
		got, err := r.Get(ctx, keyID, id)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if !bytes.Equal(got, blob) {
			t.Fatalf("Get: %d bytes, want the %d put", len(got), len(blob))
		}
	}
	notFound := func(t *testing.T, what string, err error) {
		t.Helper()
		if !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("%s = %v, want ErrNotFound", what, err)
		}
	}

	t.Run("a put response comes back to its owner", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		roundTrip(t, st.Responses, "key-1", "resp_1", []byte(`{"response":{"id":"resp_1"},"history":[]}`))
		roundTrip(t, st.Responses, "", "resp_anon", []byte(`{"anonymous":true}`))
	})

	t.Run("another key's response is not found, and deleting it keeps it", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		roundTrip(t, st.Responses, "key-a", "resp_a", []byte("mine"))
		for _, other := range []string{"key-b", "", "KEY-A", "key-a "} {
			_, err := st.Responses.Get(ctx, other, "resp_a")
			notFound(t, fmt.Sprintf("Get by %q", other), err)
			notFound(t, fmt.Sprintf("Delete by %q", other), st.Responses.Delete(ctx, other, "resp_a"))
		}
		if _, err := st.Responses.Get(ctx, "key-a", "resp_a"); err != nil {
			t.Fatalf("the owner's Get after others' deletes: %v", err)
		}
		roundTrip(t, st.Responses, "", "resp_anon", []byte("anonymous"))
		_, err := st.Responses.Get(ctx, "key-a", "resp_anon")
		notFound(t, "a key reading an anonymous response", err)
	})

	t.Run("the owner deletes a response once", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		roundTrip(t, st.Responses, "key-1", "resp_del", []byte("bye"))
		if err := st.Responses.Delete(ctx, "key-1", "resp_del"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := st.Responses.Get(ctx, "key-1", "resp_del")
		notFound(t, "Get after Delete", err)
		notFound(t, "a second Delete", st.Responses.Delete(ctx, "key-1", "resp_del"))
		notFound(t, "Delete of an id never put", st.Responses.Delete(ctx, "key-1", "resp_never"))
	})

	t.Run("a miss is not found", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		_, err := st.Responses.Get(ctx, "key-1", "resp_never")
		notFound(t, "Get", err)
	})

	t.Run("a long conversation and a binary blob round trip", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		var b strings.Builder
		b.WriteString(`{"history":[`)
		for i := 0; b.Len() < 300<<10; i++ {
			fmt.Fprintf(&b, `{"type":"message","role":"user","content":"turn %d: tell me about item %d"},`, i, i*13)
		}
		b.WriteString(`{}]}`)
		roundTrip(t, st.Responses, "key-1", "resp_long", []byte(b.String()))
		// Random bytes do not compress: 100 KB stays about 100 KB.
		random := make([]byte, 100<<10)
		_, _ = rand.NewChaCha8([32]byte{7}).Read(random)
		roundTrip(t, st.Responses, "key-1", "resp_random", random)
		roundTrip(t, st.Responses, "key-1", "resp_small", []byte{0, 0xff, '\n'})
		roundTrip(t, st.Responses, "key-1", "resp_empty", []byte{})
	})

	t.Run("put replaces a response", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		roundTrip(t, st.Responses, "key-1", "resp_r", []byte("first"))
		roundTrip(t, st.Responses, "key-1", "resp_r", []byte("second"))
	})

	t.Run("a put with no ttl stores nothing", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		for _, ttl := range []time.Duration{0, -time.Second} {
			if err := st.Responses.Put(ctx, "key-1", "resp_nottl", []byte("x"), ttl); err != nil {
				t.Fatalf("Put(ttl %v): %v", ttl, err)
			}
		}
		_, err := st.Responses.Get(ctx, "key-1", "resp_nottl")
		notFound(t, "Get", err)
	})

	t.Run("an expired response is neither found nor deleted", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		if err := st.Responses.Put(ctx, "key-1", "resp_short", []byte("soon gone"), time.Second); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := st.Responses.Put(ctx, "key-1", "resp_long", []byte("stays"), time.Hour); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if _, err := st.Responses.Get(ctx, "key-1", "resp_short"); err != nil {
			t.Fatalf("Get before expiry: %v", err)
		}
		// Implementations may round a ttl up to the next whole second.
		s.clock.Advance(2100 * time.Millisecond)
		_, err := st.Responses.Get(ctx, "key-1", "resp_short")
		notFound(t, "Get after expiry", err)
		notFound(t, "Delete after expiry", st.Responses.Delete(ctx, "key-1", "resp_short"))
		if _, err := st.Responses.Get(ctx, "key-1", "resp_long"); err != nil {
			t.Fatalf("Get of an unexpired response: %v", err)
		}
	})

	t.Run("changing a put or returned blob does not change the store", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		blob := []byte("original")
		if err := st.Responses.Put(ctx, "key-1", "resp_c", blob, time.Hour); err != nil {
			t.Fatalf("Put: %v", err)
		}
		copy(blob, "XXXXXXXX")
		got, err := st.Responses.Get(ctx, "key-1", "resp_c")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		copy(got, "YYYYYYYY")
		again, err := st.Responses.Get(ctx, "key-1", "resp_c")
		if err != nil || string(again) != "original" {
			t.Fatalf("Get = %q, %v; want %q", again, err, "original")
		}
	})
}
