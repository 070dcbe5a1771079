package memory

import (
	"context"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

// Spend is an in-memory state.Spend: per key a total and one counter per UTC
// day and UTC month. Day and month counters expire (see DayExpiry, MonthExpiry)
// and read as zero afterwards, like their DynamoDB items.
type Spend struct {
	now func() time.Time

	mu        sync.Mutex
	keys      map[string]*keySpend
	lastSweep time.Time
}

type keySpend struct {
	total  int64
	days   map[string]int64 // "2026-11-25"
	months map[string]int64 // "2026-11"
}

// NewSpend returns an empty spend store; now (nil: time.Now) decides expiry.
func NewSpend(now func() time.Time) *Spend {
	if now == nil {
		now = time.Now
	}
	return &Spend{now: now, keys: map[string]*keySpend{}}
}

var _ state.Spend = (*Spend)(nil)

// Day and month periods: UTC, formatted as in the DynamoDB sort keys.
const (
	DayLayout   = "2006-01-02"
	MonthLayout = "2006-01"
)

// DayExpiry is when a day's spend counter is forgotten: 35 days after the UTC
// day ends. state/dynamo uses the same rule for the item's ttl.
func DayExpiry(day time.Time) time.Time {
	y, m, d := day.UTC().Date()
	return time.Date(y, m, d+1+35, 0, 0, 0, 0, time.UTC)
}

// MonthExpiry is when a month's spend counter is forgotten: 400 days after the
// UTC month ends.
func MonthExpiry(month time.Time) time.Time {
	y, m, _ := month.UTC().Date()
	return time.Date(y, m+1, 1+400, 0, 0, 0, 0, time.UTC)
}

// Add implements state.Spend.
func (s *Spend) Add(ctx context.Context, keyID string, at time.Time, micros int64) error {
	return s.adjust(ctx, keyID, at, state.SpendAmounts{Total: micros, Day: micros, Month: micros})
}

// Get implements state.Spend.
func (s *Spend) Get(_ context.Context, keyID string, at time.Time) (state.SpendTotals, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.keys[keyID]
	if ks == nil {
		return state.SpendTotals{}, nil
	}
	now := s.now()
	t := state.SpendTotals{TotalMicros: ks.total}
	if now.Before(DayExpiry(at)) {
		t.DayMicros = ks.days[at.UTC().Format(DayLayout)]
	}
	if now.Before(MonthExpiry(at)) {
		t.MonthMicros = ks.months[at.UTC().Format(MonthLayout)]
	}
	return t, nil
}

// sweep drops expired day and month counters, at most once a minute; s.mu must be held.
func (s *Spend) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < sweepEvery {
		return
	}
	s.lastSweep = now
	for _, ks := range s.keys {
		for d := range ks.days {
			if t, err := time.Parse(DayLayout, d); err == nil && !now.Before(DayExpiry(t)) {
				delete(ks.days, d)
			}
		}
		for m := range ks.months {
			if t, err := time.Parse(MonthLayout, m); err == nil && !now.Before(MonthExpiry(t)) {
				delete(ks.months, m)
			}
		}
	}
}

// overBudget names the first capped period (total, daily, monthly) whose
// spend at at has reached its cap, or, with whole > 0, could not take whole
// more within it; or "".
func (s *Spend) overBudget(keyID string, at time.Time, caps state.SpendAmounts, whole int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.keys[keyID]
	if ks == nil {
		ks = &keySpend{} // nothing spent yet (the maps read as zero)
	}
	now := s.now()
	day, month := at.UTC().Format(DayLayout), at.UTC().Format(MonthLayout)
	switch {
	case state.OverCap(ks.total, caps.Total, whole):
		return "total"
	case now.Before(DayExpiry(at)) && state.OverCap(ks.days[day], caps.Day, whole):
		return "daily"
	case now.Before(MonthExpiry(at)) && state.OverCap(ks.months[month], caps.Month, whole):
		return "monthly"
	}
	return ""
}

// adjust adds each amount to its period. A period already expired is not
// stored: it would read as zero anyway.
func (s *Spend) adjust(_ context.Context, keyID string, at time.Time, d state.SpendAmounts) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	ks := s.keySpend(keyID)
	ks.total += d.Total
	if d.Day != 0 && now.Before(DayExpiry(at)) {
		ks.days[at.UTC().Format(DayLayout)] += d.Day
	}
	if d.Month != 0 && now.Before(MonthExpiry(at)) {
		ks.months[at.UTC().Format(MonthLayout)] += d.Month
	}
	return nil
}

// keySpend is keyID's counters, created when absent; s.mu must be held.
func (s *Spend) keySpend(keyID string) *keySpend {
	ks := s.keys[keyID]
	if ks == nil {
		ks = &keySpend{days: map[string]int64{}, months: map[string]int64{}}
		s.keys[keyID] = ks
	}
	return ks
}
