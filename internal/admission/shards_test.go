package admission_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/memory"
	"github.com/aigateway/gateway/internal/testutil"
)

// TestAShardedKeyAdmitsExactlyItsLimit: a key whose windows are split over 4
// shards (5 requests an hour each) admits exactly 20 of 60 concurrent
// requests, on the memory store and on DynamoDB Local: a request is refused
// only after every shard refused it, and a full shard stays full. Its
// refusal shows the key's limit, not a shard's, and no remaining count.
func TestAShardedKeyAdmitsExactlyItsLimit(t *testing.T) {
	stores := map[string]func(t *testing.T) *state.Store{
		"memory": func(*testing.T) *state.Store { return memory.New(nil) },
		"dynamodb": func(t *testing.T) *state.Store {
			c := testutil.DynamoClient(t, testutil.DynamoEndpoint(t))
			return dynamo.New(c, testutil.NewTable(t, c, "gw-shards"))
		},
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			st := newStore(t)
			// One moment for every request: a burst across the top of an hour
			// would meet two windows.
			at := time.Now().Truncate(time.Hour).Add(30 * time.Minute)
			a := admission.New(admission.Settings{AuthEnabled: true}, admission.Options{Store: st, Now: func() time.Time { return at }})
			key := &state.Key{ID: "k1", Enabled: true, Limits: state.KeyLimits{RequestsPerHour: 20, Shards: 4}}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			admit := func() (*admission.Ticket, error) {
				return a.Admit(ctx, admission.Request{Key: key, Endpoint: admission.Chat, Model: "m", Plan: &router.Plan{Route: "m"}})
			}
			var admitted atomic.Int64
			var wg sync.WaitGroup
			for range 60 {
				wg.Go(func() {
					tk, err := admit()
					var oe *openai.Error
					switch {
					case err == nil:
						admitted.Add(1)
						tk.Settle(ctx, nil)
					case !errors.As(err, &oe) || oe.HTTPStatus() != http.StatusTooManyRequests:
						t.Errorf("refusal %v, want a 429", err)
					}
				})
			}
			wg.Wait()
			// A reservation whose answer DynamoDB Local lost on a busy machine
			// is admitted uncounted (fail open, counted): each such one may
			// admit one more; with none, exactly the key's 20.
			if fo := a.Counters().FailOpen; admitted.Load() < 20 || admitted.Load() > 20+fo {
				t.Fatalf("%d of 60 admitted with %d fail-opens, want 20..%d", admitted.Load(), fo, 20+fo)
			}
			fo := a.Counters().FailOpen
			_, err := admit()
			var oe *openai.Error
			switch {
			case err == nil && a.Counters().FailOpen > fo:
				// admitted uncounted: the store lost the answer (see above)
			case !errors.As(err, &oe) || oe.Header.Get("X-Ratelimit-Limit-Requests") != "20" || oe.Header.Get("X-Ratelimit-Remaining-Requests") != "":
				t.Fatalf("the 61st: %v, %+v", err, oe)
			}
			// Spend is summed over the shards.
			now := time.Now()
			for _, id := range []string{"k1#0", "k1#3"} {
				if err := st.Spend.Add(ctx, id, now, 250); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := a.Spent(ctx, key, now); err != nil || got.TotalMicros != 500 {
				t.Fatalf("Spent = %+v, %v; want 500 in all", got, err)
			}
		})
	}
}

// countingUses counts the reservations that reach the store.
type countingUses struct {
	state.KeyUses
	n atomic.Int64
}

func (c *countingUses) Reserve(ctx context.Context, id string, now time.Time, u state.KeyUse) (state.KeyUseResult, error) {
	c.n.Add(1)
	return c.KeyUses.Reserve(ctx, id, now, u)
}

// A key, or a sharded key, whose request window is full is refused without
// a write each time (a refused conditional write costs a write unit): once a
// refusal showed the key or a shard full, it is skipped until its window
// ends; the refusal is still the rate limit's 429.
func TestAFullShardIsNotWrittenToAgainUntilItsWindowEnds(t *testing.T) {
	for _, shards := range []int64{0, 4} {
		st := memory.New(nil)
		uses := &countingUses{KeyUses: st.KeyUses}
		st.KeyUses = uses
		at := time.Now().Truncate(time.Minute).Add(10 * time.Second)
		a := admission.New(admission.Settings{AuthEnabled: true}, admission.Options{Store: st, Now: func() time.Time { return at }})
		key := &state.Key{ID: "k", Enabled: true, Limits: state.KeyLimits{RequestsPerMinute: 4, Shards: shards}}
		ctx := context.Background()
		admit := func() error {
			tk, err := a.Admit(ctx, admission.Request{Key: key, Endpoint: admission.Chat, Model: "m", Plan: &router.Plan{Route: "m"}})
			if err == nil {
				tk.Settle(ctx, nil)
			}
			return err
		}
		for i := range 4 {
			if err := admit(); err != nil {
				t.Fatalf("shards %d: request %d of 4: %v", shards, i+1, err)
			}
		}
		before := uses.n.Load()
		for i := range 3 {
			err := admit()
			var oe *openai.Error
			if !errors.As(err, &oe) || oe.HTTPStatus() != http.StatusTooManyRequests || oe.Code != openai.CodeRateLimited {
				t.Fatalf("shards %d: refusal %d: %v, want the rate limit's 429", shards, i+1, err)
			}
		}
		// The first refusal learns which shards are full (a write each, at
		// most); the next two write nothing.
		if n, most := uses.n.Load()-before, max(shards, 1); n > most {
			t.Errorf("shards %d: three refusals made %d reservations, want at most %d", shards, n, most)
		}
		at = at.Add(time.Minute) // the next window
		if err := admit(); err != nil {
			t.Errorf("shards %d: in the next minute: %v", shards, err)
		}
	}
}
