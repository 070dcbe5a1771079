// Package router turns a model name into an ordered list of targets (provider +
// upstream model) by a route's strategy, and runs a request over them with
// retries, backoff, per-target timeouts, circuit breakers and failover.
package router

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// Strategy names.
const (
	StrategyFallback      = "fallback"
	StrategyWeighted      = "weighted"
	StrategyRoundRobin    = "round_robin"
	StrategyLeastBusy     = "least_busy"
	StrategyLowestLatency = "lowest_latency"
	StrategyConditional   = "conditional"
	StrategyAB            = "ab"
	StrategySticky        = "sticky"
)

// Strategies lists every valid strategy name.
var Strategies = []string{StrategyFallback, StrategyWeighted, StrategyRoundRobin, StrategyLeastBusy,
	StrategyLowestLatency, StrategyConditional, StrategyAB, StrategySticky}

// Target is one provider + upstream model. Targets are shared between routes
// that name the same pair, so their breaker and statistics are per target.
type Target struct {
	Provider provider.Provider
	Model    string
	Timeout  time.Duration
	Breaker  *Breaker

	inflight  atomic.Int64
	latencyNS atomic.Int64 // EWMA of attempt latency (time to first byte for streams)
	requests  atomic.Int64
	failures  atomic.Int64
}

// Key names the target as provider/model.
func (t *Target) Key() string { return t.Provider.Name() + "/" + t.Model }

// InFlight is the number of attempts under way.
func (t *Target) InFlight() int64 { return t.inflight.Load() }

// LatencyEWMA is the smoothed attempt latency (zero before the first call).
func (t *Target) LatencyEWMA() time.Duration { return time.Duration(t.latencyNS.Load()) }

const ewmaAlpha = 0.2

func (t *Target) observe(d time.Duration) {
	for {
		old := t.latencyNS.Load()
		next := int64(d)
		if old != 0 {
			next = int64(ewmaAlpha*float64(d) + (1-ewmaAlpha)*float64(old))
		}
		if t.latencyNS.CompareAndSwap(old, next) {
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
		Requests:  t.requests.Load(), Failures: t.failures.Load(), Breaker: t.Breaker.Snapshot(),
	}
}

// WeightedTarget is a target of a route with its weight (weighted and ab).
type WeightedTarget struct {
	*Target
	Weight float64
}

// Condition is one rule of a conditional route: when every listed matcher
// matches, the rule's targets are used.
type Condition struct {
	// Headers match request headers exactly (names case-insensitive).
	Headers map[string]string
	// Metadata matches the virtual key's metadata.
	Metadata map[string]string
	// Fields match request body fields by gjson path ("temperature", "messages.#").
	Fields map[string]string
	// Model matches the client's model name.
	Model   string
	Targets []WeightedTarget
}

// Route is a client-facing model name with its targets and strategy.
type Route struct {
	Name       string
	Strategy   string
	Targets    []WeightedTarget
	Conditions []Condition
	Retry      RetryPolicy
	// NoFailover stops after the first chosen target (default: remaining
	// targets follow as fallbacks).
	NoFailover bool

	rr atomic.Uint64
}

// RetryPolicy configures retries of one target.
type RetryPolicy struct {
	// MaxRetries is the number of extra attempts on the same target.
	MaxRetries int
	// BaseBackoff is the first backoff; each retry doubles it, with full jitter.
	BaseBackoff time.Duration
	// MaxBackoff caps one wait, Retry-After included: a longer Retry-After
	// moves on to the next target instead of waiting.
	MaxBackoff time.Duration
}

// DefaultRetry is used where a route sets nothing.
var DefaultRetry = RetryPolicy{MaxRetries: 1, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}

// Request is what strategies may look at.
type Request struct {
	Model       string
	Header      http.Header
	KeyMetadata map[string]string
	// StickyKey identifies the user (the `user` field or the key id).
	StickyKey string
	// Body is the raw JSON body, for field conditions.
	Body []byte
}

// Router holds routes and providers.
type Router struct {
	routes    map[string]*Route
	aliases   map[string]string
	providers map[string]provider.Provider
	order     []string // provider names in default failover order
	targets   map[string]*Target
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

// New builds an empty router over providers, in default failover order.
func New(providers []provider.Provider, opts Options) *Router {
	r := &Router{
		routes: map[string]*Route{}, aliases: map[string]string{},
		providers: map[string]provider.Provider{}, targets: map[string]*Target{},
		retry: opts.Retry, breaker: opts.Breaker, timeout: opts.Timeout, onOpen: opts.OnBreakerOpen,
		sleep: sleepCtx, rnd: rand.Float64,
	}
	for _, p := range providers {
		r.providers[p.Name()] = p
		r.order = append(r.order, p.Name())
	}
	return r
}

// Target returns the shared target for provider/model, creating it.
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
	t := &Target{Provider: p, Model: model, Timeout: timeout, Breaker: NewBreaker(r.breaker, nil)}
	if r.onOpen != nil {
		t.Breaker.OnOpen = func() { r.onOpen(t) }
	}
	r.targets[key] = t
	return t, nil
}

// AddRoute registers a route under its name.
func (r *Router) AddRoute(rt *Route) error {
	if _, dup := r.routes[rt.Name]; dup {
		return fmt.Errorf("route %q is defined twice", rt.Name)
	}
	if rt.Strategy == "" {
		rt.Strategy = StrategyFallback
	}
	if rt.Retry == (RetryPolicy{}) {
		rt.Retry = r.retry
	}
	r.routes[rt.Name] = rt
	return nil
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

// Provider returns a provider by name (case-insensitive).
func (r *Router) Provider(name string) (provider.Provider, bool) {
	if p, ok := r.providers[name]; ok {
		return p, true
	}
	for n, p := range r.providers {
		if strings.EqualFold(n, name) {
			return p, true
		}
	}
	return nil, false
}

// Providers returns provider names in failover order.
func (r *Router) Providers() []string { return append([]string(nil), r.order...) }

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

// Route resolves a model name or alias.
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

// Plan is the outcome of routing: targets in the order to try them.
type Plan struct {
	// Route is the resolved route name ("" for a pinned provider without a route).
	Route   string
	Targets []*Target
	Retry   RetryPolicy
	// Pinned is set when the client chose the provider.
	Pinned bool
}

// CacheTarget names what answered for the cache key: the route after alias
// resolution, or the pinned provider and model.
func (p *Plan) CacheTarget() string {
	if p.Pinned && len(p.Targets) > 0 {
		return "pin:" + p.Targets[0].Key()
	}
	return "route:" + p.Route
}

// Resolve plans a request. pin names a provider the client asked for (header
// or "provider/model" prefix); it is honoured when that provider exists.
func (r *Router) Resolve(req *Request, pin string) (*Plan, error) {
	model := req.Model
	if pin == "" {
		if _, ok := r.Route(model); !ok {
			if i := strings.IndexByte(model, '/'); i > 0 {
				if _, ok := r.Provider(model[:i]); ok {
					pin, model = model[:i], model[i+1:]
				}
			}
		}
	}
	if pin != "" {
		p, ok := r.Provider(pin)
		if !ok {
			return nil, &openai.Error{Code: openai.CodeInvalidRequest, Param: "provider",
				Message: fmt.Sprintf("unknown provider %q", pin)}
		}
		plan := &Plan{Retry: r.retry, Pinned: true}
		upstream := model
		if rt, ok := r.Route(model); ok {
			plan.Route, plan.Retry = rt.Name, rt.Retry
			for _, wt := range rt.allTargets() {
				if wt.Provider.Name() == p.Name() {
					upstream = wt.Model
					break
				}
			}
		}
		t, err := r.Target(p.Name(), upstream, 0)
		if err != nil {
			return nil, err
		}
		plan.Targets = []*Target{t}
		return plan, nil
	}
	rt, ok := r.Route(model)
	if !ok {
		return nil, &openai.Error{Code: openai.CodeModelNotFound, Param: "model",
			Message: fmt.Sprintf("The model `%s` does not exist or is not routed by this gateway", model)}
	}
	return &Plan{Route: rt.Name, Targets: r.order1(rt, req), Retry: rt.Retry}, nil
}

func (rt *Route) allTargets() []WeightedTarget {
	all := append([]WeightedTarget(nil), rt.Targets...)
	for _, c := range rt.Conditions {
		all = append(all, c.Targets...)
	}
	return all
}

// order1 orders a route's targets by its strategy: the strategy picks the
// first, the rest follow in configured order unless failover is off.
func (r *Router) order1(rt *Route, req *Request) []*Target {
	cands := rt.Targets
	if rt.Strategy == StrategyConditional {
		for _, c := range rt.Conditions {
			if c.matches(req) {
				cands = c.Targets
				break
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	first := 0
	switch rt.Strategy {
	case StrategyWeighted:
		first = pickWeighted(cands, r.rnd())
	case StrategyAB:
		u := r.rnd()
		if req.StickyKey != "" {
			u = unitHash(rt.Name + "\x00" + req.StickyKey)
		}
		first = pickWeighted(cands, u)
	case StrategyRoundRobin:
		first = int((rt.rr.Add(1) - 1) % uint64(len(cands)))
	case StrategyLeastBusy:
		best := int64(math.MaxInt64)
		for i, c := range cands {
			if n := c.InFlight(); n < best {
				best, first = n, i
			}
		}
	case StrategyLowestLatency:
		best := time.Duration(math.MaxInt64)
		for i, c := range cands {
			if l := c.LatencyEWMA(); l < best {
				best, first = l, i
			}
		}
	case StrategySticky:
		if req.StickyKey != "" {
			// Rendezvous hashing: a user keeps their target while the target set is stable.
			best := -1.0
			for i, c := range cands {
				if h := unitHash(req.StickyKey + "\x00" + c.Key()); h > best {
					best, first = h, i
				}
			}
		}
	}
	out := []*Target{cands[first].Target}
	if rt.NoFailover {
		return out
	}
	for i, c := range cands {
		if i != first {
			out = append(out, c.Target)
		}
	}
	return out
}

func pickWeighted(cands []WeightedTarget, u float64) int {
	total := 0.0
	for _, c := range cands {
		total += math.Max(c.Weight, 0)
	}
	if total <= 0 {
		return 0
	}
	x := u * total
	for i, c := range cands {
		x -= math.Max(c.Weight, 0)
		if x < 0 {
			return i
		}
	}
	return len(cands) - 1
}

func unitHash(s string) float64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return float64(h.Sum64()>>11) / float64(1<<53)
}

func (c *Condition) matches(req *Request) bool {
	if c.Model != "" && c.Model != req.Model {
		return false
	}
	for k, v := range c.Headers {
		if req.Header.Get(k) != v {
			return false
		}
	}
	for k, v := range c.Metadata {
		if req.KeyMetadata[k] != v {
			return false
		}
	}
	for path, v := range c.Fields {
		if gjson.GetBytes(req.Body, path).String() != v {
			return false
		}
	}
	return true
}

// Attempt runs one try against a target. It returns an error that is
// *openai.Error-classifiable; Retryable errors move on (retry or failover).
type Attempt func(ctx context.Context, t *Target) error

// Result is what Run reports.
type Result struct {
	// Target is the target that answered.
	Target *Target
	// Attempts counts every try, retries included.
	Attempts int
	// Failovers counts moves to another target.
	Failovers int
	// Latency is the successful attempt's duration: the whole answer for a
	// complete response, the time to the first chunk for a stream.
	Latency time.Duration
	// Done must be called once the response has been delivered (for streams,
	// after the last chunk) with the outcome; it records latency and the breaker
	// result and releases the attempt's context.
	Done func(err error)
}

// ErrSkipTarget, wrapped in an attempt's error, skips the target without
// retrying it or counting a failure: routing moves to the next target.
var ErrSkipTarget = errors.New("target skipped")

var errNoTargets = &openai.Error{Code: openai.CodeNoTargets, Message: "no provider is available for this model right now"}

// Run tries the plan's targets in order with retries until one succeeds, a
// non-retryable error occurs, or the targets are exhausted. The attempt's
// context stays alive after a success until Result.Done is called.
func (r *Router) Run(ctx context.Context, plan *Plan, fn Attempt) (*Result, error) {
	res := &Result{}
	var last error
	tried := 0
	for _, t := range plan.Targets {
		if ctx.Err() != nil {
			break
		}
		if !t.Breaker.Allow() {
			if last == nil {
				last = &openai.Error{Code: openai.CodeNoTargets, Provider: t.Provider.Name(),
					Message: fmt.Sprintf("circuit breaker open for %s", t.Key())}
			}
			continue
		}
		if tried > 0 {
			res.Failovers++
		}
		tried++
		for attempt := 0; ; attempt++ {
			if attempt > 0 && !t.Breaker.Allow() {
				break
			}
			res.Attempts++
			actx, cancel := context.WithCancel(ctx)
			// The timeout may only cancel an attempt that has not returned: once
			// it has, a successful stream must keep its context.
			var (
				tmu      sync.Mutex
				finished bool
				timedOut bool
				timer    *time.Timer
			)
			if t.Timeout > 0 {
				timer = time.AfterFunc(t.Timeout, func() {
					tmu.Lock()
					defer tmu.Unlock()
					if !finished {
						timedOut = true
						cancel()
					}
				})
			}
			t.inflight.Add(1)
			t.requests.Add(1)
			start := time.Now()
			err := fn(actx, t)
			tmu.Lock()
			finished = true
			tmu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			if err == nil {
				res.Latency = time.Since(start)
				t.observe(res.Latency)
				res.Target = t
				var once sync.Once
				res.Done = func(err error) {
					once.Do(func() {
						t.inflight.Add(-1)
						ok := err == nil || !isRetryable(err)
						if !ok {
							t.failures.Add(1)
						}
						t.Breaker.Record(ok)
						cancel()
					})
				}
				return res, nil
			}
			t.inflight.Add(-1)
			cancel()
			if timedOut {
				err = &openai.Error{Code: openai.CodeUpstreamTimeout, Provider: t.Provider.Name(), Retryable: true,
					Message: fmt.Sprintf("provider %s did not answer within %s", t.Provider.Name(), t.Timeout)}
			}
			if errors.Is(err, ErrSkipTarget) {
				// The target was never called (e.g. its own rate limit is spent):
				// move on without counting it against the target.
				t.requests.Add(-1)
				t.Breaker.Release()
				if last == nil {
					last = err
				}
				break
			}
			if ctx.Err() != nil && !timedOut {
				// The client went away: no fault of the target's.
				t.Breaker.Record(true)
				last = err
				break
			}
			if !isRetryable(err) {
				// A client error is no fault of the target's.
				t.Breaker.Record(true)
				return res, err
			}
			t.failures.Add(1)
			t.Breaker.Record(false)
			// A failing target must not look fast to lowest_latency.
			t.observe(failurePenalty(t, time.Since(start)))
			last = err
			if ctx.Err() != nil || attempt >= plan.Retry.MaxRetries {
				break
			}
			wait := backoff(plan.Retry, attempt, r.rnd())
			if ra := retryAfter(err); ra > 0 {
				if plan.Retry.MaxBackoff > 0 && ra > plan.Retry.MaxBackoff {
					break // too long to wait here: try the next target
				}
				wait = ra
			}
			if r.sleep(ctx, wait) != nil {
				break
			}
		}
	}
	if ctx.Err() != nil && last == nil {
		last = &openai.Error{Code: openai.CodeUpstreamError, Status: 499, Message: "request cancelled"}
	}
	if last == nil {
		last = errNoTargets
	}
	return res, last
}

// failurePenalty is the latency a failed attempt counts as: at least the
// target's timeout (or twice its average), so failing fast never looks fast.
func failurePenalty(t *Target, took time.Duration) time.Duration {
	p := t.Timeout
	if avg := 2 * t.LatencyEWMA(); avg > p {
		p = avg
	}
	if took > p {
		p = took
	}
	if p == 0 {
		p = time.Second
	}
	return p
}

func isRetryable(err error) bool {
	var e *openai.Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return true
}

func retryAfter(err error) time.Duration {
	var e *openai.Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// backoff is exponential with full jitter: uniform in [0, base·2^attempt], capped.
func backoff(p RetryPolicy, attempt int, u float64) time.Duration {
	if p.BaseBackoff <= 0 {
		return 0
	}
	d := p.BaseBackoff << attempt
	if p.MaxBackoff > 0 && (d > p.MaxBackoff || d <= 0) {
		d = p.MaxBackoff
	}
	return time.Duration(u * float64(d))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
