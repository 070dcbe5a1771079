package router

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// resolveRouter has providers a, b and c, a route "chat" over a/gpt-small and
// b/claude-small with its own retry policy, an alias "default" for it, and a
// route literally named "b/special".
func resolveRouter(t *testing.T) *Router {
	t.Helper()
	r, _ := newTestRouter(newFake("a"), newFake("b"), newFake("c"))
	r.retry = RetryPolicy{MaxRetries: 7}
	rt := addRoute(t, r, "chat", StrategyFallback, "a/gpt-small", "b/claude-small")
	rt.Retry = RetryPolicy{MaxRetries: 2, BaseBackoff: time.Second}
	addRoute(t, r, "b/special", StrategyFallback, "c/special-upstream")
	if err := r.AddAlias("default", "chat"); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolvePlansTargetsAndRetry(t *testing.T) {
	tests := []struct {
		name      string
		model     string
		pin       string
		wantRoute string
		want      []string
		wantRetry RetryPolicy
	}{
		{name: "a route name plans its targets with its retry policy", model: "chat",
			wantRoute: "chat", want: []string{"a/gpt-small", "b/claude-small"},
			wantRetry: RetryPolicy{MaxRetries: 2, BaseBackoff: time.Second}},
		{name: "an alias resolves to its route", model: "default",
			wantRoute: "chat", want: []string{"a/gpt-small", "b/claude-small"},
			wantRetry: RetryPolicy{MaxRetries: 2, BaseBackoff: time.Second}},
		{name: "a provider/model prefix pins the provider to the model as written", model: "c/some-model",
			wantRoute: "", want: []string{"c/some-model"}, wantRetry: RetryPolicy{MaxRetries: 7}},
		{name: "the provider prefix is matched case-insensitively", model: "C/some-model",
			wantRoute: "", want: []string{"c/some-model"}, wantRetry: RetryPolicy{MaxRetries: 7}},
		{name: "a provider prefix before a route name uses that provider's upstream model", model: "b/chat",
			wantRoute: "chat", want: []string{"b/claude-small"},
			wantRetry: RetryPolicy{MaxRetries: 2, BaseBackoff: time.Second}},
		{name: "a route whose name looks like provider/model is a route, not a pin", model: "b/special",
			wantRoute: "b/special", want: []string{"c/special-upstream"}, wantRetry: RetryPolicy{MaxRetries: 7}},
		{name: "the pin argument with a route uses the pinned provider's upstream model", model: "chat", pin: "b",
			wantRoute: "chat", want: []string{"b/claude-small"},
			wantRetry: RetryPolicy{MaxRetries: 2, BaseBackoff: time.Second}},
		{name: "the pin argument works through an alias", model: "default", pin: "a",
			wantRoute: "chat", want: []string{"a/gpt-small"},
			wantRetry: RetryPolicy{MaxRetries: 2, BaseBackoff: time.Second}},
		{name: "the pin argument without a route sends the model name unchanged", model: "anything", pin: "c",
			wantRoute: "", want: []string{"c/anything"}, wantRetry: RetryPolicy{MaxRetries: 7}},
		{name: "the pin argument wins over a provider prefix in the model name", model: "a/org/model", pin: "c",
			wantRoute: "", want: []string{"c/a/org/model"}, wantRetry: RetryPolicy{MaxRetries: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resolveRouter(t)
			plan, err := r.Resolve(&Request{Model: tt.model}, tt.pin)
			if err != nil {
				t.Fatalf("Resolve(%q, pin %q): %v", tt.model, tt.pin, err)
			}
			if plan.Route != tt.wantRoute {
				t.Errorf("Route = %q, want %q", plan.Route, tt.wantRoute)
			}
			if got := keys(plan.Targets); !slices.Equal(got, tt.want) {
				t.Errorf("targets = %v, want %v", got, tt.want)
			}
			if plan.Retry != tt.wantRetry {
				t.Errorf("Retry = %+v, want %+v", plan.Retry, tt.wantRetry)
			}
		})
	}
}

func TestResolveRejects(t *testing.T) {
	tests := []struct {
		name       string
		model      string
		pin        string
		wantCode   openai.Code
		wantStatus int
		wantParam  string
	}{
		{name: "an unknown model is model_not_found", model: "gpt-99",
			wantCode: openai.CodeModelNotFound, wantStatus: http.StatusNotFound, wantParam: "model"},
		{name: "a prefix that is not a provider is part of an unknown model name", model: "meta-llama/llama-3",
			wantCode: openai.CodeModelNotFound, wantStatus: http.StatusNotFound, wantParam: "model"},
		{name: "an unknown pinned provider is an invalid request", model: "chat", pin: "nope",
			wantCode: openai.CodeInvalidRequest, wantStatus: http.StatusBadRequest, wantParam: "provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resolveRouter(t)
			plan, err := r.Resolve(&Request{Model: tt.model}, tt.pin)
			if plan != nil {
				t.Errorf("plan = %+v, want nil", plan)
			}
			e := asError(t, err)
			if e.Code != tt.wantCode || e.HTTPStatus() != tt.wantStatus || e.Param != tt.wantParam {
				t.Errorf("error = code %q status %d param %q, want %q %d %q",
					e.Code, e.HTTPStatus(), e.Param, tt.wantCode, tt.wantStatus, tt.wantParam)
			}
		})
	}
}

func TestRouteRegistration(t *testing.T) {
	r, _ := newTestRouter(newFake("a"))
	addRoute(t, r, "chat", "", "a/m")
	if rt, _ := r.Route("chat"); rt.Strategy != StrategyFallback {
		t.Errorf("a route without a strategy has strategy %q, want %q", rt.Strategy, StrategyFallback)
	}
	if err := r.AddRoute(&Route{Name: "chat"}); err == nil {
		t.Error("a route added twice was accepted")
	}
	if err := r.AddAlias("x", "missing"); err == nil {
		t.Error("an alias to an unknown model was accepted")
	}
	if err := r.AddAlias("chat", "chat"); err == nil {
		t.Error("an alias equal to a model name was accepted")
	}
	if _, err := r.Target("zz", "m", 0); err == nil {
		t.Error("a target on an unknown provider was accepted")
	}
	if a, b := target(t, r, "a/m"), target(t, r, "a/m"); a != b {
		t.Error("the same provider/model gave two different targets; breakers and stats must be shared")
	}
	if err := r.AddAlias("fast", "chat"); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Models(), []string{"chat", "fast"}; !slices.Equal(got, want) {
		t.Errorf("Models() = %v, want %v", got, want)
	}
}

func TestTargetTimeout(t *testing.T) {
	r := New([]provider.Provider{newFake("a")}, Options{Timeout: time.Minute})
	if got := target(t, r, "a/m").Timeout; got != time.Minute {
		t.Errorf("a new target without a timeout has %v, want the router default %v", got, time.Minute)
	}
	if _, err := r.Target("a", "m", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Target("a", "m", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := target(t, r, "a/m").Timeout; got != 10*time.Second {
		t.Errorf("a shared target keeps the smallest timeout asked for: got %v, want 10s", got)
	}
}

func TestPinFindsTheUpstreamModelInConditionTargets(t *testing.T) {
	r, _ := newTestRouter(newFake("a"), newFake("b"))
	rt := &Route{Name: "smart", Strategy: StrategyConditional, Targets: []WeightedTarget{wt(t, r, "a/default", 1)},
		Conditions: []Condition{{Model: "smart", Targets: []WeightedTarget{wt(t, r, "b/premium", 1)}}}}
	if err := r.AddRoute(rt); err != nil {
		t.Fatal(err)
	}
	plan, err := r.Resolve(&Request{Model: "smart"}, "b")
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(plan.Targets); !slices.Equal(got, []string{"b/premium"}) {
		t.Errorf("targets = %v, want [b/premium]", got)
	}
}

func TestProvidersKeepConfiguredOrder(t *testing.T) {
	r, _ := newTestRouter(newFake("openai"), newFake("gemini"), newFake("anthropic"))
	if got, want := r.Providers(), []string{"openai", "gemini", "anthropic"}; !slices.Equal(got, want) {
		t.Errorf("Providers() = %v, want %v", got, want)
	}
	if p, ok := r.Provider("Gemini"); !ok || p.Name() != "gemini" {
		t.Errorf("Provider(%q) = %v, %v; want gemini (case-insensitive)", "Gemini", p, ok)
	}
}
