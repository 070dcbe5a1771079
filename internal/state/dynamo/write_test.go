package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/dynamo/fakedynamo"
)

// The retry rules of counter writes, against a loopback fake that refuses,
// throttles, resets and fails on cue (no DynamoDB Local needed).
func TestCounterWritesRetryOnlyWhatProvablyDidNotApply(t *testing.T) {
	w := state.Window{Name: "key:k:rph", Size: time.Hour}
	for _, tc := range []struct {
		name     string
		script   []fakedynamo.Fault
		wantErr  error // nil: allowed
		requests int64 // requests that reached the fake
		applied  int64
	}{
		{"refused, then answered", []fakedynamo.Fault{fakedynamo.Refuse, fakedynamo.Refuse}, nil, 1, 1},
		{"throttled, then answered", []fakedynamo.Fault{fakedynamo.Throttle, fakedynamo.Throttle}, nil, 3, 1},
		{"refused and throttled, then answered", []fakedynamo.Fault{fakedynamo.Refuse, fakedynamo.Throttle, fakedynamo.Refuse}, nil, 2, 1},
		{"throttled five times, answered on the sixth attempt", repeat(fakedynamo.Throttle, 5), nil, 6, 1},
		{"throttled six times: given up, nothing applied", repeat(fakedynamo.Throttle, 6), dynamo.ErrNotApplied, 6, 0},
		{"reset after the request was sent (not applied)", []fakedynamo.Fault{fakedynamo.ResetUnapplied}, dynamo.ErrOutcomeUnknown, 1, 0},
		{"reset after the request was sent (applied)", []fakedynamo.Fault{fakedynamo.ResetApplied}, dynamo.ErrOutcomeUnknown, 1, 1},
		{"500 (may have applied)", []fakedynamo.Fault{fakedynamo.InternalError}, dynamo.ErrOutcomeUnknown, 1, 0},
		{"refused, then reset", []fakedynamo.Fault{fakedynamo.Refuse, fakedynamo.ResetUnapplied}, dynamo.ErrOutcomeUnknown, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakedynamo.New(t, tc.script...)
			st := dynamo.New(fake.Client(), "t")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := st.Limits.Take(ctx, w, time.Now(), 1, 100)
			switch {
			case tc.wantErr == nil && (err != nil || !res.Allowed || res.Count != 1):
				t.Errorf("Take = %+v, %v; want allowed with count 1", res, err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("Take error = %v, want %v", err, tc.wantErr)
			}
			if fake.Requests() != tc.requests || fake.Applied() != tc.applied {
				t.Errorf("%d requests reached the fake, %d applied; want %d and %d", fake.Requests(), fake.Applied(), tc.requests, tc.applied)
			}
			if want := int64(len(tc.script) + 1); tc.wantErr == nil && fake.Dials() != want {
				t.Errorf("%d connection attempts, want %d", fake.Dials(), want)
			}
		})
	}
}

func repeat(f fakedynamo.Fault, n int) []fakedynamo.Fault {
	s := make([]fakedynamo.Fault, n)
	for i := range s {
		s[i] = f
	}
	return s
}

func TestCounterWritesGiveUpWithinTheirBudget(t *testing.T) {
	script := repeat(fakedynamo.Refuse, 50)
	fake := fakedynamo.New(t, script...)
	st := dynamo.New(fake.Client(), "t")
	start := time.Now()
	_, err := st.Limits.Take(context.Background(), state.Window{Name: "w", Size: time.Minute}, time.Now(), 1, 10)
	if !errors.Is(err, dynamo.ErrNotApplied) {
		t.Fatalf("Take error = %v, want ErrNotApplied", err)
	}
	// 6 attempts and at most 1.15s of backoff; a starved machine stops
	// earlier on the 1.5s budget, never later than budget plus one backoff.
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("gave up after %s", took)
	}
	if d := fake.Dials(); d < 2 || d > 6 {
		t.Errorf("%d connection attempts, want 2..6", d)
	}

	// The caller's deadline stops the retries too.
	fake = fakedynamo.New(t, script...)
	st = dynamo.New(fake.Client(), "t")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	if _, err := st.Limits.Take(ctx, state.Window{Name: "w", Size: time.Minute}, time.Now(), 1, 10); !errors.Is(err, dynamo.ErrNotApplied) {
		t.Fatalf("Take error = %v, want ErrNotApplied", err)
	}
	// Backoffs of 25..50 and 50..100 ms fit in 120 ms, the next does not.
	if d := fake.Dials(); d > 3 {
		t.Errorf("%d connection attempts with a 120ms deadline, want at most 3", d)
	}
}

func TestCounterWritesAreNotRetriedOnARefusal(t *testing.T) {
	fake := fakedynamo.New(t)
	st := dynamo.New(fake.Client(), "t")
	ctx := context.Background()
	w := state.Window{Name: "w", Size: time.Minute}
	if _, err := st.Limits.Take(ctx, w, time.Now(), 1, 1); err != nil {
		t.Fatal(err)
	}
	res, err := st.Limits.Take(ctx, w, time.Now(), 1, 1)
	if err != nil || res.Allowed || res.Count != 1 {
		t.Fatalf("Take over the limit = %+v, %v; want refused with count 1", res, err)
	}
	if fake.Requests() != 2 || fake.Applied() != 1 {
		t.Fatalf("%d requests, %d applied; want 2 and 1", fake.Requests(), fake.Applied())
	}
}

func TestAdjustAndSpendRetryLikeTake(t *testing.T) {
	fake := fakedynamo.New(t, fakedynamo.Refuse, fakedynamo.Throttle)
	st := dynamo.New(fake.Client(), "t", dynamo.WithClock(time.Now))
	ctx := context.Background()
	w := state.Window{Name: "w", Size: time.Minute}
	if err := st.Limits.Adjust(ctx, w, time.Now(), 5); err != nil {
		t.Fatal(err)
	}
	if fake.Applied() != 1 || fake.Count("", "") != 5 {
		t.Fatalf("Adjust: %d applied, count %d; want 1 and 5", fake.Applied(), fake.Count("", ""))
	}

	// Spend.Add is one write of the total, the day and the month (7 each).
	fake = fakedynamo.New(t, fakedynamo.Refuse, fakedynamo.Throttle, fakedynamo.Refuse)
	st = dynamo.New(fake.Client(), "t")
	if err := st.Spend.Add(ctx, "k", time.Now(), 7); err != nil {
		t.Fatal(err)
	}
	if fake.Applied() != 1 || fake.Count("", "") != 21 {
		t.Fatalf("Spend.Add: %d applied, total %d; want 1 and 21", fake.Applied(), fake.Count("", ""))
	}
}
