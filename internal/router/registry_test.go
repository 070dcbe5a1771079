package router

import (
	"slices"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/provider"
)

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

func TestProvidersKeepConfiguredOrder(t *testing.T) {
	r, _ := newTestRouter(newFake("openai"), newFake("gemini"), newFake("anthropic"))
	if got, want := r.Providers(), []string{"openai", "gemini", "anthropic"}; !slices.Equal(got, want) {
		t.Errorf("Providers() = %v, want %v", got, want)
	}
	if p, ok := r.Provider("Gemini"); !ok || p.Name() != "gemini" {
		t.Errorf("Provider(%q) = %v, %v; want gemini (case-insensitive)", "Gemini", p, ok)
	}
}

// TestAProviderNameThatMatchesSeveralByCaseIsResolvedInConfiguredOrder pins
// that Provider is deterministic when names differ only by case: an exact
// match wins, else the first provider in configured order.
func TestAProviderNameThatMatchesSeveralByCaseIsResolvedInConfiguredOrder(t *testing.T) {
	r, _ := newTestRouter(newFake("OpenAI"), newFake("openai"), newFake("OPENAI-eu"))
	for _, tt := range []struct{ name, want string }{
		{"openai", "openai"}, {"OpenAI", "OpenAI"}, {"OPENAI", "OpenAI"}, {"oPeNaI", "OpenAI"}, {"openai-EU", "OPENAI-eu"},
	} {
		for range 100 { // map iteration order changes from call to call
			if p, ok := r.Provider(tt.name); !ok || p.Name() != tt.want {
				t.Fatalf("Provider(%q) = %v, %v; want %s", tt.name, p, ok, tt.want)
			}
		}
	}
}
