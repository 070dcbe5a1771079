package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

// Limits is an in-memory state.Limits: one counter per (name, window start),
// changed under a lock, so Take is exact under any concurrency.
type Limits struct {
	now func() time.Time

	mu        sync.Mutex
	counters  map[counterKey]*counter
	lastSweep time.Time
}

type counterKey struct {
	name  string
	start int64 // window start, Unix nanoseconds
}

type counter struct {
	c       int64
	expires time.Time
}

// NewLimits returns empty counters; now (nil: time.Now) decides when the
// counters of past windows are dropped.
func NewLimits(now func() time.Time) *Limits {
	if now == nil {
		now = time.Now
	}
	return &Limits{now: now, counters: map[counterKey]*counter{}}
}

var _ state.Limits = (*Limits)(nil)

// CounterExpiry is when the counter of the window starting at start may be
// forgotten: the window's end plus a slack of one window (at least a minute),
// so that late settlements (Adjust) of a long request still land. state/dynamo
// uses the same rule for the item's ttl.
func CounterExpiry(w state.Window, start time.Time) time.Time {
	return start.Add(w.Size + max(w.Size, time.Minute))
}

// Take implements state.Limits.
func (l *Limits) Take(_ context.Context, w state.Window, now time.Time, n, limit int64) (state.TakeResult, error) {
	if w.Size <= 0 {
		return state.TakeResult{}, fmt.Errorf("memory: take %q: window size must be positive", w.Name)
	}
	if n < 0 {
		return state.TakeResult{}, fmt.Errorf("memory: take %q: n must not be negative", w.Name)
	}
	start := w.Start(now)
	res := state.TakeResult{Reset: start.Add(w.Size)}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.get(w, start)
	if c.c+n > limit {
		res.Count = c.c
		return res, nil
	}
	c.c += n
	res.Allowed, res.Count = true, c.c
	return res, nil
}

// Adjust implements state.Limits.
func (l *Limits) Adjust(_ context.Context, w state.Window, at time.Time, delta int64) error {
	if w.Size <= 0 {
		return fmt.Errorf("memory: adjust %q: window size must be positive", w.Name)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.get(w, w.Start(at)).c += delta
	return nil
}

// count is the counter of the window starting at start.
func (l *Limits) count(w state.Window, start time.Time) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.get(w, start).c
}

// get returns the counter of the window, creating it; l.mu must be held.
func (l *Limits) get(w state.Window, start time.Time) *counter {
	l.sweep()
	k := counterKey{w.Name, start.UnixNano()}
	c, ok := l.counters[k]
	if !ok {
		c = &counter{expires: CounterExpiry(w, start)}
		l.counters[k] = c
	}
	return c
}

// sweep drops the counters of long-past windows, at most once a minute; l.mu must be held.
func (l *Limits) sweep() {
	now := l.now()
	if now.Sub(l.lastSweep) < sweepEvery {
		return
	}
	l.lastSweep = now
	for k, c := range l.counters {
		if !now.Before(c.expires) {
			delete(l.counters, k)
		}
	}
}
