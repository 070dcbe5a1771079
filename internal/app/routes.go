package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
)

// routes is the router and what POST /generate needs besides it.
type routes struct {
	router *router.Router
	// firstModel is each provider's first model (/generate with a provider).
	firstModel map[string]string
	// generate is the failover order of /generate without a provider.
	generate []*router.Target
}

// buildRouter turns the configuration into providers, targets and routes.
// Every model a provider lists becomes a route unless a [[routes]] entry
// defines it; a model listed by several providers falls back across them in
// provider order.
func buildRouter(ctx context.Context, c *config.Config, deps provider.Deps, onOpen func(*router.Target)) (*routes, error) {
	var provs []provider.Provider
	firstModel := map[string]string{}
	for _, pc := range c.Providers {
		p, err := NewProvider(ctx, pc.ProviderConfig(c.Defaults.Timeout), deps)
		if err != nil {
			return nil, err
		}
		provs = append(provs, p)
		for _, m := range pc.Models {
			if !router.IsPattern(m) {
				firstModel[pc.Name] = m
				break
			}
		}
	}
	r := router.New(provs, router.Options{
		Retry: c.RetryPolicy(nil), Breaker: c.BreakerConfig(), Timeout: c.Defaults.Timeout, OnBreakerOpen: onOpen,
	})
	timeouts := map[string]config.Provider{}
	for _, pc := range c.Providers {
		timeouts[pc.Name] = pc
	}
	// A weight is read only by the weighted and ab strategies, where a weight
	// of 0 (or none) is a target never picked first, only failed over to (an
	// A/B arm at 0 % gets no traffic).
	target := func(t config.Target) (router.WeightedTarget, error) {
		to := t.Timeout
		if to == 0 {
			to = timeouts[t.Provider].Timeout
		}
		tg, err := r.Target(t.Provider, t.Model, to)
		return router.WeightedTarget{Target: tg, Weight: t.Weight}, err
	}
	targets := func(ts []config.Target) ([]router.WeightedTarget, error) {
		out := make([]router.WeightedTarget, 0, len(ts))
		for _, t := range ts {
			wt, err := target(t)
			if err != nil {
				return nil, err
			}
			out = append(out, wt)
		}
		return out, nil
	}
	defined := map[string]bool{}
	for _, rc := range c.Routes {
		retry := c.RetryPolicy(rc.Retry)
		rt := &router.Route{Name: rc.Model, Strategy: rc.Strategy, Retry: &retry, NoFailover: rc.NoFailover}
		var err error
		if rt.Targets, err = targets(rc.Targets); err != nil {
			return nil, err
		}
		for _, cc := range rc.Conditions {
			cond := router.Condition{Model: cc.Model, Headers: cc.Headers, Metadata: cc.Metadata, Fields: cc.Fields}
			if cond.Targets, err = targets(cc.Targets); err != nil {
				return nil, err
			}
			rt.Conditions = append(rt.Conditions, cond)
		}
		if err := r.AddRoute(rt); err != nil {
			return nil, err
		}
		defined[rc.Model] = true
	}
	// Implicit routes from the providers' model lists; patterns ("gpt-*",
	// "*") become wildcards that serve names no route claims.
	implicit := map[string]*router.Route{}
	var order []string
	for _, pc := range c.Providers {
		for _, m := range pc.Models {
			if router.IsPattern(m) {
				if err := r.AddWildcard(pc.Name, m, pc.Timeout); err != nil {
					return nil, err
				}
				continue
			}
			if defined[m] {
				continue
			}
			rt, ok := implicit[m]
			if !ok {
				rt = &router.Route{Name: m, Strategy: router.StrategyFallback}
				implicit[m] = rt
				order = append(order, m)
			}
			wt, err := target(config.Target{Provider: pc.Name, Model: m})
			if err != nil {
				return nil, err
			}
			rt.Targets = append(rt.Targets, wt)
		}
	}
	for _, m := range order {
		if err := r.AddRoute(implicit[m]); err != nil {
			return nil, err
		}
	}
	for _, rc := range c.Routes {
		for _, a := range rc.Aliases {
			if err := r.AddAlias(a, rc.Model); err != nil {
				return nil, err
			}
		}
	}
	for a, m := range c.Aliases {
		if err := r.AddAlias(a, m); err != nil {
			return nil, err
		}
	}
	// The failover order of /generate without a provider.
	var gen []*router.Target
	if len(c.Generate) > 0 {
		for _, g := range c.Generate {
			if rt, ok := r.Route(g); ok {
				for _, wt := range rt.Targets {
					gen = append(gen, wt.Target)
				}
				continue
			}
			pn, m, ok := strings.Cut(g, "/")
			if !ok {
				return nil, fmt.Errorf("config: generate: %q is neither a model nor provider/model", g)
			}
			t, err := r.Target(pn, m, 0)
			if err != nil {
				return nil, fmt.Errorf("config: generate: %w", err)
			}
			gen = append(gen, t)
		}
	} else {
		for _, pc := range c.Providers {
			if m, ok := firstModel[pc.Name]; ok {
				t, err := r.Target(pc.Name, m, pc.Timeout)
				if err != nil {
					return nil, err
				}
				gen = append(gen, t)
			}
		}
	}
	return &routes{router: r, firstModel: firstModel, generate: gen}, nil
}
