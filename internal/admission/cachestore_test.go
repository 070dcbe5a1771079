package admission_test

import (
	"context"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/memory"
)

// countingCache counts the entries written to the shared cache.
type countingCache struct {
	state.Cache
	puts int
}

func (c *countingCache) Put(ctx context.Context, key string, e *state.CacheEntry, ttl time.Duration) error {
	c.puts++
	return c.Cache.Put(ctx, key, e, ttl)
}

// With CacheStoreRepeat, a key's first answer to a question stays in the
// instance's memory for the entry's whole life (not the minute a copy of a
// shared entry gets), and the key's second ask elsewhere writes it shared.
func TestStoreRepeatKeepsTheFirstAnswerInProcessAndSharesTheSecond(t *testing.T) {
	for name, newStore := range bothStores() {
		t.Run(name, func(t *testing.T) {
			st := newStore(t)
			shared := &countingCache{Cache: st.Cache}
			st.Cache = shared
			at := time.Now()
			now := func() time.Time { return at }
			set := admission.Settings{AuthEnabled: true, CacheEnabled: true, CacheTTL: time.Hour, CacheStoreRepeat: true}
			instance := func() *admission.Admitter {
				return admission.New(set, admission.Options{Store: st, LocalCache: memory.NewCache(now, 100, 1<<20), Now: now})
			}
			key := &state.Key{ID: "k-" + name, Enabled: true, Limits: state.KeyLimits{RequestsPerHour: 100}}
			ctx := context.Background()
			ask := func(a *admission.Admitter, want admission.CacheMode) {
				t.Helper()
				tk, err := a.Admit(ctx, admission.Request{Key: key, Endpoint: admission.Chat, Model: "m", Plan: &router.Plan{Route: "m"},
					Body: []byte(`{"model":"m","messages":[{"role":"user","content":"same"}]}`)})
				if err != nil {
					t.Fatal(err)
				}
				if tk.CacheMode() != want {
					t.Fatalf("cache %v, want %v", tk.CacheMode(), want)
				}
				tk.Settle(ctx, &state.CacheEntry{Body: []byte(`{"answer":1}`), ContentType: "application/json", Created: at})
			}
			first := instance()
			ask(first, admission.CacheMiss)
			if shared.puts != 0 {
				t.Fatalf("the first ask wrote %d shared entries", shared.puts)
			}
			at = at.Add(30 * time.Minute)
			ask(first, admission.CacheHit) // from memory, half an hour on
			ask(instance(), admission.CacheMiss)
			if shared.puts != 1 {
				t.Fatalf("the second ask elsewhere wrote %d shared entries, want 1", shared.puts)
			}
			ask(instance(), admission.CacheHit)
		})
	}
}

// A request that marks prompt cache breakpoints reserves its prompt at the
// dearest cache-write price (settling may charge that much), so fewer such
// requests fit under a budget at once than plain ones.
func TestABudgetReservesTheCacheWriteSurchargeOfARequestWithBreakpoints(t *testing.T) {
	for _, tc := range []struct {
		cacheWrites bool
		want        int
	}{{false, 4}, {true, 2}} {
		// claude-sonnet-4-5: $3 per million input, $6 per million written
		// for an hour. 100,000 prompt tokens reserve $0.30, or $0.60.
		a := admission.New(admission.Settings{AuthEnabled: true, DefaultMaxOutputTokens: 1},
			admission.Options{Store: memory.New(nil), Prices: pricing.Default()})
		key := &state.Key{ID: "k", Enabled: true, Budget: state.Budget{DailyUSD: 1}}
		admitted := 0
		for range 10 {
			_, err := a.Admit(context.Background(), admission.Request{Key: key, Endpoint: admission.Chat, Model: "claude-sonnet-4-5",
				Plan:         &router.Plan{Route: "claude-sonnet-4-5", Targets: []*router.Target{{Model: "claude-sonnet-4-5"}}},
				PromptTokens: 100_000, MaxOutputTokens: 1, CacheWrites: tc.cacheWrites})
			if err != nil {
				break
			}
			admitted++ // never settled: each holds its reservation
		}
		if admitted != tc.want {
			t.Errorf("cache writes %v: %d reservations under $1 before the refusal, want %d", tc.cacheWrites, admitted, tc.want)
		}
	}
}
