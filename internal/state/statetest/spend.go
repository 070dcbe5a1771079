package statetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func (s *suite) spend(t *testing.T) {
	ctx := context.Background()
	// The last second of a year in the future, and the first of the next.
	year := time.Now().UTC().Year() + 1
	newYearsEve := time.Date(year, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
	newYear := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)

	get := func(t *testing.T, sp state.Spend, keyID string, at time.Time) state.SpendTotals {
		t.Helper()
		got, err := sp.Get(ctx, keyID, at)
		if err != nil {
			t.Fatalf("Get(%s, %v): %v", keyID, at, err)
		}
		return got
	}
	add := func(t *testing.T, sp state.Spend, keyID string, at time.Time, micros int64) {
		t.Helper()
		if err := sp.Add(ctx, keyID, at, micros); err != nil {
			t.Fatalf("Add(%s, %v, %d): %v", keyID, at, micros, err)
		}
	}

	t.Run("an unknown key has spent nothing", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		if got := get(t, st.Spend, "nobody", newYear); got != (state.SpendTotals{}) {
			t.Fatalf("Get = %+v, want zeros", got)
		}
	})

	t.Run("add counts toward the total, the day and the month", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		at := time.Date(year, 6, 15, 12, 0, 0, 0, time.UTC)
		add(t, st.Spend, "k1", at, 1_500_000)
		add(t, st.Spend, "k1", at.Add(time.Hour), 250)
		want := state.SpendTotals{TotalMicros: 1_500_250, DayMicros: 1_500_250, MonthMicros: 1_500_250}
		if got := get(t, st.Spend, "k1", at.Add(11*time.Hour)); got != want {
			t.Fatalf("Get same day = %+v, want %+v", got, want)
		}
		want.DayMicros = 0
		if got := get(t, st.Spend, "k1", at.Add(24*time.Hour)); got != want {
			t.Fatalf("Get next day = %+v, want %+v", got, want)
		}
		want.MonthMicros = 0
		if got := get(t, st.Spend, "k1", at.AddDate(0, 1, 0)); got != want {
			t.Fatalf("Get next month = %+v, want %+v", got, want)
		}
		if got := get(t, st.Spend, "k2", at); got != (state.SpendTotals{}) {
			t.Fatalf("another key = %+v, want zeros", got)
		}
	})

	t.Run("days and months follow UTC boundaries", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		add(t, st.Spend, "k1", newYearsEve, 1)
		add(t, st.Spend, "k1", newYear, 20)
		// 01:00 on Jan 1 at UTC+2 is still Dec 31 in UTC.
		east := time.FixedZone("UTC+2", 2*3600)
		add(t, st.Spend, "k1", time.Date(year+1, 1, 1, 1, 0, 0, 0, east), 300)
		// 20:00 on Dec 31 at UTC-5 is already Jan 1 in UTC.
		west := time.FixedZone("UTC-5", -5*3600)
		add(t, st.Spend, "k1", time.Date(year, 12, 31, 20, 0, 0, 0, west), 4000)

		if got, want := get(t, st.Spend, "k1", newYearsEve), (state.SpendTotals{TotalMicros: 4321, DayMicros: 301, MonthMicros: 301}); got != want {
			t.Fatalf("Get on Dec 31 = %+v, want %+v", got, want)
		}
		if got, want := get(t, st.Spend, "k1", newYear), (state.SpendTotals{TotalMicros: 4321, DayMicros: 4020, MonthMicros: 4020}); got != want {
			t.Fatalf("Get on Jan 1 = %+v, want %+v", got, want)
		}
		// Get's at is read in UTC too.
		if got, want := get(t, st.Spend, "k1", time.Date(year+1, 1, 1, 0, 30, 0, 0, east)), (state.SpendTotals{TotalMicros: 4321, DayMicros: 301, MonthMicros: 301}); got != want {
			t.Fatalf("Get at 00:30 UTC+2 on Jan 1 = %+v, want Dec 31's %+v", got, want)
		}
		if got, want := get(t, st.Spend, "k1", time.Date(year+1, 1, 31, 12, 0, 0, 0, time.UTC)), (state.SpendTotals{TotalMicros: 4321, DayMicros: 0, MonthMicros: 4020}); got != want {
			t.Fatalf("Get on Jan 31 = %+v, want %+v", got, want)
		}
	})

	t.Run("a day long past reads as zero but stays in the total and the month", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		old := s.clock.Now().UTC().AddDate(0, 0, -100)
		add(t, st.Spend, "k1", old, 70)
		add(t, st.Spend, "k1", s.clock.Now(), 5)
		if got, want := get(t, st.Spend, "k1", old), (state.SpendTotals{TotalMicros: 75, DayMicros: 0, MonthMicros: 70}); got != want {
			t.Fatalf("Get of a day 100 days ago = %+v, want %+v", got, want)
		}
	})

	t.Run("negative amounts (refunds) subtract", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		at := time.Date(year, 3, 1, 0, 0, 0, 0, time.UTC)
		add(t, st.Spend, "k1", at, 100)
		add(t, st.Spend, "k1", at, -30)
		if got, want := get(t, st.Spend, "k1", at), (state.SpendTotals{TotalMicros: 70, DayMicros: 70, MonthMicros: 70}); got != want {
			t.Fatalf("Get = %+v, want %+v", got, want)
		}
	})

	t.Run("concurrent adds sum exactly", func(t *testing.T) {
		t.Parallel()
		st := s.newStore(t)
		at := time.Date(year, 8, 8, 8, 8, 8, 0, time.UTC)
		const workers, each, micros = 32, 5, 1234
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					if err := st.Spend.Add(ctx, "hot", at, micros); err != nil {
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
		sum := int64(workers * each * micros)
		if got, want := get(t, st.Spend, "hot", at), (state.SpendTotals{TotalMicros: sum, DayMicros: sum, MonthMicros: sum}); got != want {
			t.Fatalf("Get = %+v, want %+v", got, want)
		}
	})
}
