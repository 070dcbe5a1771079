package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/router"
)

// TestEverydayModelNamesRouteWithOnlyAnAPIKey: with nothing but a provider's
// key in the environment, the model names people use every day reach that
// provider (they were 404: only the one default model was routed), and a
// name of another provider's family goes to that provider.
func TestEverydayModelNamesRouteWithOnlyAnAPIKey(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "o", "ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g", "MISTRAL_API_KEY": "m"}
	cfg := config.FromEnv(func(k string) string { return env[k] })
	a, err := app.New(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for model, want := range map[string]string{
		"gpt-4o": "openai", "gpt-4.1": "openai", "o3-mini": "openai", "o1": "openai", "text-embedding-3-small": "openai",
		"dall-e-3": "openai", "whisper-1": "openai", "gpt-4o-mini": "openai",
		"claude-3-5-haiku-latest": "anthropic", "claude-opus-4-1": "anthropic",
		"gemini-2.0-flash": "gemini", "text-embedding-004": "gemini",
		"codestral-latest": "mistral",
	} {
		plan, err := a.Router.Resolve(&router.Request{Model: model}, "")
		if err != nil {
			t.Errorf("%s: %v", model, err)
			continue
		}
		if got := plan.Targets[0].Provider.Name(); got != want || plan.Targets[0].Model != model {
			t.Errorf("%s went to %s/%s, want %s/%s", model, got, plan.Targets[0].Model, want, model)
		}
	}
	if _, err := a.Router.Resolve(&router.Request{Model: "llama-made-up"}, ""); err == nil {
		t.Error("a name no provider's family claims was routed")
	}
}

// TestAnABArmAtZeroPercentGetsNoTraffic: a weight of 0 in an A/B or
// weighted route is a target never picked first (it was read as 1, so the
// "0 %" arm of a 100/0 split got about 1 % of the traffic); it is still
// failed over to.
func TestAnABArmAtZeroPercentGetsNoTraffic(t *testing.T) {
	cfg, err := config.Parse(`
[[providers]]
name = "a"
kind = "custom"
base_url = "http://127.0.0.1:9"
models = ["m"]

[[providers]]
name = "b"
kind = "custom"
base_url = "http://127.0.0.1:9"
models = ["m"]

[[routes]]
model = "split"
strategy = "ab"
targets = [{ provider = "a", model = "m", weight = 100 }, { provider = "b", model = "m", weight = 0 }]
`, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		plan, err := a.Router.Resolve(&router.Request{Model: "split", StickyKey: fmt.Sprint("user-", i)}, "")
		if err != nil {
			t.Fatal(err)
		}
		if first := plan.Targets[0].Provider.Name(); first != "a" {
			t.Fatalf("user %d was put in the 0 %% arm (%s)", i, first)
		}
		if len(plan.Targets) != 2 {
			t.Fatalf("the 0 %% arm is not a failover: %d targets", len(plan.Targets))
		}
	}
}
