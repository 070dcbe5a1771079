package app

import (
	"math"
	"testing"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
)

// TestPriceOverridesSetEveryPromptCachePrice: an operator's [pricing] entry
// sets the cache-read and both cache-write prices (cache writes were always
// charged at the input price, whatever the entry said).
func TestPriceOverridesSetEveryPromptCachePrice(t *testing.T) {
	cfg, err := config.Parse(`
[[providers]]
name = "house"
kind = "custom"
base_url = "http://127.0.0.1:9"
models = ["house-model"]

[pricing."house-model"]
input = 1.0
output = 2.0
cached_input = 0.5
cache_write = 10.0
cache_write_1h = 20.0
`, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	prices := pricing.Default().WithOverrides(priceOverrides(cfg.Pricing))
	// 1M prompt tokens: 100k read from the cache, 300k written (100k of them for an hour), 600k plain; 1M out.
	u := openai.Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000, PromptTokensDetails: &openai.PromptTokensDetails{
		CachedTokens: 100_000, CacheCreationTokens: 300_000, CacheCreationTokenDetails: &openai.CacheCreationDetails{Ephemeral1hInputTokens: 100_000}}}
	got, ok := prices.Cost("house-model", u)
	want := 0.6*1.0 + 0.1*0.5 + 0.2*10.0 + 0.1*20.0 + 1*2.0
	if !ok || math.Abs(got-want) > 1e-9 {
		t.Fatalf("Cost = %v, %v; want %v", got, ok, want)
	}
	if _, err := config.Parse("[[providers]]\nname = \"h\"\nkind = \"custom\"\nbase_url = \"http://127.0.0.1:9\"\nmodels = [\"m\"]\n[pricing.m]\ninput = 1.0\noutput = 1.0\ncache_write = -1.0\n", func(string) string { return "" }); err == nil {
		t.Fatal("a negative cache_write price was accepted")
	}
}
