package pricing_test

import (
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/provider"
)

// TestEveryKindsDefaultModelIsPriced: the model an environment-only
// configuration turns on for each provider kind is in the embedded price
// table, so its calls are metered and count against budgets instead of being
// logged as an unknown model that costs nothing. Kinds without a default
// model (configured only by a file) have nothing to check. Ollama is exempt:
// its models run on the operator's own machine and have no list price.
func TestEveryKindsDefaultModelIsPriced(t *testing.T) {
	table := pricing.Default()
	checked := 0
	for _, k := range provider.Kinds() {
		if k.DefaultModel == "" || k.Env == provider.EnvBaseURL {
			continue
		}
		checked++
		p, key, ok := table.Lookup(k.DefaultModel)
		if !ok || key == pricing.DefaultKey {
			t.Errorf("%s: default model %q has no price in prices.json", k.Name, k.DefaultModel)
			continue
		}
		u := openai.Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000}
		if cost := p.Cost(u); cost <= 0 {
			t.Errorf("%s: default model %q (priced as %q) costs %v for a million tokens each way, want more than 0",
				k.Name, k.DefaultModel, key, cost)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d kinds have a default model: the kind table lost its defaults", checked)
	}
}
