package router

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// fakeProvider is a provider.Provider whose Chat answers from a script: call i
// returns script[i] (the last entry once the script runs out; success when the
// script is empty). hook, when set, runs first with the attempt's context.
type fakeProvider struct {
	name string

	mu     sync.Mutex
	script []error
	hook   func(ctx context.Context) error
	calls  []string // upstream model of every call
}

func newFake(name string, script ...error) *fakeProvider {
	return &fakeProvider{name: name, script: script}
}

func (f *fakeProvider) Name() string { return f.name }
func (f *fakeProvider) Kind() string { return "fake" }

func (f *fakeProvider) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	f.mu.Lock()
	i := len(f.calls)
	f.calls = append(f.calls, req.Model)
	var err error
	if n := len(f.script); n > 0 {
		err = f.script[min(i, n-1)]
	}
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		if herr := hook(ctx); herr != nil {
			return nil, herr
		}
	}
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: []byte(`{"object":"chat.completion"}`)}, nil
}

func (f *fakeProvider) ChatStream(context.Context, *provider.ChatRequest) (provider.Stream, error) {
	return nil, &openai.Error{Code: openai.CodeUnsupported, Message: "the fake provider does not stream"}
}

// Calls is how many times Chat was called.
func (f *fakeProvider) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// chat is the Attempt the gateway runs for a non-stream chat completion.
func chat(ctx context.Context, t *Target) error {
	_, err := t.Provider.Chat(ctx, &provider.ChatRequest{Model: t.Model})
	return err
}

// sleepLog replaces Router.sleep: it records each wait and returns at once.
type sleepLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepLog) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// seq returns a rnd function that yields vs in turn, cycling.
func seq(vs ...float64) func() float64 {
	var mu sync.Mutex
	i := 0
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		v := vs[i%len(vs)]
		i++
		return v
	}
}

// clock is a settable time source for breakers.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestRouter builds a router over providers with no retries, no breaker
// trips, waits that are recorded instead of slept and a fixed rnd of 0.5.
func newTestRouter(providers ...provider.Provider) (*Router, *sleepLog) {
	r := New(providers, Options{})
	s := &sleepLog{}
	r.sleep = s.sleep
	r.rnd = seq(0.5)
	return r, s
}

// wt returns the router's shared target for "provider/model" with a weight.
func wt(tb testing.TB, r *Router, key string, weight float64) WeightedTarget {
	tb.Helper()
	p, m, ok := strings.Cut(key, "/")
	if !ok {
		tb.Fatalf("target %q is not provider/model", key)
	}
	t, err := r.Target(p, m, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return WeightedTarget{Target: t, Weight: weight}
}

// target returns the router's shared target for "provider/model".
func target(tb testing.TB, r *Router, key string) *Target {
	tb.Helper()
	return wt(tb, r, key, 0).Target
}

// addRoute registers a route over equally weighted targets.
func addRoute(tb testing.TB, r *Router, name, strategy string, keys ...string) *Route {
	tb.Helper()
	rt := &Route{Name: name, Strategy: strategy}
	for _, k := range keys {
		rt.Targets = append(rt.Targets, wt(tb, r, k, 1))
	}
	if err := r.AddRoute(rt); err != nil {
		tb.Fatal(err)
	}
	return rt
}

// keys names a plan's targets in order.
func keys(ts []*Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Key()
	}
	return out
}

func resolve(tb testing.TB, r *Router, req *Request) []string {
	tb.Helper()
	plan, err := r.Resolve(req, "")
	if err != nil {
		tb.Fatalf("Resolve(%q): %v", req.Model, err)
	}
	return keys(plan.Targets)
}

// asError unwraps a gateway error or fails the test.
func asError(tb testing.TB, err error) *openai.Error {
	tb.Helper()
	if err == nil {
		tb.Fatal("got no error, want an *openai.Error")
	}
	e, ok := err.(*openai.Error)
	if !ok {
		tb.Fatalf("got %T (%v), want *openai.Error", err, err)
	}
	return e
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}
