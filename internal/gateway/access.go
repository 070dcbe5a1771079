package gateway

import (
	"context"
	"errors"
	"fmt"

	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aigateway/gateway/internal/auth"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
)

// keyCache trusts looked-up keys in-process for a short time, so a warm
// instance authenticates without a store round trip.
type keyCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]keyCacheEntry
}

type keyCacheEntry struct {
	key *state.Key
	at  time.Time
}

func (c *keyCache) get(id string, now time.Time) *state.Key {
	if c.ttl <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Sub(e.at) > c.ttl {
		return nil
	}
	return e.key
}

func (c *keyCache) put(id string, k *state.Key, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 100_000 {
		clear(c.m)
	}
	c.m[id] = keyCacheEntry{key: k, at: now}
}

// forget drops a key everywhere it may be cached (admin disable/delete).
func (c *keyCache) forget(k *state.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, "h:"+k.Hash)
	delete(c.m, "i:"+k.ID)
}

// counters the gateway reports about its state layer.
type stateCounters struct {
	limitErrors atomic.Int64 // limit store failures (fail open or closed)
	cacheErrors atomic.Int64
	spendErrors atomic.Int64
	unpriced    atomic.Int64 // requests whose model has no price
}

// authenticate returns the caller's key (nil when auth is off). It fails
// closed: a key that cannot be checked is a 503, never a pass.
func (g *Gateway) authenticate(r *http.Request) (*state.Key, error) {
	if !g.cfg.Auth.Enabled {
		return nil, nil
	}
	cred := auth.Credential(r.Header)
	if cred == "" {
		return nil, &openai.Error{Code: openai.CodeUnauthorized,
			Message: "Missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`"}
	}
	now := g.now()
	var (
		k   *state.Key
		err error
	)
	if auth.LooksLikeJWT(cred) && g.jwt != nil {
		id, verr := g.jwt.Verify(cred)
		if verr != nil {
			return nil, &openai.Error{Code: openai.CodeUnauthorized, Message: "Invalid or expired token"}
		}
		if k = g.keys.get("i:"+id, now); k == nil {
			k, err = g.store.Keys.ByID(r.Context(), id)
			if err == nil {
				g.keys.put("i:"+id, k, now)
			}
		}
	} else {
		h := auth.Hash(cred)
		if k = g.keys.get("h:"+h, now); k == nil {
			k, err = g.store.Keys.ByHash(r.Context(), h)
			if err == nil {
				g.keys.put("h:"+h, k, now)
			}
		}
	}
	switch {
	case errors.Is(err, state.ErrNotFound):
		return nil, &openai.Error{Code: openai.CodeUnauthorized, Message: "Incorrect API key provided"}
	case err != nil:
		g.log.Error("key lookup failed", "error", err.Error())
		return nil, &openai.Error{Code: openai.CodeUnavailable, Message: "the gateway cannot check API keys right now; try again shortly"}
	case !k.Enabled:
		return nil, &openai.Error{Code: openai.CodeUnauthorized, Message: "This API key has been disabled"}
	case k.Expired(now):
		return nil, &openai.Error{Code: openai.CodeUnauthorized, Message: "This API key has expired"}
	}
	return k, nil
}

// allowed checks a key's model and provider allow-lists against a plan.
func allowed(k *state.Key, model string, plan *router.Plan) error {
	if k == nil {
		return nil
	}
	if len(k.AllowedModels) > 0 && !slices.Contains(k.AllowedModels, model) && !slices.Contains(k.AllowedModels, plan.Route) {
		return &openai.Error{Code: openai.CodeForbidden, Param: "model",
			Message: fmt.Sprintf("this API key may not use model %q", model)}
	}
	if len(k.AllowedProviders) > 0 {
		var keep []*router.Target
		for _, t := range plan.Targets {
			if slices.Contains(k.AllowedProviders, t.Provider.Name()) {
				keep = append(keep, t)
			}
		}
		if len(keep) == 0 {
			return &openai.Error{Code: openai.CodeForbidden, Message: "this API key may not use the providers that serve this model"}
		}
		plan.Targets = keep
	}
	return nil
}

// reservation is one counter increment made before the call, to be settled or refunded.
type reservation struct {
	w     state.Window
	at    time.Time
	n     int64
	limit int64
	res   state.TakeResult
	kind  string // "requests" or "tokens"
}

// admission is what the pre-call phase decided.
type admission struct {
	key       *state.Key
	reserved  []reservation
	estimate  int64 // reserved tokens
	cached    *state.CacheEntry
	cacheKey  string
	cacheTTL  time.Duration
	cacheMode string // "hit", "miss", "bypass" or "" (cache off)
	headers   http.Header
}

// admitRequest names what a request asks for.
type admitRequest struct {
	key       *state.Key
	estimate  int64 // prompt estimate + max output tokens
	cacheKey  string
	cacheTTL  time.Duration
	cacheable bool
}

// admit runs the pre-call checks in one concurrent round: per-key request and
// token limits, the budget read and the cache lookup.
func (g *Gateway) admit(ctx context.Context, r *http.Request, ar admitRequest) (*admission, error) {
	adm := &admission{key: ar.key, estimate: ar.estimate, headers: http.Header{}}
	now := g.now()
	if g.cfg.Cache.Enabled && ar.cacheable && ar.cacheTTL > 0 {
		if bypass(r) {
			adm.cacheMode = "bypass"
		} else {
			adm.cacheMode, adm.cacheKey, adm.cacheTTL = "miss", ar.cacheKey, ar.cacheTTL
		}
	}
	k := ar.key
	var wins []reservation
	if k != nil {
		if k.Limits.RequestsPerMinute > 0 {
			wins = append(wins, reservation{w: state.Window{Name: "key:" + k.ID + ":rpm", Size: time.Minute}, n: 1, limit: k.Limits.RequestsPerMinute, kind: "requests"})
		}
		if k.Limits.RequestsPerHour > 0 {
			wins = append(wins, reservation{w: state.Window{Name: "key:" + k.ID + ":rph", Size: time.Hour}, n: 1, limit: k.Limits.RequestsPerHour, kind: "requests"})
		}
		if k.Limits.TokensPerMinute > 0 {
			n := min(max(ar.estimate, 1), k.Limits.TokensPerMinute)
			wins = append(wins, reservation{w: state.Window{Name: "key:" + k.ID + ":tpm", Size: time.Minute}, n: n, limit: k.Limits.TokensPerMinute, kind: "tokens"})
		}
	}
	hasBudget := k != nil && (k.Budget.TotalUSD > 0 || k.Budget.DailyUSD > 0 || k.Budget.MonthlyUSD > 0)

	var wg sync.WaitGroup
	errs := make([]error, len(wins))
	for i := range wins {
		wins[i].at = now
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			wins[i].res, errs[i] = g.store.Limits.Take(ctx, wins[i].w, now, wins[i].n, wins[i].limit)
		}(i)
	}
	var spent state.SpendTotals
	var spendErr error
	if hasBudget {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spent, spendErr = g.store.Spend.Get(ctx, k.ID, now)
		}()
	}
	if adm.cacheMode == "miss" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := g.tieredCacheGet(ctx, adm.cacheKey)
			if err == nil {
				adm.cached = e
			} else if !errors.Is(err, state.ErrNotFound) {
				g.counters.cacheErrors.Add(1)
				g.log.Warn("cache lookup failed", "error", err.Error())
			}
		}()
	}
	wg.Wait()

	var refused *reservation
	for i := range wins {
		if errs[i] != nil {
			g.counters.limitErrors.Add(1)
			g.log.Warn("rate limit store failed", "error", errs[i].Error(), "fail_closed", g.cfg.Limits.FailClosed)
			if g.cfg.Limits.FailClosed {
				g.refund(ctx, wins)
				return nil, &openai.Error{Code: openai.CodeUnavailable, Message: "rate limits cannot be checked right now; try again shortly"}
			}
			continue
		}
		if !wins[i].res.Allowed && refused == nil {
			refused = &wins[i]
		}
	}
	for _, w := range wins {
		if !w.res.Reset.IsZero() { // a window the store answered for
			setLimitHeaders(adm.headers, w)
		}
	}
	if refused != nil {
		g.refund(ctx, wins)
		e := &openai.Error{Code: openai.CodeRateLimited, Status: http.StatusTooManyRequests,
			RetryAfter: max(time.Until(refused.res.Reset), time.Second),
			Message:    fmt.Sprintf("Rate limit reached for %s per %s: limit %d", refused.kind, windowName(refused.w.Size), refused.limit)}
		return adm, e
	}
	for i := range wins {
		if errs[i] == nil {
			adm.reserved = append(adm.reserved, wins[i])
		}
	}
	if hasBudget {
		if spendErr != nil {
			g.counters.spendErrors.Add(1)
			g.log.Warn("spend lookup failed", "error", spendErr.Error())
		} else if e := overBudget(k.Budget, spent); e != nil {
			g.refund(ctx, adm.reserved)
			adm.reserved = nil
			return adm, e
		}
	}
	if adm.cached != nil {
		adm.cacheMode = "hit"
	}
	return adm, nil
}

func bypass(r *http.Request) bool {
	v := strings.ToLower(r.Header.Get("X-Gateway-Cache"))
	return v == "bypass" || v == "no-cache" || strings.Contains(strings.ToLower(r.Header.Get("Cache-Control")), "no-cache")
}

func windowName(d time.Duration) string {
	if d >= time.Hour {
		return "hour"
	}
	return "minute"
}

// setLimitHeaders writes OpenAI's x-ratelimit-* headers for one window (the
// first window of each kind wins: the per-minute one).
func setLimitHeaders(h http.Header, w reservation) {
	if h.Get("X-Ratelimit-Limit-"+w.kind) != "" {
		return
	}
	h.Set("X-Ratelimit-Limit-"+w.kind, strconv.FormatInt(w.limit, 10))
	remaining := int64(-1)
	if w.res.Count >= 0 {
		remaining = max(w.limit-w.res.Count, 0)
	}
	if remaining >= 0 {
		h.Set("X-Ratelimit-Remaining-"+w.kind, strconv.FormatInt(remaining, 10))
	}
	reset := time.Until(w.res.Reset)
	if reset < 0 {
		reset = 0
	}
	h.Set("X-Ratelimit-Reset-"+w.kind, fmt.Sprintf("%.3fs", reset.Seconds()))
}

func overBudget(b state.Budget, s state.SpendTotals) *openai.Error {
	check := func(limit float64, micros int64, what string) *openai.Error {
		if limit > 0 && float64(micros) >= limit*1e6 {
			return &openai.Error{Code: openai.CodeRateLimited, Status: http.StatusTooManyRequests,
				Message: fmt.Sprintf("This API key has used its %s budget of $%.2f", what, limit)}
		}
		return nil
	}
	if e := check(b.TotalUSD, s.TotalMicros, "total"); e != nil {
		return e
	}
	if e := check(b.DailyUSD, s.DayMicros, "daily"); e != nil {
		return e
	}
	return check(b.MonthlyUSD, s.MonthMicros, "monthly")
}

// refund gives back reservations of a request that will not run.
func (g *Gateway) refund(ctx context.Context, rs []reservation) {
	for _, r := range rs {
		if r.res.Allowed {
			if err := g.store.Limits.Adjust(context.WithoutCancel(ctx), r.w, r.at, -r.n); err != nil {
				g.counters.limitErrors.Add(1)
			}
		}
	}
}

// takeTarget applies a target's own requests/tokens per minute. An exhausted
// target is skipped by routing like an open breaker.
func (g *Gateway) takeTarget(ctx context.Context, t *router.Target, estimate int64) ([]reservation, error) {
	lim, ok := g.targetLimits[t.Provider.Name()]
	if !ok {
		return nil, nil
	}
	now := g.now()
	var out []reservation
	for _, w := range []reservation{
		{w: state.Window{Name: "target:" + t.Key() + ":rpm", Size: time.Minute}, n: 1, limit: lim[0], kind: "requests"},
		{w: state.Window{Name: "target:" + t.Key() + ":tpm", Size: time.Minute}, n: max(estimate, 1), limit: lim[1], kind: "tokens"},
	} {
		if w.limit <= 0 {
			continue
		}
		w.n = min(w.n, w.limit)
		w.at = now
		res, err := g.store.Limits.Take(ctx, w.w, now, w.n, w.limit)
		if err != nil {
			g.counters.limitErrors.Add(1)
			if g.cfg.Limits.FailClosed {
				g.refund(ctx, out)
				return nil, skip(t, "its rate limit cannot be checked")
			}
			continue
		}
		if !res.Allowed {
			g.refund(ctx, out)
			return nil, skip(t, "its "+w.kind+" per minute limit is spent")
		}
		w.res = res
		out = append(out, w)
	}
	return out, nil
}

// skipError marks a target skipped by the gateway (router.ErrSkipTarget).
type skipError struct{ e *openai.Error }

func (s skipError) Error() string   { return s.e.Error() }
func (s skipError) Unwrap() []error { return []error{s.e, router.ErrSkipTarget} }

func skip(t *router.Target, why string) error {
	return skipError{&openai.Error{Code: openai.CodeRateLimited, Status: http.StatusTooManyRequests, Provider: t.Provider.Name(),
		Retryable: true, RetryAfter: time.Second, Message: fmt.Sprintf("target %s is unavailable: %s", t.Key(), why)}}
}

// settle runs after the response: token reservations are corrected to the
// real usage, the cost is added to the key's spend, and a complete answer is
// cached. Failures are logged and counted, never returned to the client.
func (g *Gateway) settle(ctx context.Context, adm *admission, target []reservation, usage openai.Usage, micros int64, entry *state.CacheEntry) {
	ctx = context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	actual := int64(usage.PromptTokens + usage.CompletionTokens)
	for _, r := range append(append([]reservation(nil), adm.reserved...), target...) {
		if r.kind != "tokens" || actual == r.n {
			continue
		}
		wg.Add(1)
		go func(r reservation) {
			defer wg.Done()
			if err := g.store.Limits.Adjust(ctx, r.w, r.at, actual-r.n); err != nil {
				g.counters.limitErrors.Add(1)
			}
		}(r)
	}
	if adm.key != nil && micros > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.store.Spend.Add(ctx, adm.key.ID, g.now(), micros); err != nil {
				g.counters.spendErrors.Add(1)
				g.log.Warn("spend update failed", "error", err.Error())
			}
		}()
	}
	if entry != nil && adm.cacheMode == "miss" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.tieredCachePut(ctx, adm.cacheKey, entry, adm.cacheTTL); err != nil {
				g.counters.cacheErrors.Add(1)
				g.log.Warn("cache store failed", "error", err.Error())
			}
		}()
	}
	wg.Wait()
}

// tieredCacheGet looks in the in-process LRU first, then the shared store.
func (g *Gateway) tieredCacheGet(ctx context.Context, key string) (*state.CacheEntry, error) {
	if g.lru != nil {
		if e, err := g.lru.Get(ctx, key); err == nil {
			return e, nil
		}
	}
	e, err := g.store.Cache.Get(ctx, key)
	if err == nil && g.lru != nil {
		_ = g.lru.Put(ctx, key, e, time.Minute)
	}
	return e, err
}

func (g *Gateway) tieredCachePut(ctx context.Context, key string, e *state.CacheEntry, ttl time.Duration) error {
	if g.lru != nil {
		_ = g.lru.Put(ctx, key, e, min(ttl, time.Minute))
	}
	return g.store.Cache.Put(ctx, key, e, ttl)
}

// charge prices an answer's usage for the model that served it, records the
// cost for the log line and the x-gateway-cost-usd header (a trailer once a
// stream has started), and returns it in micro-dollars for the spend counters.
func (g *Gateway) charge(w http.ResponseWriter, ri *reqInfo, model string, u openai.Usage) int64 {
	usd, ok := g.prices.Cost(model, u)
	if !ok {
		g.counters.unpriced.Add(1)
		usd = 0
	}
	ri.costUSD = usd
	w.Header().Set("X-Gateway-Cost-Usd", pricing.FormatUSD(usd))
	return pricing.Micros(usd)
}
