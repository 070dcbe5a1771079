// Package router turns a model name into an ordered list of targets (provider +
// upstream model) by a route's strategy, and runs a request over them with
// retries, backoff, per-target timeouts, circuit breakers and failover.
package router

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aigateway/gateway/internal/provider"
)

// Target is one provider + upstream model. Targets are shared between routes
// that name the same pair, so their breaker and statistics are per target.
type Target struct {
	Provider provider.Provider
	Model    string
	Timeout  time.Duration
	Breaker  *Breaker

	// c are the figures; a model a wildcard resolved shares its wildcard's.
	c *targetCounters
	// wildcard is the provider's model pattern this target was resolved by
	// (nil for a configured model).
	wildcard *Target
}

type targetCounters struct {
	inflight  atomic.Int64
	latencyNS atomic.Int64 // EWMA of attempt latency (time to first byte for streams)
	requests  atomic.Int64
	failures  atomic.Int64
}

// Key names the target as provider/model.
func (t *Target) Key() string { return t.Provider.Name() + "/" + t.Model }

// MetricsModel is the model name metrics report: the configured model, or
// for a model a wildcard resolved, the wildcard's pattern, so that metric
// series stay bounded by the configuration whatever names clients send.
func (t *Target) MetricsModel() string {
	if t.wildcard != nil {
		return t.wildcard.Model
	}
	return t.Model
}

// InFlight is the number of attempts under way.
func (t *Target) InFlight() int64 { return t.c.inflight.Load() }

// LatencyEWMA is the smoothed attempt latency (zero before the first call).
func (t *Target) LatencyEWMA() time.Duration { return time.Duration(t.c.latencyNS.Load()) }

// ewmaAlpha is the weight of the newest attempt in LatencyEWMA.
const ewmaAlpha = 0.2

// observe adds an attempt's latency to the target's average; the first one
// sets it.
func (t *Target) observe(d time.Duration) {
	for {
		old := t.c.latencyNS.Load()
		next := int64(d)
		if old != 0 {
			next = int64(ewmaAlpha*float64(d) + (1-ewmaAlpha)*float64(old))
		}
		if t.c.latencyNS.CompareAndSwap(old, next) {
			return
		}
	}
}

// TargetStats is a target's figures for admin output.
type TargetStats struct {
	Provider  string          `json:"provider"`
	Model     string          `json:"model"`
	InFlight  int64           `json:"in_flight"`
	LatencyMS float64         `json:"latency_ewma_ms"`
	Requests  int64           `json:"requests"`
	Failures  int64           `json:"failures"`
	Breaker   BreakerSnapshot `json:"circuit_breaker"`
}

// Stats describes the target.
func (t *Target) Stats() TargetStats {
	return TargetStats{
		Provider: t.Provider.Name(), Model: t.Model, InFlight: t.InFlight(),
		LatencyMS: float64(t.LatencyEWMA()) / float64(time.Millisecond),
		Requests:  t.c.requests.Load(), Failures: t.c.failures.Load(), Breaker: t.Breaker.Snapshot(),
	}
}

// WeightedTarget is a target of a route with its weight (weighted and ab).
type WeightedTarget struct {
	*Target
	Weight float64
}

// Route is a client-facing model name with its targets and strategy.
type Route struct {
	Name       string
	Strategy   string
	Targets    []WeightedTarget
	Conditions []Condition
	// Retry is the route's retry policy; nil takes the router's. A policy
	// that is all zero means no retries, not "unset".
	Retry *RetryPolicy
	// NoFailover stops after the first chosen target (default: remaining
	// targets follow as fallbacks).
	NoFailover bool

	roundRobin atomic.Uint64 // round_robin plans made so far
}

// Router holds routes and providers.
type Router struct {
	routes    map[string]*Route
	aliases   map[string]string
	providers map[string]provider.Provider
	names     []string // provider names in the order given to New
	targets   map[string]*Target
	wildcards []*Target // model patterns, in the order added
	retry     RetryPolicy
	breaker   BreakerConfig
	timeout   time.Duration
	onOpen    func(*Target)
	mu        sync.Mutex
	sleep     func(context.Context, time.Duration) error
	rnd       func() float64
}

// Options configure a router.
type Options struct {
	Retry   RetryPolicy
	Breaker BreakerConfig
	// Timeout bounds one attempt (for streams, until the first chunk).
	Timeout time.Duration
	// OnBreakerOpen is called when a target's circuit breaker opens.
	OnBreakerOpen func(t *Target)
}

// New builds a router over providers, with no routes yet; Providers lists
// them in the order given.
func New(providers []provider.Provider, opts Options) *Router {
	r := &Router{
		routes: map[string]*Route{}, aliases: map[string]string{},
		providers: map[string]provider.Provider{}, targets: map[string]*Target{},
		retry: opts.Retry, breaker: opts.Breaker, timeout: opts.Timeout, onOpen: opts.OnBreakerOpen,
		sleep: sleepCtx, rnd: rand.Float64,
	}
	for _, p := range providers {
		r.providers[p.Name()] = p
		r.names = append(r.names, p.Name())
	}
	return r
}

// Target returns the shared target for provider/model, creating it. A new
// target gets timeout, or the router's default when timeout is zero; an
// existing one keeps the smallest non-zero timeout asked for.
func (r *Router) Target(providerName, model string, timeout time.Duration) (*Target, error) {
	p, ok := r.providers[providerName]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q", providerName)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := providerName + "/" + model
	if t, ok := r.targets[key]; ok {
		if timeout > 0 && (t.Timeout == 0 || timeout < t.Timeout) {
			t.Timeout = timeout
		}
		return t, nil
	}
	if timeout == 0 {
		timeout = r.timeout
	}
	t := &Target{Provider: p, Model: model, Timeout: timeout, Breaker: NewBreaker(r.breaker, nil), c: &targetCounters{}}
	if r.onOpen != nil {
		t.Breaker.OnOpen = func() { r.onOpen(t) }
	}
	r.targets[key] = t
	return t, nil
}

// AddRoute registers a route under its name. A route without a strategy
// falls back in order; one without a retry policy gets the router's.
func (r *Router) AddRoute(rt *Route) error {
	if _, dup := r.routes[rt.Name]; dup {
		return fmt.Errorf("route %q is defined twice", rt.Name)
	}
	if rt.Strategy == "" {
		rt.Strategy = StrategyFallback
	}
	r.routes[rt.Name] = rt
	return nil
}

// retryFor is rt's retry policy: its own, or the router's when it has none.
func (r *Router) retryFor(rt *Route) RetryPolicy {
	if rt.Retry != nil {
		return *rt.Retry
	}
	return r.retry
}

// AddAlias makes alias resolve to the route named target.
func (r *Router) AddAlias(alias, target string) error {
	if _, ok := r.routes[target]; !ok {
		return fmt.Errorf("alias %q points at unknown model %q", alias, target)
	}
	if _, ok := r.routes[alias]; ok {
		return fmt.Errorf("alias %q is also a model name", alias)
	}
	r.aliases[alias] = target
	return nil
}

// Provider returns a provider by name: the one of exactly that name, else
// the first, in the order given to New, whose name matches ignoring case (so
// names that differ only by case resolve the same way on every call).
func (r *Router) Provider(name string) (provider.Provider, bool) {
	if p, ok := r.providers[name]; ok {
		return p, true
	}
	for _, n := range r.names {
		if strings.EqualFold(n, name) {
			return r.providers[n], true
		}
	}
	return nil, false
}

// Providers returns the provider names in the order given to New.
func (r *Router) Providers() []string { return append([]string(nil), r.names...) }

// Models lists every routable model name and alias, sorted.
func (r *Router) Models() []string {
	out := make([]string, 0, len(r.routes)+len(r.aliases))
	for n := range r.routes {
		out = append(out, n)
	}
	for n := range r.aliases {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Route returns the route a model name or alias names.
func (r *Router) Route(model string) (*Route, bool) {
	if rt, ok := r.routes[model]; ok {
		return rt, true
	}
	if target, ok := r.aliases[model]; ok {
		return r.routes[target], true
	}
	return nil, false
}

// Targets returns every target, sorted by key.
func (r *Router) Targets() []*Target {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Target, 0, len(r.targets))
	for _, t := range r.targets {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}
