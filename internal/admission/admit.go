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
	// Estimate is the tokens reserved up front: prompt estimate + maximum output.
	Estimate int64
	// NoCache is set when the client asked to bypass the cache.
	NoCache bool
}

// Admit checks the key's allow-lists against the plan, then runs the
// pre-call checks in one concurrent round: the key's request and token
// limits, the budget read and the cache lookup. A refusal is an
// *openai.Error whose Header carries the limit headers the client should see.
func (a *Admitter) Admit(ctx context.Context, req Request) (*Ticket, error) {
	if err := allowed(req.Key, req.Model, req.Plan); err != nil {
		return nil, err
	}
	t := &Ticket{a: a, key: req.Key, estimate: req.Estimate, header: http.Header{}}
	if a.set.CacheEnabled && req.Endpoint.Cacheable && req.Body != nil {
		ttl := a.set.CacheTTL
		if rt, ok := a.set.RouteCacheTTL[req.Plan.Route]; ok {
			ttl = rt
		}
		if ttl > 0 {
			if k, ok := cacheKey(req.Endpoint.Name, req.Plan.CacheTarget(), req.Body); ok {
				t.mode, t.cacheKey, t.cacheTTL = CacheMiss, k, ttl
				if req.NoCache {
					t.mode = CacheBypass
				}
			}
		}
	}
	now := a.now()
	wins := keyWindows(req.Key, req.Estimate)
	var wg sync.WaitGroup
	errs := make([]error, len(wins))
	for i := range wins {
		wins[i].at = now
		wg.Go(func() {
			wins[i].res, errs[i] = a.store.Limits.Take(ctx, wins[i].w, now, wins[i].n, wins[i].limit)
		})
	}
	var spent state.SpendTotals
	var spendErr error
	if hasBudget(req.Key) {
		wg.Go(func() { spent, spendErr = a.store.Spend.Get(ctx, req.Key.ID, now) })
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
		return nil, t.refusal(refused(*full))
	}
	for i := range wins {
		if errs[i] == nil {
			t.reserved = append(t.reserved, wins[i])
		}
	}
	if hasBudget(req.Key) {
		if spendErr != nil {
			a.count.spendErrors.Add(1)
			a.log.Warn("spend lookup failed", "error", spendErr.Error())
		} else if e := overBudget(req.Key.Budget, spent); e != nil {
			refusing()
			a.refund(ctx, t.reserved)
			return nil, t.refusal(e)
		}
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

// allowed checks a key's model and provider allow-lists against a plan and
// keeps only the targets of providers the key may use.
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
