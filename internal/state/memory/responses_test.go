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

func TestResponsesConformance(t *testing.T) {
	clock := statetest.NewFakeClock(time.Now())
	statetest.RunResponses(t, func(*testing.T) *state.Store { return memory.New(clock.Now) }, clock)
}

func TestResponsesDropTheOldestPastTheByteBound(t *testing.T) {
	ctx := context.Background()
	const maxBytes = 10_000
	r := memory.NewResponses(nil, maxBytes)
	blob := make([]byte, 3000)
	for i := range 5 {
		if err := r.Put(ctx, "k", fmt.Sprint("resp_", i), blob, time.Hour); err != nil {
			t.Fatal(err)
		}
		if r.Bytes() > maxBytes {
			t.Fatalf("after put %d: %d bytes held, over the bound %d", i, r.Bytes(), maxBytes)
		}
	}
	for i, want := range []bool{false, false, true, true, true} {
		_, err := r.Get(ctx, "k", fmt.Sprint("resp_", i))
		if got := err == nil; got != want {
			t.Errorf("resp_%d kept = %v, want %v (%v)", i, got, want, err)
		}
	}
	if err := r.Put(ctx, "k", "huge", make([]byte, maxBytes), time.Hour); err == nil {
		t.Fatal("Put of a blob larger than the whole store succeeded, want an error")
	}
	if _, err := r.Get(ctx, "k", "resp_4"); errors.Is(err, state.ErrNotFound) {
		t.Fatal("a refused put dropped an entry")
	}
}
