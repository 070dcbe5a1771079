package router

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
)

// resolveRouter has providers a, b and c, a route "chat" over a/gpt-small and
// b/claude-small with its own retry policy, an alias "default" for it, a
// route literally named "b/special".
func resolveRouter(t *testing.T) *Router {
	t.Helper()
	r, _ := newTestRouter(newFake("a"), newFake("b"), newFake("c"))
	r.retry = RetryPolicy{MaxRetries: 7}
	rt := addRoute(t, r, "chat", StrategyFallback, "a/gpt-small", "b/claude-small")
	rt.Retry = &RetryPolicy{MaxRetries: 2, BaseBackoff: time.Second}
	addRoute(t, r, "b/special", StrategyFallback, "c/special-upstream")
	if err := r.AddAlias("default", "chat"); err != nil {
		t.Fatal(err)
	}
	return r
}

// wildcardRouter is resolveRouter where c also serves any model name.
func wildcardRouter(t *testing.T) *Router {
	t.Helper()
	r := resolveRouter(t)
	if err := r.AddWildcard("c", "*", 0); err != nil {
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
			wantRoute: "*", want: []string{"c/some-model"}, wantRetry: RetryPolicy{MaxRetries: 7}},
		{name: "the provider prefix is matched case-insensitively", model: "C/some-model",
			wantRoute: "*", want: []string{"c/some-model"}, wantRetry: RetryPolicy{MaxRetries: 7}},
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
			wantRoute: "*", want: []string{"c/anything"}, wantRetry: RetryPolicy{MaxRetries: 7}},
		{name: "the pin argument wins over a provider prefix in the model name", model: "a/org/model", pin: "c",
			wantRoute: "*", want: []string{"c/a/org/model"}, wantRetry: RetryPolicy{MaxRetries: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wildcardRouter(t)
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

// TestAPinOnAConditionalRouteTakesTheMatchedRulesModel pins that a pinned
// provider serving a conditional route in several places gets the upstream
// model of the rule the request matches, not the first listed anywhere.
func TestAPinOnAConditionalRouteTakesTheMatchedRulesModel(t *testing.T) {
	r, _ := newTestRouter(newFake("a"), newFake("b"))
	rt := &Route{Name: "smart", Strategy: StrategyConditional,
		Targets: []WeightedTarget{wt(t, r, "a/default", 1), wt(t, r, "b/cheap", 1)},
		Conditions: []Condition{
			{Headers: map[string]string{"X-Tier": "premium"}, Targets: []WeightedTarget{wt(t, r, "b/premium", 1)}},
			{Model: "smart", Headers: map[string]string{"X-Tier": "gold"}, Targets: []WeightedTarget{wt(t, r, "b/gold", 1)}},
		}}
	if err := r.AddRoute(rt); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, model, pin, tier, want string
	}{
		{name: "the pin argument takes the matched rule's model", model: "smart", pin: "b", tier: "premium", want: "b/premium"},
		{name: "a provider prefix takes the matched rule's model", model: "b/smart", tier: "premium", want: "b/premium"},
		{name: "a rule on the model name matches the name without its provider prefix", model: "b/smart", tier: "gold", want: "b/gold"},
		{name: "without a matching rule the route's own target is taken", model: "smart", pin: "b", want: "b/cheap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &Request{Model: tt.model, Header: header("X-Tier", tt.tier)}
			plan, err := r.Resolve(req, tt.pin)
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(plan.Targets); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("targets = %v, want [%s]", got, tt.want)
			}
		})
	}
}

// A rule that matches keeps its requests to its own targets (data
// residency): a pin of a provider outside the rule is refused, whether as a
// pin argument or a provider prefix, and also when that provider serves any
// model by a pattern; without a matching rule the pin is free.
func TestAPinCannotLeaveTheConditionalRuleThatMatched(t *testing.T) {
	r, _ := newTestRouter(newFake("a"), newFake("b"), newFake("c"))
	if err := r.AddWildcard("c", "*", 0); err != nil {
		t.Fatal(err)
	}
	rt := &Route{Name: "smart", Strategy: StrategyConditional,
		Targets: []WeightedTarget{wt(t, r, "c/default", 1)},
		Conditions: []Condition{
			{Headers: map[string]string{"X-Region": "eu"}, Targets: []WeightedTarget{wt(t, r, "a/eu", 1), wt(t, r, "b/eu", 1)}},
		}}
	if err := r.AddRoute(rt); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ model, pin string }{{"smart", "c"}, {"c/smart", ""}} {
		_, err := r.Resolve(&Request{Model: tt.model, Header: header("X-Region", "eu")}, tt.pin)
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.Code != openai.CodeModelNotFound || !strings.Contains(oe.Message, "matching rule") {
			t.Errorf("model %q pin %q in the eu rule: %v, want model_not_found naming the rule", tt.model, tt.pin, err)
		}
	}
	if plan, err := r.Resolve(&Request{Model: "smart", Header: header("X-Region", "eu")}, "b"); err != nil || !slices.Equal(keys(plan.Targets), []string{"b/eu"}) {
		t.Errorf("a pin inside the rule: %v, %v", plan, err)
	}
	if plan, err := r.Resolve(&Request{Model: "c/smart"}, ""); err != nil || !slices.Equal(keys(plan.Targets), []string{"c/default"}) {
		t.Errorf("without the rule: %v, %v", plan, err)
	}
}
