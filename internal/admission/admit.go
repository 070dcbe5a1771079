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
	// NoCache is set when the client asked to bypass the cache.
	NoCache bool
}

// Admit checks the key's allow-lists against the plan, then runs the
// pre-call checks in one concurrent round: the key's request and token
// limits, the budget read and the cache lookup. A refusal is an
// *openai.Error whose Header carries the limit headers the client should see.
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
	var wg sync.WaitGroup
	errs := make([]error, len(wins))
	for i := range wins {
		wins[i].at = now
		wg.Go(func() {
			wins[i].res, errs[i] = a.store.Limits.Take(ctx, wins[i].w, now, wins[i].n, wins[i].limit)
		})
	}
	var spendErr error
	if caps != (state.SpendAmounts{}) {
		wg.Go(func() { t.spendReserved, spendErr = a.store.Spend.Reserve(ctx, req.Key.ID, now, cost, caps) })
	}
	if t.mode == CacheMiss {
		wg.Go(func() {
			e, err := a.tieredGet(ctx, t.cacheKey)
			if err == nil {
				t.cached = e
			} else if !errors.Is(err, state.ErrNotFound) {
				a.count.cacheErrors.Add(1)
				a.log.Warn("cache lookup failed", "error", err.Error())
			}
		})
	}
	wg.Wait()

	// A window the store could not count: the store already retried what
	// provably did not apply (see dynamo's addItem), so what is left is an
	// outage or an ambiguous outcome. Fail closed when configured; else admit
	// uncounted, and count and log it: a limit of N then admits at most N plus
	// the fail-opens in its window.
	var full *reservation
	var failed []error
	for i := range wins {
		if errs[i] != nil {
			a.count.limitErrors.Add(1)
			failed = append(failed, errs[i])
			continue
		}
		if !wins[i].res.Allowed && full == nil {
			full = &wins[i]
		}
	}
	if len(failed) > 0 && a.set.FailClosed {
		a.log.Warn("rate limit store failed", "error", errors.Join(failed...).Error(), "fail_closed", true, "key_id", req.Key.ID)
		a.refund(ctx, wins)
		t.giveBackSpend(ctx)
		return nil, t.refusal(&openai.Error{Code: openai.CodeUnavailable, Message: "rate limits cannot be checked right now; try again shortly"})
	}
	// refusing logs the store failures of a request that is refused anyway.
	refusing := func() {
		if len(failed) > 0 {
			a.log.Warn("rate limit store failed", "error", errors.Join(failed...).Error(), "fail_closed", false, "fail_open", false, "key_id", req.Key.ID)
		}
	}
	for _, w := range wins {
		if !w.res.Reset.IsZero() { // a window the store answered for
			setLimitHeaders(t.header, w)
		}
	}
	if full != nil {
		refusing()
		a.refund(ctx, wins)
		t.giveBackSpend(ctx)
		return nil, t.refusal(refused(*full))
	}
	for i := range wins {
		if errs[i] == nil {
			t.reserved = append(t.reserved, wins[i])
		}
	}
	var ob *state.OverBudget
	switch {
	case errors.As(spendErr, &ob):
		refusing()
		a.refund(ctx, t.reserved)
		return nil, t.refusal(overBudget(req.Key, ob.Period))
	case spendErr != nil:
		// The budget could not be checked: the request runs, charged in full
		// at settlement.
		a.count.spendErrors.Add(1)
		a.log.Warn("budget reservation failed", "error", spendErr.Error())
		t.spendReserved = state.SpendAmounts{}
	}
	if len(failed) > 0 {
		n := a.count.failOpen.Add(1)
		a.log.Warn("rate limit store failed", "error", errors.Join(failed...).Error(), "fail_closed", false,
			"fail_open", true, "fail_open_total", n, "key_id", req.Key.ID)
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
