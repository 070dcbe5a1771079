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
	tk, allowed := b.Allow()
	if allowed {
		b.Record(tk, ok)
	}
	return allowed
}

// allows is one Allow whose ticket is never given back.
func allows(b *Breaker) bool {
	_, ok := b.Allow()
	return ok
}

// admit is one Allow that must let the call through.
func admit(t *testing.T, b *Breaker, what string) Ticket {
	t.Helper()
	tk, ok := b.Allow()
	if !ok {
		t.Fatalf("%s refused", what)
	}
	return tk
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
	if allows(b) {
		t.Fatal("a freshly opened breaker let a call through")
	}
	c.advance(recovery - time.Nanosecond)
	if allows(b) {
		t.Fatal("the breaker let a call through before its recovery timeout")
	}
	if got := b.State(); got != Open {
		t.Errorf("state just before recovery = %s, want open", got)
	}
	c.advance(time.Nanosecond)
	if got := b.State(); got != HalfOpen {
		t.Errorf("state at recovery = %s, want half_open", got)
	}
	if !allows(b) {
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
				if allows(b) {
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
		if allows(b) {
			t.Error("the reopened breaker let a call through before a full recovery timeout")
		}
		c.advance(time.Nanosecond)
		if !allows(b) {
			t.Error("the reopened breaker refused a trial after its recovery timeout")
		}
	})
	t.Run("a late trial failure after closing counts toward the threshold", func(t *testing.T) {
		b, c := tripped(t, 2, 2)
		c.advance(recovery)
		first, second := admit(t, b, "first trial"), admit(t, b, "second trial")
		if allows(b) {
			t.Fatal("want exactly two trial slots")
		}
		b.Record(first, true)
		if got := b.State(); got != Closed {
			t.Fatalf("state = %s, want closed after a successful trial", got)
		}
		b.Record(second, false) // the other trial ends in the now closed breaker
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

// TestAStaleResultLeavesTheTrialsAlone pins that the result of a call
// admitted while the breaker was closed, reported once the breaker has gone
// half-open, frees no trial slot (it held none) and neither closes nor
// reopens the breaker: only the trials' own results decide.
func TestAStaleResultLeavesTheTrialsAlone(t *testing.T) {
	for _, tt := range []struct {
		name   string
		report func(b *Breaker, tk Ticket)
	}{
		{name: "a success", report: func(b *Breaker, tk Ticket) { b.Record(tk, true) }},
		{name: "a failure", report: func(b *Breaker, tk Ticket) { b.Record(tk, false) }},
		{name: "a release", report: func(b *Breaker, tk Ticket) { b.Release(tk) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, c := newTestBreaker(1, 1)
			stale := admit(t, b, "a call to the closed breaker")
			call(b, false)
			c.advance(recovery)
			trial := admit(t, b, "trial")
			tt.report(b, stale) // the call admitted while closed ends now
			if got := b.State(); got != HalfOpen {
				t.Fatalf("state = %s, want half_open: a stale result moved the breaker", got)
			}
			if allows(b) {
				t.Fatal("a second trial got in: a stale result freed a slot it never held")
			}
			b.Record(trial, true)
			if got := b.State(); got != Closed {
				t.Errorf("state = %s after the trial's success, want closed", got)
			}
		})
	}
}

// TestATrialOfAnEarlierHalfOpenPeriodIsStale pins that a trial whose
// half-open period ended (another trial failed and reopened the breaker)
// holds no slot of the next period, and that its success after the breaker
// reopened closes nothing.
func TestATrialOfAnEarlierHalfOpenPeriodIsStale(t *testing.T) {
	b, c := tripped(t, 1, 3)
	c.advance(recovery)
	first, second, third := admit(t, b, "first trial"), admit(t, b, "second trial"), admit(t, b, "third trial")
	b.Record(third, false) // open again
	b.Record(first, true)  // too late
	if got := b.State(); got != Open {
		t.Fatalf("state = %s, want open: a stale success closed a reopened breaker", got)
	}
	c.advance(recovery)
	admit(t, b, "trial of the second period")
	b.Release(second) // the first period's second trial gives up now
	admit(t, b, "second trial of the second period")
	admit(t, b, "third trial of the second period")
	if allows(b) {
		t.Fatal("a fourth trial got in: a stale release freed a slot of this period")
	}
}

// TestAClosedBreakerCountsLateResults pins the other side of staleness: a
// closed breaker has no slot to free and counts every outcome as it ends,
// so a trial's late failure and a failure of a call admitted before the
// breaker last opened both count toward the threshold, and a release from
// an earlier state frees nothing and keeps the count.
func TestAClosedBreakerCountsLateResults(t *testing.T) {
	b, c := newTestBreaker(3, 2)
	early := admit(t, b, "a call to the closed breaker")
	call(b, false)
	call(b, false)
	call(b, false)
	c.advance(recovery)
	first, second := admit(t, b, "first trial"), admit(t, b, "second trial")
	b.Record(first, true)
	b.Release(second) // a late trial that gave up
	b.Record(early, false)
	call(b, false)
	if got := b.Snapshot(); got.State != "closed" || got.ConsecutiveFails != 2 {
		t.Fatalf("snapshot = %+v, want closed with two consecutive failures", got)
	}
	call(b, false)
	if got := b.State(); got != Open {
		t.Errorf("state = %s after three failures, one of them late, want open", got)
	}
}
