package admission_test

import (
	"context"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/admission"
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
