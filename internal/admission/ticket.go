package admission

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
)

// Ticket is an admitted request: what it reserved, what the cache said, and,
// once the answer is in, what it used and cost. Wrap every upstream attempt
// with it, Charge the answer's usage, and Settle it once.
type Ticket struct {
	a        *Admitter
	key      *state.Key
	estimate int64
	reserved []reservation // the key's windows
	held     []reservation // the target windows of the attempt that answered
	cached   *state.CacheEntry
	cacheKey string
	cacheTTL time.Duration
	mode     CacheMode
	// localOnly keeps a miss's answer in the in-process cache only: its key
	// had not asked it before (state.SightFirst).
	localOnly bool
	header    http.Header

	at            time.Time          // when the reservation was made
	useID         string             // the key-use item (or shard) that took it
	spendReserved state.SpendAmounts // the estimated cost added to each capped budget period

	usage   openai.Usage
	micros  int64
	priced  bool
	settled sync.Once
}

// Key is the caller's key (nil when authentication is off).
func (t *Ticket) Key() *state.Key { return t.key }

// Cached is the cached answer on a hit, else nil.
func (t *Ticket) Cached() *state.CacheEntry { return t.cached }

// CacheMode reports what the cache did.
func (t *Ticket) CacheMode() CacheMode { return t.mode }

// Header holds the headers admission wants on the response: x-ratelimit-*
// and x-gateway-cache.
func (t *Ticket) Header() http.Header { return t.header }

func (t *Ticket) setCacheHeader() {
	if m := t.mode.String(); m != "" {
		t.header.Set("X-Gateway-Cache", m)
	}
}

// refusal attaches the ticket's headers to an admission refusal.
func (t *Ticket) refusal(e *openai.Error) *openai.Error {
	t.setCacheHeader()
	e.Header = t.header
	return e
}

// Wrap applies the target's own rate limits around one upstream attempt: a
// target whose limit is spent is skipped; the reservations of the attempt that
// answered are kept for settlement, the tokens of failed attempts refunded.
func (t *Ticket) Wrap(fn router.Attempt) router.Attempt {
	return func(ctx context.Context, tg *router.Target) error {
		rs, err := t.a.takeTarget(ctx, tg, t.estimate)
		if err != nil {
			return err
		}
		if err := fn(ctx, tg); err != nil {
			t.a.refund(ctx, tokensOnly(rs))
			return err
		}
		t.held = rs
		return nil
	}
}

// Charge prices the usage of the model that answered and records it for
// Settle. It returns the cost in US dollars and whether the model has a
// price (an unpriced answer costs 0 and is counted).
func (t *Ticket) Charge(model string, u openai.Usage) (usd float64, priced bool) {
	usd, ok := t.a.prices.Cost(model, u)
	if !ok {
		t.a.count.unpriced.Add(1)
		usd = 0
	}
	t.usage, t.micros, t.priced = u, pricing.Micros(usd), ok
	return usd, ok
}

// Settle runs once after the response, or after the request failed:
// token reservations and the budget reservation are corrected to the charged
// usage and cost (zero when nothing was charged, which gives them back), and
// entry, a complete answer, is stored in the cache on a miss. Failures are logged and counted, never returned:
// the client already has its answer.
func (t *Ticket) Settle(ctx context.Context, entry *state.CacheEntry) {
	t.settled.Do(func() { t.settle(context.WithoutCancel(ctx), entry) })
}

func (t *Ticket) settle(ctx context.Context, entry *state.CacheEntry) {
	a := t.a
	var wg sync.WaitGroup
	actual := int64(t.usage.PromptTokens + t.usage.CompletionTokens)
	// The key's windows and spend: one write.
	var deltas []state.WindowDelta
	for _, r := range t.reserved {
		if r.kind == Tokens && actual != r.n {
			deltas = append(deltas, state.WindowDelta{Window: r.w, Delta: actual - r.n})
		}
	}
	r := t.spendReserved
	d := state.SpendAmounts{Total: t.micros - r.Total, Day: t.micros - r.Day, Month: t.micros - r.Month}
	if t.key != nil && (len(deltas) > 0 || d != (state.SpendAmounts{})) {
		id := t.useID
		if id == "" { // nothing reserved (failed open): the spend goes to the key, or its first shard
			id = useID(t.key, 0)
		}
		wg.Go(func() {
			if err := a.store.KeyUses.Settle(ctx, id, t.at, deltas, d); err != nil {
				a.count.spendErrors.Add(1)
				a.log.Warn("spend update failed", "error", err.Error())
			}
		})
	}
	// The target windows of the attempt that answered.
	for _, r := range t.held {
		if r.kind != Tokens || actual == r.n {
			continue
		}
		wg.Go(func() {
			if err := a.store.Limits.Adjust(ctx, r.w, r.at, actual-r.n); err != nil {
				a.count.limitErrors.Add(1)
			}
		})
	}
	if entry != nil && t.mode == CacheMiss {
		put := a.tieredPut
		if t.localOnly {
			// A key's first ask keeps its answer in-process only, for the
			// entry's life; one the in-process cache refuses (too large) is
			// shared anyway.
			if a.lru.Put(ctx, t.cacheKey, entry, t.cacheTTL) == nil {
				put = nil
			} else {
				put = a.store.Cache.Put
			}
		}
		if put != nil {
			wg.Go(func() {
				if err := put(ctx, t.cacheKey, entry, t.cacheTTL); err != nil {
					a.count.cacheErrors.Add(1)
					a.log.Warn("cache store failed", "error", err.Error())
				}
			})
		}
	}
	wg.Wait()
}
