package router

import (
	"testing"
	"time"
)

const recovery = 30 * time.Second

func newTestBreaker(threshold, halfOpenMax int) (*Breaker, *clock) {
	c := newClock()
	return NewBreaker(BreakerConfig{FailureThreshold: threshold, RecoveryTimeout: recovery, HalfOpenMaxCalls: halfOpenMax}, c.now), c
}

// call is one Allow followed, when allowed, by Record(ok).
func call(b *Breaker, ok bool) bool {
	if !b.Allow() {
		return false
	}
	b.Record(ok)
	return true
}

// tripped returns a breaker opened by threshold consecutive failures.
func tripped(t *testing.T, threshold, halfOpenMax int) (*Breaker, *clock) {
	t.Helper()
	b, c := newTestBreaker(threshold, halfOpenMax)
	for range threshold {
		call(b, false)
	}
	if b.State() != Open {
		t.Fatalf("breaker is %s after %d failures, want open", b.State(), threshold)
	}
	return b, c
}

func TestBreakerOpensAfterConsecutiveFailures(t *testing.T) {
	tests := []struct {
		name     string
		outcomes []bool
		want     BreakerState
	}{
		{name: "fewer failures than the threshold stay closed", outcomes: []bool{false, false}, want: Closed},
		{name: "threshold consecutive failures open it", outcomes: []bool{false, false, false}, want: Open},
		{name: "a success resets the failure count", outcomes: []bool{false, false, true, false, false}, want: Closed},
		{name: "failures after a reset open it again at the threshold", outcomes: []bool{false, true, false, false, false}, want: Open},
		{name: "successes alone keep it closed", outcomes: []bool{true, true, true, true}, want: Closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newTestBreaker(3, 1)
			for i, ok := range tt.outcomes {
				if !call(b, ok) {
					t.Fatalf("call %d was refused by a closed breaker", i)
				}
			}
			if got := b.State(); got != tt.want {
				t.Errorf("state = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBreakerWithoutThresholdNeverOpens(t *testing.T) {
	b, _ := newTestBreaker(0, 1)
	for i := range 1000 {
		if !call(b, false) {
			t.Fatalf("call %d refused; a zero threshold must never open", i)
		}
	}
}

func TestOpenBreakerRefusesUntilRecoveryTimeout(t *testing.T) {
	b, c := tripped(t, 2, 1)
	if b.Allow() {
		t.Fatal("a freshly opened breaker let a call through")
	}
	c.advance(recovery - time.Nanosecond)
	if b.Allow() {
		t.Fatal("the breaker let a call through before its recovery timeout")
	}
	if got := b.State(); got != Open {
		t.Errorf("state just before recovery = %s, want open", got)
	}
	c.advance(time.Nanosecond)
	if got := b.State(); got != HalfOpen {
		t.Errorf("state at recovery = %s, want half_open", got)
	}
	if !b.Allow() {
		t.Fatal("the breaker refused a trial call after its recovery timeout")
	}
}

func TestHalfOpenAdmitsAtMostMaxCalls(t *testing.T) {
	tests := []struct {
		name        string
		halfOpenMax int
		want        int
	}{
		{name: "one trial by default", halfOpenMax: 0, want: 1},
		{name: "one trial when configured", halfOpenMax: 1, want: 1},
		{name: "three trials when configured", halfOpenMax: 3, want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, c := tripped(t, 1, tt.halfOpenMax)
			c.advance(recovery)
			admitted := 0
			for range tt.want + 5 {
				if b.Allow() {
					admitted++
				}
			}
			if admitted != tt.want {
				t.Errorf("half-open admitted %d concurrent trials, want %d", admitted, tt.want)
			}
		})
	}
}

func TestHalfOpenOutcome(t *testing.T) {
	t.Run("a trial success closes the breaker", func(t *testing.T) {
		b, c := tripped(t, 2, 1)
		c.advance(recovery)
		if !call(b, true) {
			t.Fatal("trial refused")
		}
		if got := b.State(); got != Closed {
			t.Fatalf("state = %s, want closed", got)
		}
		if !call(b, false) || b.State() != Closed {
			t.Error("one failure after closing reopened the breaker: the count must restart at zero")
		}
	})
	t.Run("a trial failure opens the breaker for another recovery timeout", func(t *testing.T) {
		b, c := tripped(t, 2, 1)
		c.advance(recovery)
		if !call(b, false) {
			t.Fatal("trial refused")
		}
		if got := b.State(); got != Open {
			t.Fatalf("state = %s, want open", got)
		}
		c.advance(recovery - time.Nanosecond)
		if b.Allow() {
			t.Error("the reopened breaker let a call through before a full recovery timeout")
		}
		c.advance(time.Nanosecond)
		if !b.Allow() {
			t.Error("the reopened breaker refused a trial after its recovery timeout")
		}
	})
	t.Run("a late trial failure after closing counts toward the threshold", func(t *testing.T) {
		b, c := tripped(t, 2, 2)
		c.advance(recovery)
		if !b.Allow() || !b.Allow() || b.Allow() {
			t.Fatal("want exactly two trial slots")
		}
		b.Record(true)
		if got := b.State(); got != Closed {
			t.Fatalf("state = %s, want closed after a successful trial", got)
		}
		b.Record(false) // the other trial ends in the now closed breaker
		if got := b.Snapshot(); got.State != "closed" || got.ConsecutiveFails != 1 {
			t.Errorf("snapshot = %+v, want closed with one consecutive failure", got)
		}
	})
}

func TestBreakerStateStrings(t *testing.T) {
	for state, want := range map[BreakerState]string{Closed: "closed", Open: "open", HalfOpen: "half_open"} {
		if got := state.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", state, got, want)
		}
	}
}

func TestBreakerSnapshot(t *testing.T) {
	b, c := newTestBreaker(2, 1)
	openedAt := c.now().Format(time.RFC3339)
	call(b, false)
	if got, want := b.Snapshot(), (BreakerSnapshot{State: "closed", ConsecutiveFails: 1}); got != want {
		t.Errorf("after one failure: %+v, want %+v", got, want)
	}
	call(b, false)
	if got, want := b.Snapshot(), (BreakerSnapshot{State: "open", TimesOpened: 1, OpenedAt: openedAt}); got != want {
		t.Errorf("after opening: %+v, want %+v", got, want)
	}
	c.advance(recovery)
	if got, want := b.Snapshot(), (BreakerSnapshot{State: "half_open", TimesOpened: 1, OpenedAt: openedAt}); got != want {
		t.Errorf("past the recovery timeout: %+v, want %+v", got, want)
	}
	call(b, true)
	if got, want := b.Snapshot(), (BreakerSnapshot{State: "closed", TimesOpened: 1}); got != want {
		t.Errorf("after a successful trial: %+v, want %+v", got, want)
	}
}
