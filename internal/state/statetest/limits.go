package statetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

func (s *suite) limits(t *testing.T) {
	ctx := context.Background()
	minute := func(name string) state.Window { return state.Window{Name: name, Size: time.Minute} }

	take := func(t *testing.T, l state.Limits, w state.Window, now time.Time, n, limit int64) state.TakeResult {
		t.Helper()
		r, err := l.Take(ctx, w, now, n, limit)
		if err != nil {
			t.Fatalf("Take(%s, n=%d, limit=%d): %v", w.Name, n, limit, err)
		}
		return r
	}
	// countOf reads a counter without changing it: a Take of 0 within any limit.
	countOf := func(t *testing.T, l state.Limits, w state.Window, now time.Time) int64 {
		t.Helper()
		r := take(t, l, w, now, 0, 1<<40)
		if !r.Allowed {
			t.Fatalf("Take of 0 refused: %+v", r)
		}
		return r.Count
	}

	t.Run("take allows exactly up to the limit", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		w, now := minute("key:k1:rpm"), future().Add(10*time.Second)
		for i := int64(1); i <= 5; i++ {
			r := take(t, st.Limits, w, now, 1, 5)
			if !r.Allowed || r.Count != i {
				t.Fatalf("take %d = %+v, want allowed with count %d", i, r, i)
			}
			if want := future().Add(time.Minute); !r.Reset.Equal(want) {
				t.Fatalf("Reset = %v, want the window end %v", r.Reset, want)
			}
		}
		r := take(t, st.Limits, w, now.Add(40*time.Second), 1, 5)
		if r.Allowed || (r.Count != 5 && r.Count != -1) {
			t.Fatalf("take 6 = %+v, want refused with count 5 (or -1)", r)
		}
		if got := countOf(t, st.Limits, w, now); got != 5 {
			t.Fatalf("count after the refusal = %d, want 5", got)
		}
	})

	t.Run("a refused take adds nothing and a smaller one still fits", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		w, now := minute("key:k1:tpm"), future()
		if r := take(t, st.Limits, w, now, 7, 10); !r.Allowed || r.Count != 7 {
			t.Fatalf("take 7 = %+v, want allowed with count 7", r)
		}
		if r := take(t, st.Limits, w, now, 4, 10); r.Allowed {
			t.Fatalf("take 4 more = %+v, want refused (7+4 > 10)", r)
		}
		if r := take(t, st.Limits, w, now, 3, 10); !r.Allowed || r.Count != 10 {
			t.Fatalf("take 3 more = %+v, want allowed with count 10", r)
		}
		if r := take(t, st.Limits, w, now, 1, 10); r.Allowed {
			t.Fatalf("take 1 at the limit = %+v, want refused", r)
		}
	})

	t.Run("a take larger than the limit is refused even on an empty window", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		w, now := minute("key:k1:tpm"), future()
		if r := take(t, st.Limits, w, now, 11, 10); r.Allowed {
			t.Fatalf("take 11 of 10 = %+v, want refused", r)
		}
		if got := countOf(t, st.Limits, w, now); got != 0 {
			t.Fatalf("count = %d, want 0", got)
		}
		if r := take(t, st.Limits, w, now, 1, 0); r.Allowed {
			t.Fatalf("take with limit 0 = %+v, want refused", r)
		}
	})

	t.Run("windows roll over and keep their own counts", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		w, first := minute("key:k1:rpm"), future().Add(59*time.Second)
		for range 3 {
			take(t, st.Limits, w, first, 1, 3)
		}
		if r := take(t, st.Limits, w, first, 1, 3); r.Allowed {
			t.Fatalf("take in a full window = %+v, want refused", r)
		}
		next := first.Add(time.Second) // the next minute's first second
		r := take(t, st.Limits, w, next, 1, 3)
		if !r.Allowed || r.Count != 1 {
			t.Fatalf("take in the next window = %+v, want allowed with count 1", r)
		}
		if want := next.Add(time.Minute); !r.Reset.Equal(want) {
			t.Fatalf("Reset = %v, want %v", r.Reset, want)
		}
		if got := countOf(t, st.Limits, w, first); got != 3 {
			t.Fatalf("count of the first window = %d, want 3", got)
		}
		hour := state.Window{Name: "key:k1:rph", Size: time.Hour}
		take(t, st.Limits, hour, first, 2, 100)
		take(t, st.Limits, hour, next, 2, 100)
		if got := countOf(t, st.Limits, hour, first.Add(30*time.Minute)); got != 4 {
			t.Fatalf("hour window count = %d, want 4 (one window spans both minutes)", got)
		}
		if got := countOf(t, st.Limits, hour, first.Add(time.Hour)); got != 0 {
			t.Fatalf("next hour's count = %d, want 0", got)
		}
	})

	t.Run("counters are independent by name", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		now := future()
		take(t, st.Limits, minute("key:a:rpm"), now, 5, 5)
		if r := take(t, st.Limits, minute("key:b:rpm"), now, 5, 5); !r.Allowed || r.Count != 5 {
			t.Fatalf("take on another counter = %+v, want allowed with count 5", r)
		}
		if r := take(t, st.Limits, minute("target:openai/gpt-4o:rpm"), now, 1, 1); !r.Allowed {
			t.Fatalf("take on a target counter = %+v, want allowed", r)
		}
	})

	t.Run("adjust adds negative and positive deltas unconditionally", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		w, now := minute("key:k1:tpm"), future()
		take(t, st.Limits, w, now, 1000, 1000) // reserve the estimate
		if err := st.Limits.Adjust(ctx, w, now.Add(30*time.Second), -400); err != nil {
			t.Fatalf("Adjust: %v", err)
		}
		if got := countOf(t, st.Limits, w, now); got != 600 {
			t.Fatalf("count after Adjust(-400) = %d, want 600", got)
		}
		if r := take(t, st.Limits, w, now, 400, 1000); !r.Allowed || r.Count != 1000 {
			t.Fatalf("take of the freed 400 = %+v, want allowed with count 1000", r)
		}
		if err := st.Limits.Adjust(ctx, w, now, 250); err != nil { // real usage above the estimate
			t.Fatalf("Adjust: %v", err)
		}
		if got := countOf(t, st.Limits, w, now); got != 1250 {
			t.Fatalf("count after Adjust(+250) = %d, want 1250 (past the limit)", got)
		}
		if r := take(t, st.Limits, w, now, 1, 1000); r.Allowed {
			t.Fatalf("take over an overshot counter = %+v, want refused", r)
		}
	})

	t.Run("adjust on an untouched window creates its counter", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		w, now := minute("key:k1:tpm"), future()
		if err := st.Limits.Adjust(ctx, w, now, 8); err != nil {
			t.Fatalf("Adjust: %v", err)
		}
		if r := take(t, st.Limits, w, now, 3, 10); r.Allowed {
			t.Fatalf("take 3 after Adjust(8) of limit 10 = %+v, want refused", r)
		}
		if err := st.Limits.Adjust(ctx, w, now, -20); err != nil {
			t.Fatalf("Adjust: %v", err)
		}
		if got := countOf(t, st.Limits, w, now); got != -12 {
			t.Fatalf("count = %d, want -12 (Adjust does not clamp)", got)
		}
	})

	t.Run("32 concurrent takers never pass the limit", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		w, now := minute("key:hot:rpm"), future()
		const workers, each, limit = 32, 8, 100
		var allowed, refused atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					r, err := st.Limits.Take(ctx, w, now, 1, limit)
					switch {
					case err != nil:
						errs <- err
					case r.Allowed:
						allowed.Add(1)
						if r.Count < 1 || r.Count > limit {
							errs <- errorf("allowed take reported count %d, outside [1, %d]", r.Count, limit)
						}
					default:
						refused.Add(1)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if allowed.Load() != limit || refused.Load() != workers*each-limit {
			t.Fatalf("allowed %d, refused %d; want exactly %d allowed of %d", allowed.Load(), refused.Load(), limit, workers*each)
		}
		if got := countOf(t, st.Limits, w, now); got != limit {
			t.Fatalf("final count = %d, want %d", got, limit)
		}
	})

	t.Run("concurrent takes and adjusts sum exactly", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		w, now := minute("key:hot:tpm"), future()
		const workers, each = 16, 8
		var wg sync.WaitGroup
		errs := make(chan error, 2*workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					if r, err := st.Limits.Take(ctx, w, now, 10, 1<<40); err != nil || !r.Allowed {
						errs <- errorf("take: %+v, %v", r, err)
					}
					if err := st.Limits.Adjust(ctx, w, now, -3); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got, want := countOf(t, st.Limits, w, now), int64(workers*each*7); got != want {
			t.Fatalf("count = %d, want %d", got, want)
		}
	})
}
