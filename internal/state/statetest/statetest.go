// Package statetest is the conformance suite of the state interfaces: every
// implementation (state/memory, state/dynamo) runs the same Run.
//
// Real DynamoDB time cannot be faked, so the suite never relies on an
// implementation's idea of "now" for counters and spend: it passes explicit
// times (the interfaces take now/at), chosen in the future of the wall clock
// (so DynamoDB TTL never deletes what a test wrote) and far enough apart to
// land in distinct windows, days and months. Expiry of cache entries and of
// old spend days uses the store's clock: pass a Clock that the store also
// reads, and the suite advances it; without one, the suite sleeps.
package statetest

import (
	"sync"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

// Clock is a settable clock shared by the suite and the store under test.
type Clock interface {
	Now() time.Time
	Advance(d time.Duration)
}

// FakeClock is a goroutine-safe Clock that only moves when told.
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock returns a clock showing t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{t: t} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// wallClock is the Clock used when Run gets none: real time, real sleeps.
type wallClock struct{}

func (wallClock) Now() time.Time          { return time.Now() }
func (wallClock) Advance(d time.Duration) { time.Sleep(d) }

// Run runs the conformance suite. newStore returns a fresh, empty store for
// one subtest (register cleanup on its t). clock, at most one, is the clock
// that store reads for expiry; without it the expiry cases sleep a few seconds.
func Run(t *testing.T, newStore func(t *testing.T) *state.Store, clock ...Clock) {
	t.Helper()
	var c Clock = wallClock{}
	switch len(clock) {
	case 0:
	case 1:
		c = clock[0]
	default:
		t.Fatalf("statetest.Run: at most one clock, got %d", len(clock))
	}
	s := &suite{newStore: newStore, clock: c}
	t.Run("Keys", s.keys)
	t.Run("Limits", s.limits)
	t.Run("Spend", s.spend)
	t.Run("KeyUses", s.keyUses)
	t.Run("Cache", s.cache)
}

type suite struct {
	newStore func(t *testing.T) *state.Store
	clock    Clock
}

// future is a time far enough after the wall clock that nothing the suite
// writes for it is TTL-deleted during the test, aligned to the hour so that
// minute and hour windows start there.
func future() time.Time {
	return time.Now().UTC().Add(48 * time.Hour).Truncate(time.Hour)
}
