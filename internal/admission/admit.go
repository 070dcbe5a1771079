package admission

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
)

// Request is what admission needs to know about a request.
type Request struct {
	// Key is the authenticated caller (nil when authentication is off).
	Key      *state.Key
	Endpoint Endpoint
	// Model is the name the client asked for (the allow-list reads it).
	Model string
	// Plan is the resolved route; Admit narrows it to the providers the key may use.
	Plan *router.Plan
	// Body is the JSON the cache key reads (after guardrails).
	Body []byte
	// PromptTokens is the prompt's estimated size and MaxOutputTokens the
	// answer's limit the client set (0: none); token limits reserve their sum,
	// budgets its price.
	PromptTokens, MaxOutputTokens int64
	// CacheWrites is set when the request marks prompt cache breakpoints:
	// the provider may write its prompt to a cache, at a surcharge the
	// budget reservation then assumes.
	CacheWrites bool
	// NoCache is set when the client asked to bypass the cache.
	NoCache bool
}

// Admit checks the key's allow-lists against the plan, then the cache and
// the key's windows and budgets: one reservation of all of them at once
// (state.KeyUses: one conditional write), after the cache lookup when a hit
// would reserve less, else beside it. A refusal is an *openai.Error whose
// Header carries the limit headers the client should see.
func (a *Admitter) Admit(ctx context.Context, req Request) (*Ticket, error) {
	if err := a.allowed(req.Key, req.Model, req.Plan); err != nil {
		return nil, err
	}
	estimate := int64(clampTokens(req.PromptTokens)) + int64(clampTokens(req.MaxOutputTokens))
	t := &Ticket{a: a, key: req.Key, estimate: estimate, header: http.Header{}}
	caps := budgetCaps(req.Key)
	var cost int64
	if caps != (state.SpendAmounts{}) {
		var err error
		if cost, err = a.reservationMicros(req); err != nil {
			return nil, err
		}
	}
	if a.set.CacheEnabled && req.Endpoint.Cacheable && req.Body != nil {
		ttl := a.set.CacheTTL
		if rt, ok := a.set.RouteCacheTTL[req.Plan.Route]; ok {
			ttl = rt
		}
		if ttl > 0 {
			if k, ok := cacheKey(req.Endpoint.Name, a.cacheScope(req), req.Body); ok {
				t.mode, t.cacheKey, t.cacheTTL = CacheMiss, k, ttl
				if req.NoCache {
					t.mode = CacheBypass
				}
			}
		}
	}
	now := a.now()
	t.at = now
	wins := keyWindows(req.Key, estimate)
	use := state.KeyUse{Windows: windowUses(wins), Micros: cost, Caps: caps}
	asks := len(use.Windows) > 0 || caps != (state.SpendAmounts{})
	if t.mode == CacheMiss && asks && a.lru != nil && a.set.CacheStoreRepeat && shards(req.Key) == 1 {
		// The write that admits the request also tells whether the key
		// asked this before: only then does its answer go to the shared
		// store (Ticket.settle), so a miss writes nothing of its own.
		use.Sight = t.cacheKey[:16]
	}
	lookup := func() {
		e, err := a.tieredGet(ctx, t.cacheKey)
		if err == nil {
			t.cached = e
		} else if !errors.Is(err, state.ErrNotFound) {
			a.count.cacheErrors.Add(1)
			a.log.Warn("cache lookup failed", "error", err.Error())
		}
	}
	var res state.KeyUseResult
	var useErr error
	reserve := func() { res, t.useID, useErr = a.reserveKey(ctx, req.Key, now, use) }
	switch {
	case t.mode == CacheMiss && asks && (caps != (state.SpendAmounts{}) || hasTokens(wins)):
		// A hit takes no tokens and costs nothing, so with token windows or
		// a budget the cache answers first: a hit is then one write (its
		// requests, with the tokens and budget only checked), not a
		// reservation and a give-back; a miss waits one lookup longer.
		lookup()
		if t.cached != nil {
			use = hitUse(use, wins)
		}
		reserve()
	case t.mode == CacheMiss && asks:
		var wg sync.WaitGroup
		wg.Go(reserve)
		wg.Go(lookup)
		wg.Wait()
	case t.mode == CacheMiss:
		lookup()
	case asks:
		reserve()
	}

	switch {
	case useErr != nil:
		// The store could not count: it already retried what provably did
		// not apply (see dynamo's addItem), so what is left is an outage or
		// an ambiguous outcome. Fail closed when configured; else admit
		// uncounted (charged in full at settlement), and count and log it:
		// a limit of N then admits at most N plus the fail-opens in its window.
		a.count.limitErrors.Add(1)
		if a.set.FailClosed {
			a.log.Warn("rate limit store failed", "error", useErr.Error(), "fail_closed", true, "key_id", req.Key.ID)
			return nil, t.refusal(&openai.Error{Code: openai.CodeUnavailable, Message: "rate limits cannot be checked right now; try again shortly"})
		}
		n := a.count.failOpen.Add(1)
		a.log.Warn("rate limit store failed", "error", useErr.Error(), "fail_closed", false,
			"fail_open", true, "fail_open_total", n, "key_id", req.Key.ID)
	case asks:
		var full *reservation
		for i := range wins {
			wins[i].at, wins[i].res = now, res.Windows[i]
			setLimitHeaders(t.header, wins[i])
			if !wins[i].res.Allowed && full == nil {
				full = &wins[i]
			}
		}
		switch {
		case full != nil:
			return nil, t.refusal(refused(*full))
		case res.OverBudget != "":
			return nil, t.refusal(overBudget(req.Key, res.OverBudget))
		case !res.Allowed:
			return nil, t.refusal(&openai.Error{Code: openai.CodeUnavailable, Message: "rate limits cannot be checked right now; try again shortly"})
		}
		t.reserved, t.spendReserved = wins, res.Reserved
		t.localOnly = res.Sight == state.SightFirst
	}
	if t.cached != nil {
		t.mode = CacheHit
	}
	t.setCacheHeader()
	return t, nil
}

// allowed narrows the plan to the targets the key's allow-lists permit,
// checked against each resolved target (provider and upstream model), so a
// pin or an alias reaches only what the key was given.
func (a *Admitter) allowed(k *state.Key, model string, plan *router.Plan) error {
	if k == nil {
		return nil
	}
	if len(k.AllowedModels) > 0 {
		plan.Targets = keep(plan.Targets, func(t *router.Target) bool { return a.router.Permits(k.AllowedModels, t) })
		if len(plan.Targets) == 0 {
			return &openai.Error{Code: openai.CodeForbidden, Param: "model",
				Message: fmt.Sprintf("this API key may not use model %q", model)}
		}
	}
	if len(k.AllowedProviders) > 0 {
		plan.Targets = keep(plan.Targets, func(t *router.Target) bool { return slices.Contains(k.AllowedProviders, t.Provider.Name()) })
		if len(plan.Targets) == 0 {
			return &openai.Error{Code: openai.CodeForbidden, Message: "this API key may not use the providers that serve this model"}
		}
	}
	return nil
}

// keep returns the targets ok accepts, in a new slice (plans may share theirs).
func keep(ts []*router.Target, ok func(*router.Target) bool) []*router.Target {
	var out []*router.Target
	for _, t := range ts {
		if ok(t) {
			out = append(out, t)
		}
	}
	return out
}

// cacheScope is what a cache entry is shared by besides the request itself:
// the target the plan tries first (provider and upstream model: the arm an
// A/B test chose, the rule a conditional route matched, what the key's
// allow-lists left), within the route; and, unless the cache is global, the
// caller's key, so that one key's answers are never another's.
func (a *Admitter) cacheScope(req Request) string {
	scope := req.Plan.CacheTarget()
	if len(req.Plan.Targets) > 0 {
		scope += "\x00" + req.Plan.Targets[0].Key()
	}
	if !a.set.CacheGlobal && req.Key != nil {
		scope += "\x00key:" + req.Key.ID
	}
	return scope
}

// MayUse reports whether key k's allow-lists leave any target of plan (the
// plan is not changed): /v1/models lists only what a key may call.
func (a *Admitter) MayUse(k *state.Key, model string, plan *router.Plan) bool {
	cp := *plan
	return a.allowed(k, model, &cp) == nil
}
