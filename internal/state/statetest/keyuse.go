package statetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

func (s *suite) keyUses(t *testing.T) {
	ctx := context.Background()
	minute := state.Window{Name: "rpm", Size: time.Minute}
	tokens := state.Window{Name: "tpm", Size: time.Minute}
	hour := state.Window{Name: "rph", Size: time.Hour}
	// A minute in the future (see the package comment), its first second.
	base := future().Truncate(time.Hour).Add(7 * time.Minute)

	reserve := func(t *testing.T, st *state.Store, key string, at time.Time, u state.KeyUse) state.KeyUseResult {
		t.Helper()
		r, err := st.KeyUses.Reserve(ctx, key, at, u)
		if err != nil {
			t.Fatalf("Reserve(%s, %+v): %v", key, u, err)
		}
		if len(r.Windows) != len(u.Windows) {
			t.Fatalf("Reserve: %d window results for %d windows", len(r.Windows), len(u.Windows))
		}
		return r
	}
	use := func(rpm, tpm int64) state.KeyUse {
		return state.KeyUse{Windows: []state.WindowUse{{Window: minute, N: 1, Limit: rpm}, {Window: tokens, N: tpm, Limit: 100}}}
	}
	spent := func(t *testing.T, st *state.Store, key string, at time.Time) state.SpendTotals {
		t.Helper()
		got, err := st.Spend.Get(ctx, key, at)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("windows count, and a full one refuses the whole request", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		r := reserve(t, st, "k1", base, use(3, 60))
		if !r.Allowed || r.Windows[0].Count != 1 || r.Windows[1].Count != 60 || !r.Windows[0].Reset.Equal(base.Add(time.Minute)) {
			t.Fatalf("first reservation %+v", r)
		}
		// 60 more tokens do not fit in 100: refused, and the request window is not taken either.
		r = reserve(t, st, "k1", base.Add(time.Second), use(3, 60))
		if r.Allowed || !r.Windows[0].Allowed || r.Windows[1].Allowed || r.Windows[1].Count != 60 || r.OverBudget != "" {
			t.Fatalf("over the token limit: %+v", r)
		}
		r = reserve(t, st, "k1", base.Add(2*time.Second), use(3, 40))
		if !r.Allowed || r.Windows[0].Count != 2 || r.Windows[1].Count != 100 {
			t.Fatalf("exactly at the token limit: %+v (the refused request took something?)", r)
		}
		// Another key and the next minute start at zero.
		if r := reserve(t, st, "k2", base, use(3, 100)); !r.Allowed || r.Windows[1].Count != 100 {
			t.Fatalf("another key: %+v", r)
		}
		if r := reserve(t, st, "k1", base.Add(time.Minute), use(3, 100)); !r.Allowed || r.Windows[0].Count != 1 {
			t.Fatalf("the next minute: %+v", r)
		}
		// More than the limit itself is refused however empty the window.
		if r := reserve(t, st, "k3", base, use(3, 101)); r.Allowed || r.Windows[1].Allowed {
			t.Fatalf("n above the limit: %+v", r)
		}
	})

	t.Run("an hour window spans its minutes", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		u := state.KeyUse{Windows: []state.WindowUse{{Window: minute, N: 1, Limit: 10}, {Window: hour, N: 1, Limit: 2}}}
		for i, want := range []bool{true, true, false} {
			if r := reserve(t, st, "k1", base.Add(time.Duration(i)*time.Minute), u); r.Allowed != want {
				t.Fatalf("request %d: %+v, want allowed %v", i, r, want)
			}
		}
	})

	t.Run("settling corrects the window of the reservation's time", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		reserve(t, st, "k1", base, use(10, 80))
		// The request used 30 tokens and settles after its minute ended.
		if err := st.KeyUses.Settle(ctx, "k1", base, []state.WindowDelta{{Window: tokens, Delta: 30 - 80}}, state.SpendAmounts{}); err != nil {
			t.Fatal(err)
		}
		if r := reserve(t, st, "k1", base.Add(30*time.Second), use(10, 70)); !r.Allowed || r.Windows[1].Count != 100 {
			t.Fatalf("after settling to 30 tokens, 70 more: %+v", r)
		}
	})

	t.Run("a reservation goes to the capped periods only and settles to the real cost", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		at := time.Now().UTC()
		r := reserve(t, st, "k1", at, state.KeyUse{Micros: 700, Caps: state.SpendAmounts{Day: 1000}})
		if !r.Allowed || r.Reserved != (state.SpendAmounts{Day: 700}) {
			t.Fatalf("Reserve = %+v", r)
		}
		if got := spent(t, st, "k1", at); got != (state.SpendTotals{DayMicros: 700}) {
			t.Fatalf("after the reservation: %+v", got)
		}
		// The call cost 250: the day gives back 450, the other periods get 250.
		if err := st.KeyUses.Settle(ctx, "k1", at, nil, state.SpendAmounts{Total: 250, Day: 250 - r.Reserved.Day, Month: 250}); err != nil {
			t.Fatal(err)
		}
		if got := spent(t, st, "k1", at); got != (state.SpendTotals{TotalMicros: 250, DayMicros: 250, MonthMicros: 250}) {
			t.Fatalf("after settlement: %+v", got)
		}
	})

	t.Run("a period at its cap refuses, and nothing is taken", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		at := time.Now().UTC()
		if err := st.Spend.Add(ctx, "k1", at, 1000); err != nil {
			t.Fatal(err)
		}
		u := use(10, 10)
		u.Micros, u.Caps = 5, state.SpendAmounts{Total: 10_000, Day: 1000, Month: 10_000}
		r := reserve(t, st, "k1", at, u)
		if r.Allowed || r.OverBudget != "daily" || !r.Windows[0].Allowed || r.Reserved != (state.SpendAmounts{}) {
			t.Fatalf("Reserve at the daily cap: %+v", r)
		}
		if got := spent(t, st, "k1", at); got != (state.SpendTotals{TotalMicros: 1000, DayMicros: 1000, MonthMicros: 1000}) {
			t.Fatalf("a refused reservation left %+v", got)
		}
		u.Caps.Day = 0
		if r := reserve(t, st, "k1", at, u); !r.Allowed || r.Windows[0].Count != 1 {
			t.Fatalf("without the daily cap: %+v (the refusal took a request?)", r)
		}
	})

	t.Run("a check that adds nothing still meets a full window and a spent budget", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		at := base
		check := state.KeyUse{Windows: []state.WindowUse{{Window: tokens, N: 0, Limit: 100}}, Caps: state.SpendAmounts{Total: 50}}
		if r := reserve(t, st, "k1", at, check); !r.Allowed || r.Windows[0].Count != 0 {
			t.Fatalf("an empty key: %+v", r)
		}
		reserve(t, st, "k1", at, use(10, 100))
		if err := st.KeyUses.Settle(ctx, "k1", at, []state.WindowDelta{{Window: tokens, Delta: 5}}, state.SpendAmounts{}); err != nil {
			t.Fatal(err)
		}
		if r := reserve(t, st, "k1", at, check); r.Allowed || r.Windows[0].Allowed || r.Windows[0].Count != 105 {
			t.Fatalf("a token window over its limit: %+v", r)
		}
		check.Windows = nil
		if err := st.Spend.Add(ctx, "k1", at, 50); err != nil {
			t.Fatal(err)
		}
		if r := reserve(t, st, "k1", at, check); r.Allowed || r.OverBudget != "total" {
			t.Fatalf("a spent budget: %+v", r)
		}
		if got := spent(t, st, "k1", at); got.TotalMicros != 50 {
			t.Fatalf("checks added to the spend: %+v", got)
		}
	})

	t.Run("concurrent reservations are exact: windows and budgets", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		at := time.Now().UTC()
		const n = 40
		var okRequests, okSpend atomic.Int64
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				// Half ask for a request in a window of 12; the other half
				// for 90 micro-dollars under a cap of 1000 on another key.
				if i%2 == 0 {
					r, err := st.KeyUses.Reserve(ctx, "hot", at, state.KeyUse{Windows: []state.WindowUse{{Window: hour, N: 1, Limit: 12}}})
					if err != nil {
						t.Error(err)
					} else if r.Allowed {
						okRequests.Add(1)
					}
					return
				}
				r, err := st.KeyUses.Reserve(ctx, "rich", at, state.KeyUse{Micros: 90, Caps: state.SpendAmounts{Total: 1000}})
				if err != nil {
					t.Error(err)
				} else if r.Allowed {
					okSpend.Add(1)
				}
			})
		}
		wg.Wait()
		if okRequests.Load() != 12 {
			t.Errorf("%d of %d requests admitted in a window of 12", okRequests.Load(), n/2)
		}
		// Each reservation sees the spend below the cap: 12 fit (11 × 90 = 990 < 1000, 12 × 90 = 1080).
		if got := spent(t, st, "rich", at); okSpend.Load() != 12 || got.TotalMicros != 12*90 {
			t.Errorf("%d reservations admitted, total %d; want 12 and %d", okSpend.Load(), got.TotalMicros, 12*90)
		}
	})

	t.Run("a reservation records a sight and says whether its slot held it", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		// Two fingerprints of one slot, and one of another.
		a, b, other := "fp-a", "", ""
		for i := 0; b == "" || other == ""; i++ {
			fp := fmt.Sprintf("fp-%d", i)
			if state.SightSlot(fp) == state.SightSlot(a) {
				if b == "" && fp != a {
					b = fp
				}
			} else if other == "" {
				other = fp
			}
		}
		sight := func(key, fp string, at time.Time) state.SightResult {
			t.Helper()
			u := use(100, 1)
			u.Sight = fp
			r := reserve(t, st, key, at, u)
			if !r.Allowed {
				t.Fatalf("refused: %+v", r)
			}
			return r.Sight
		}
		steps := []struct {
			key, fp string
			want    state.SightResult
		}{
			{"k1", a, state.SightFirst},
			{"k1", a, state.SightRepeat},
			{"k1", other, state.SightFirst}, // another slot: a stays
			{"k1", a, state.SightRepeat},
			{"k2", a, state.SightFirst}, // each key its own
			{"k1", b, state.SightFirst}, // a's slot: b replaces a
			{"k1", a, state.SightFirst},
			{"k1", other, state.SightRepeat},
		}
		for i, st := range steps {
			if got := sight(st.key, st.fp, base.Add(time.Duration(i)*time.Second)); got != st.want {
				t.Fatalf("step %d (%s, %s): sight %v, want %v", i, st.key, st.fp, got, st.want)
			}
		}
		// The sights took nothing of the windows: 8 requests, 7 of them k1's.
		if r := reserve(t, st, "k1", base.Add(10*time.Second), use(100, 0)); r.Windows[0].Count != 8 || r.Sight != state.SightUnknown {
			t.Fatalf("after the sights: %+v, want a count of 8 and no sight asked", r)
		}
		// A refusal (by the store's condition: the window is full) and a
		// check that takes nothing record nothing.
		if r := reserve(t, st, "k3", base, state.KeyUse{Windows: []state.WindowUse{{Window: hour, N: 1, Limit: 1}}}); !r.Allowed {
			t.Fatalf("filling the window: %+v", r)
		}
		full := state.KeyUse{Windows: []state.WindowUse{{Window: hour, N: 1, Limit: 1}}, Sight: "fp-refused"}
		if r := reserve(t, st, "k3", base, full); r.Allowed || r.Sight != state.SightUnknown {
			t.Fatalf("refused reservation: %+v", r)
		}
		check := state.KeyUse{Windows: []state.WindowUse{{Window: hour, N: 0, Limit: 5}}, Sight: "fp-refused"}
		if r := reserve(t, st, "k3", base, check); !r.Allowed || r.Sight != state.SightUnknown {
			t.Fatalf("check-only reservation: %+v", r)
		}
		if got := sight("k3", "fp-refused", base.Add(time.Second)); got != state.SightFirst {
			t.Fatalf("after a refusal and a check: %v, want first (neither recorded it)", got)
		}
	})
}
