package router

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

func TestAPinResolvesOnlyToWhatTheConfigurationOffers(t *testing.T) {
	r := wildcardRouter(t) // a and b have no wildcard; c serves "*"
	for _, tc := range []struct{ model, pin string }{
		{"a/anything-goes", ""},    // a serves only gpt-small
		{"gpt-small-but-not", "a"}, // a configured model's near miss
		{"b/o1-pro", ""},           // unconfigured on b
		{"claude-small", "a"},      // b's model is not a's
	} {
		_, err := r.Resolve(&Request{Model: tc.model}, tc.pin)
		var e *openai.Error
		if !errors.As(err, &e) || e.Code != openai.CodeModelNotFound || !strings.Contains(e.Message, "models") {
			t.Errorf("Resolve(%q, pin %q) = %v, want model_not_found naming how to enable it", tc.model, tc.pin, err)
		}
	}
}

func TestPinnedAndWildcardNamesDoNotGrowTheRouter(t *testing.T) {
	r := wildcardRouter(t)
	before := len(r.Targets())
	for i := range 2000 {
		name := fmt.Sprintf("model-%d-%s", i, strings.Repeat("x", 200))
		for _, q := range []struct{ model, pin string }{{name, ""}, {"c/" + name, ""}, {name, "c"}, {"a/" + name, ""}} {
			plan, err := r.Resolve(&Request{Model: q.model}, q.pin)
			if err != nil {
				continue // a has no wildcard: refused
			}
			if got := plan.Targets[0].MetricsModel(); got != "*" {
				t.Fatalf("a wildcard-resolved model reports %q to metrics, want the pattern", got)
			}
		}
	}
	if after := len(r.Targets()); after != before {
		t.Fatalf("targets grew from %d to %d with client-chosen names", before, after)
	}
}

func TestAWildcardModelSharesThePatternsBreakerAndFigures(t *testing.T) {
	r := wildcardRouter(t)
	p1, err1 := r.Resolve(&Request{Model: "one"}, "")
	p2, err2 := r.Resolve(&Request{Model: "two"}, "")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	t1, t2 := p1.Targets[0], p2.Targets[0]
	if t1.Model != "one" || t2.Model != "two" || t1.Breaker != t2.Breaker || t1.c != t2.c || p1.Route != "*" {
		t.Fatalf("targets %+v %+v route %q", t1, t2, p1.Route)
	}
}

func TestWildcardsFallBackAcrossProvidersInProviderOrder(t *testing.T) {
	r, _ := newTestRouter(newFake("a"), newFake("b"), newFake("c"))
	for _, w := range [][2]string{{"c", "gpt-*"}, {"a", "gpt-4*"}, {"a", "gpt-*"}} {
		if err := r.AddWildcard(w[0], w[1], 0); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := r.Resolve(&Request{Model: "gpt-4.1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(plan.Targets); len(got) != 2 || got[0] != "a/gpt-4.1" || got[1] != "c/gpt-4.1" || plan.Route != "gpt-4*" {
		t.Fatalf("targets %v route %q", got, plan.Route)
	}
	if _, err := r.Resolve(&Request{Model: "o3-mini"}, ""); err == nil {
		t.Fatal("a name no pattern matches resolved")
	}
}

func TestBadModelNamesAreRefused(t *testing.T) {
	r := resolveRouter(t)
	for _, m := range []string{"c/with\x00nul", "tab\there", strings.Repeat("m", MaxModelName+1), "bad\xffutf8", "c/\u0085"} {
		_, err := r.Resolve(&Request{Model: m}, "")
		var e *openai.Error
		if !errors.As(err, &e) || e.Code != openai.CodeInvalidRequest || e.Param != "model" {
			t.Errorf("Resolve(%q) = %v, want invalid_request on model", m, err)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"*", "anything/at-all", true}, {"gpt-*", "gpt-4o", true}, {"gpt-*", "o1", false},
		{"*-mini", "o3-mini", true}, {"a*b*c", "a-b-c", true}, {"a*b*c", "a-c", false},
		{"x*x", "x", false}, {"exact", "exact", true}, {"claude-*-latest", "claude-3-5-haiku-latest", true},
	} {
		if got := globMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v", tc.pattern, tc.name, got)
		}
	}
}

func TestPermitsGrantsWhatAnUnpinnedRequestCouldReach(t *testing.T) {
	r := wildcardRouter(t)
	plan := func(model, pin string) *Target {
		t.Helper()
		p, err := r.Resolve(&Request{Model: model}, pin)
		if err != nil {
			t.Fatal(err)
		}
		return p.Targets[0]
	}
	for _, tc := range []struct {
		allowed []string
		target  *Target
		want    bool
	}{
		{[]string{"chat"}, plan("chat", "b"), true},         // a pin among the route's own targets
		{[]string{"default"}, plan("chat", "a"), true},      // through the alias
		{[]string{"chat"}, plan("chat", "c"), false},        // c serves "chat" only through its wildcard: not chat's target
		{[]string{"chat"}, plan("c/anything", ""), false},   // another model altogether
		{[]string{"*"}, plan("c/anything", ""), true},       // the pattern itself
		{[]string{"anything"}, plan("anything", "c"), true}, // a wildcard-served name
		{[]string{"c/anything"}, plan("anything", ""), true},
		{[]string{"a/gpt-small"}, plan("chat", "b"), false},
	} {
		if got := r.Permits(tc.allowed, tc.target); got != tc.want {
			t.Errorf("Permits(%v, %s) = %v, want %v", tc.allowed, tc.target.Key(), got, tc.want)
		}
	}
}

func TestSequentialUserIDsSplitEvenlyAcrossABArms(t *testing.T) {
	for _, prefix := range []string{"customer_", "user-", "u"} {
		inA := 0
		const n = 100
		for i := range n {
			if unitHash("route\x00"+fmt.Sprintf("%s%d", prefix, 1000+i)) < 0.5 {
				inA++
			}
		}
		if inA < 40 || inA > 60 {
			t.Errorf("%s1000…%s%d: %d of %d in arm A of a 50/50 split, want 40–60", prefix, prefix, 1000+n-1, inA, n)
		}
	}
}

func TestAnUnknownModelsErrorNamesTheWaysToRouteIt(t *testing.T) {
	r := resolveRouter(t)
	_, err := r.Resolve(&Request{Model: "nobody-routes-this"}, "")
	var e *openai.Error
	if !errors.As(err, &e) || e.Code != openai.CodeModelNotFound {
		t.Fatalf("%v", err)
	}
	for _, way := range []string{"models", "pattern", "[[routes]]", "alias", "provider/nobody-routes-this"} {
		if !strings.Contains(e.Message, way) {
			t.Errorf("the 404 does not mention %q: %s", way, e.Message)
		}
	}
}
