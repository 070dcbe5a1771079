package pricing

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
)

func usage(prompt, cached, completion int) openai.Usage {
	u := openai.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
	if cached != 0 {
		u.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: cached}
	}
	return u
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestEmbeddedTable(t *testing.T) {
	tbl, err := Parse(embedded)
	if err != nil {
		t.Fatalf("the embedded prices.json does not parse: %v", err)
	}
	t.Run("it is dated with a real date that is not in the future", func(t *testing.T) {
		d, err := time.Parse(time.DateOnly, tbl.AsOf())
		if err != nil {
			t.Fatalf("as_of %q: %v", tbl.AsOf(), err)
		}
		if d.After(time.Now()) {
			t.Errorf("as_of %s is in the future", tbl.AsOf())
		}
	})
	t.Run("it says where the prices come from", func(t *testing.T) {
		if len(tbl.Source()) < 40 {
			t.Errorf("source note %q is too thin to tell where prices come from", tbl.Source())
		}
	})
	t.Run("every price is non-negative, cached is at most input, and only the mock is free", func(t *testing.T) {
		for _, m := range tbl.Models() {
			p := tbl.prices[m]
			if err := p.Validate(); err != nil {
				t.Errorf("%s: %v", m, err)
			}
			if p.CachedInput > p.Input {
				t.Errorf("%s: cached input %v above input %v", m, p.CachedInput, p.Input)
			}
			if m != "mock-echo" && p.Input <= 0 {
				t.Errorf("%s: input price %v, want > 0", m, p.Input)
			}
		}
		if p, _, ok := tbl.Lookup("mock-echo"); !ok || p != (Price{}) {
			t.Errorf("mock-echo = %+v, %v; want a zero price that is known", p, ok)
		}
	})
	t.Run("no model is listed twice in the file", func(t *testing.T) {
		seen := map[string]bool{}
		for _, k := range rawModelKeys(t, embedded) {
			if seen[strings.ToLower(k)] {
				t.Errorf("model %q is listed twice", k)
			}
			seen[strings.ToLower(k)] = true
		}
		if len(seen) != tbl.Len() {
			t.Errorf("file lists %d models, table has %d", len(seen), tbl.Len())
		}
	})
	t.Run("the common models of every provider family are priced", func(t *testing.T) {
		for _, m := range []string{
			// OpenAI
			"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini", "gpt-5",
			"text-embedding-3-small", "text-embedding-3-large",
			// Anthropic
			"claude-3-5-haiku", "claude-sonnet-4", "claude-sonnet-4-5", "claude-opus-4", "claude-haiku-4-5",
			// Gemini
			"gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-004", "gemini-embedding-001",
			// Bedrock
			"anthropic.claude-3-5-haiku-20241022-v1:0", "amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0",
			"amazon.nova-pro-v1:0", "meta.llama3-8b-instruct-v1:0", "meta.llama3-3-70b-instruct-v1:0",
			// Cohere
			"command-r", "command-r-plus", "command-a", "embed-v4.0", "embed-english-v3.0",
			// Groq, Mistral, DeepSeek, xAI, Perplexity
			"llama-3.3-70b-versatile", "llama-3.1-8b-instant", "mistral-small-latest", "mistral-large-latest",
			"deepseek-chat", "deepseek-reasoner", "grok-3-mini", "grok-4", "sonar",
			// the mock
			"mock-echo",
		} {
			if _, _, ok := tbl.Lookup(m); !ok {
				t.Errorf("%s has no price", m)
			}
		}
	})
}

// rawModelKeys lists the keys of the "models" object as written, duplicates
// included (encoding/json would keep only the last).
func rawModelKeys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	var keys []string
	depth := 0
	inModels := false
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				depth++
				if inModels && depth == 2 {
					expectKey = true
				}
			case '}', ']':
				if inModels && depth == 2 {
					inModels = false
				}
				depth--
				if inModels && depth == 2 {
					expectKey = true
				}
			}
		case string:
			if depth == 1 && v == "models" {
				inModels = true
				continue
			}
			if inModels && depth == 2 && expectKey {
				keys = append(keys, v)
				expectKey = false
			}
		default:
			if inModels && depth == 2 {
				expectKey = true
			}
		}
	}
	if len(keys) == 0 {
		t.Fatal("found no model keys in the file")
	}
	return keys
}

func TestLookup(t *testing.T) {
	tbl := Default()
	tests := []struct {
		name    string
		model   string
		wantKey string // "" means unknown
	}{
		{"an exact id matches itself", "gpt-4o", "gpt-4o"},
		{"ids are matched case-insensitively and trimmed", "  GPT-4o ", "gpt-4o"},
		{"an exact key with a slash wins over provider stripping", "openai/gpt-oss-120b", "openai/gpt-oss-120b"},
		{"a provider-qualified name is priced as the bare model", "openai/gpt-4o", "gpt-4o"},
		{"a provider-qualified dated snapshot is priced as the base model", "anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"a provider prefix before a model id that has a slash is stripped once", "groq/openai/gpt-oss-120b", "openai/gpt-oss-120b"},
		{"a provider-qualified key wins over the bare model", "vertex/gemini-2.0-flash", "vertex/gemini-2.0-flash"},
		{"a provider-qualified key also prices that provider's snapshots", "vertex/gemini-2.0-flash-001", "vertex/gemini-2.0-flash"},
		{"another provider's qualified name falls back to the bare model", "gemini/gemini-2.0-flash", "gemini-2.0-flash"},
		{"a dated OpenAI snapshot is priced as its base model", "gpt-4o-2024-08-06", "gpt-4o"},
		{"a snapshot with its own price uses it", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"},
		{"the mini snapshot is priced as mini, not as gpt-4o", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"gpt-4.1-mini is not gpt-4.1", "gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"},
		{"an o-series snapshot", "o4-mini-2025-04-16", "o4-mini"},
		{"a dated Claude id", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"a Vertex-style Claude id with @", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5"},
		{"the longest prefix wins among Claude versions", "claude-opus-4-1-20250805", "claude-opus-4-1"},
		{"a -latest alias is priced as its base", "claude-3-5-haiku-latest", "claude-3-5-haiku"},
		{"a numbered Gemini version", "gemini-2.0-flash-001", "gemini-2.0-flash"},
		{"a Cohere month-year suffix", "command-r-plus-08-2024", "command-r-plus"},
		{"a Bedrock model id with date and version", "anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku"},
		{"a Bedrock cross-region profile is priced as the in-region model", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5"},
		{"a qualified Bedrock cross-region profile", "bedrock/global.amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0"},
		{"an unknown model is unknown", "no-such-model", ""},
		{"an empty model is unknown", "", ""},
		{"a newer one-digit version is not a snapshot of an older model", "claude-opus-4-9", ""},
		{"a differently priced variant is not a snapshot", "gpt-4o-realtime-preview", ""},
		{"a word after the separator is another model", "sonar-reasoning", ""},
		{"a prefix must be followed by a separator", "gpt-4o2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, key, ok := tbl.Lookup(tt.model)
			if ok != (tt.wantKey != "") || key != tt.wantKey {
				t.Errorf("Lookup(%q) = %q, %v; want %q", tt.model, key, ok, tt.wantKey)
			}
		})
	}
}

func TestPrefixMatchNeverFallsBackToAShorterModelName(t *testing.T) {
	tbl, err := Parse([]byte(`{"as_of":"2026-01-01","source":"a test table with gpt-4o only",
		"models":{"gpt-4o":{"input":2.5,"output":10}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-4o-audio-preview"} {
		if _, key, ok := tbl.Lookup(m); ok {
			t.Errorf("Lookup(%q) matched %q in a table without it; want unknown", m, key)
		}
	}
	if _, key, ok := tbl.Lookup("gpt-4o-2024-11-20"); !ok || key != "gpt-4o" {
		t.Errorf("the dated snapshot still matches: got %q, %v", key, ok)
	}
}

func TestCost(t *testing.T) {
	tbl := Default()
	tests := []struct {
		name   string
		model  string
		u      openai.Usage
		want   float64
		wantOK bool
	}{
		{"cached tokens are billed at the cached price and the rest at the input price",
			"gpt-4o", usage(1_000_000, 400_000, 0), 600_000*2.5/1e6 + 400_000*1.25/1e6, true},
		{"the 1M-prompt, 400k-cached example is exactly two dollars", "gpt-4o", usage(1_000_000, 400_000, 0), 2, true},
		{"completion tokens are billed at the output price", "gpt-4o", usage(1_000_000, 400_000, 100_000), 3, true},
		{"a model without a cached price bills cached tokens at the input price",
			"gpt-3.5-turbo", usage(1_000_000, 400_000, 0), 0.5, true},
		{"more cached tokens than prompt tokens are capped at the prompt",
			"gpt-4o", usage(1000, 5000, 0), 1000 * 1.25 / 1e6, true},
		{"negative counts cost nothing", "gpt-4o", usage(-5, -3, -7), 0, true},
		{"an embedding call costs its input tokens", "text-embedding-3-small", usage(1_000_000, 0, 0), 0.02, true},
		{"a dated snapshot costs its base model's price", "claude-sonnet-4-5-20250929", usage(2000, 1000, 500),
			(1000*3 + 1000*0.3 + 500*15) / 1e6, true},
		{"the mock costs nothing and is known", "mock-echo", usage(1000, 0, 1000), 0, true},
		{"an unknown model costs nothing and is reported", "no-such-model", usage(1000, 0, 1000), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tbl.Cost(tt.model, tt.u)
			if ok != tt.wantOK || !near(got, tt.want) {
				t.Errorf("Cost(%q, %+v) = %v, %v; want %v, %v", tt.model, tt.u, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if got, _ := tbl.Cost("gpt-4o", usage(1_000_000, 400_000, 0)); got != 2 {
		t.Errorf("the cached-token example is not exact: %v", got)
	}
}

// writes is an Anthropic-style usage: prompt tokens counting every input
// token, cached of them read from the cache, written of them written to it
// (oneHour of those with a one-hour lifetime).
func writes(prompt, cached, written, oneHour, completion int) openai.Usage {
	u := usage(prompt, cached, completion)
	u.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: cached, CacheCreationTokens: written}
	if oneHour > 0 {
		u.PromptTokensDetails.CacheCreationTokenDetails = &openai.CacheCreationDetails{
			Ephemeral5mInputTokens: written - oneHour, Ephemeral1hInputTokens: oneHour}
	}
	return u
}

// TestCacheWritesArePricedAtTheirLifetimesPrice: Anthropic's five-minute
// writes cost 1.25 times input and one-hour writes twice input, reads a
// tenth; a price without write prices bills writes at the input price, as
// before write prices existed.
func TestCacheWritesArePricedAtTheirLifetimesPrice(t *testing.T) {
	sonnet := Price{Input: 3, Output: 15, CachedInput: 0.3, CacheWrite: 3.75, CacheWrite1h: 6}
	tests := []struct {
		name string
		p    Price
		u    openai.Usage
		want float64
	}{
		{"five-minute writes cost CacheWrite", sonnet, writes(1_000_000, 0, 1_000_000, 0, 0), 3.75},
		{"one-hour writes cost CacheWrite1h", sonnet, writes(1_000_000, 0, 1_000_000, 1_000_000, 0), 6},
		{"a mixed prompt prices each part", sonnet, writes(1_000_000, 400_000, 300_000, 100_000, 10_000),
			(300_000*3 + 400_000*0.3 + 200_000*3.75 + 100_000*6 + 10_000*15) / 1e6},
		{"without write prices writes cost the input price", Price{Input: 3, Output: 15, CachedInput: 0.3},
			writes(1_000_000, 0, 1_000_000, 500_000, 0), 3},
		{"without a one-hour price one-hour writes cost CacheWrite", Price{Input: 3, CacheWrite: 3.75},
			writes(1_000_000, 0, 1_000_000, 1_000_000, 0), 3.75},
		{"writes beyond the uncached prompt are capped", sonnet, writes(1000, 600, 5000, 5000, 0),
			(600*0.3 + 400*6) / 1e6},
		{"a one-hour part beyond the writes is capped", sonnet, writes(1000, 0, 100, 900, 0),
			(900*3 + 100*6) / 1e6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Cost(tt.u); !near(got, tt.want) {
				t.Errorf("Cost = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("the embedded table prices Anthropic's writes", func(t *testing.T) {
		for _, m := range []string{"claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-opus-4-1",
			"us.anthropic.claude-sonnet-4-5-20250929-v1:0"} {
			p, _, ok := Default().Lookup(m)
			if !ok || !near(p.CacheWrite, 1.25*p.Input) || !near(p.CacheWrite1h, 2*p.Input) {
				t.Errorf("%s: %+v, want writes at 1.25 and 2 times input", m, p)
			}
		}
	})
}

func TestOverrides(t *testing.T) {
	base := Default()
	tbl := base.WithOverrides(map[string]Price{
		"gpt-4o":                       {Input: 1, Output: 2},
		"My-Finetune":                  {Input: 4, Output: 8, CachedInput: 1},
		"groq/llama-3.3-70b-versatile": {Input: 0.5, Output: 0.5},
		"negative":                     {Input: -1, Output: -2},
	})
	tests := []struct {
		name  string
		table *Table
		model string
		u     openai.Usage
		want  float64
	}{
		{"an override replaces the embedded price, cached defaulting to input",
			tbl, "gpt-4o", usage(1_000_000, 400_000, 1_000_000), 1 + 2},
		{"an override also prices the model's snapshots", tbl, "gpt-4o-2024-08-06", usage(1_000_000, 0, 0), 1},
		{"an override adds a model, case-insensitively", tbl, "my-finetune", usage(1_000_000, 500_000, 0), 0.5*4 + 0.5*1},
		{"a provider-qualified override wins for the qualified name",
			tbl, "groq/llama-3.3-70b-versatile", usage(1_000_000, 0, 0), 0.5},
		{"the bare name keeps the embedded price", tbl, "llama-3.3-70b-versatile", usage(1_000_000, 0, 0), 0.59},
		{"a negative override is taken as zero", tbl, "negative", usage(1000, 0, 1000), 0},
		{"the default table is not changed by overrides", base, "gpt-4o", usage(1_000_000, 0, 0), 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.table.Cost(tt.model, tt.u)
			if !ok || !near(got, tt.want) {
				t.Errorf("Cost(%q) = %v, %v; want %v", tt.model, got, ok, tt.want)
			}
		})
	}
	if tbl.AsOf() != base.AsOf() || tbl.Source() != base.Source() {
		t.Error("overrides lost the table's date or source")
	}
	if tbl.Len() != base.Len()+3 {
		t.Errorf("Len = %d, want %d (one replaced, three added)", tbl.Len(), base.Len()+3)
	}
}

func TestPriceValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       Price
		wantErr bool
	}{
		{"zero prices are valid", Price{}, false},
		{"ordinary prices are valid", Price{Input: 1, Output: 2, CachedInput: 0.1}, false},
		{"a negative input is rejected", Price{Input: -1}, true},
		{"a negative output is rejected", Price{Output: -1}, true},
		{"a negative cached price is rejected", Price{CachedInput: -1}, true},
		{"a negative cache write price is rejected", Price{CacheWrite: -1}, true},
		{"a negative one-hour cache write price is rejected", Price{CacheWrite1h: -1}, true},
		{"NaN is rejected", Price{Input: math.NaN()}, true},
		{"infinity is rejected", Price{Output: math.Inf(1)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate(%+v) = %v, want error %v", tt.p, err, tt.wantErr)
			}
		})
	}
}

func TestParseRejectsBadTables(t *testing.T) {
	const ok = `"as_of":"2026-01-01","source":"a test table"`
	tests := []struct {
		name string
		json string
	}{
		{"a missing date", `{"source":"x","models":{"m":{"input":1,"output":1}}}`},
		{"a date that is not YYYY-MM-DD", `{"as_of":"Jan 2026","source":"x","models":{"m":{"input":1,"output":1}}}`},
		{"an empty source", `{"as_of":"2026-01-01","source":" ","models":{"m":{"input":1,"output":1}}}`},
		{"no models", `{` + ok + `,"models":{}}`},
		{"a misspelt field", `{` + ok + `,"models":{"m":{"input":1,"output":1,"cache_input":0.5}}}`},
		{"a missing output price", `{` + ok + `,"models":{"m":{"input":1}}}`},
		{"a negative price", `{` + ok + `,"models":{"m":{"input":-1,"output":1}}}`},
		{"a cached price above the input price", `{` + ok + `,"models":{"m":{"input":1,"cached_input":2,"output":1}}}`},
		{"an explicit zero cached price on a paid model", `{` + ok + `,"models":{"m":{"input":1,"cached_input":0,"output":1}}}`},
		{"an explicit zero cache write price on a paid model", `{` + ok + `,"models":{"m":{"input":1,"cache_write":0,"output":1}}}`},
		{"a negative one-hour cache write price", `{` + ok + `,"models":{"m":{"input":1,"cache_write_1h":-2,"output":1}}}`},
		{"names that differ only in case", `{` + ok + `,"models":{"m":{"input":1,"output":1},"M":{"input":1,"output":1}}}`},
		{"not JSON", `as_of: 2026`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.json)); err == nil {
				t.Errorf("Parse accepted %s", tt.json)
			}
		})
	}
}

func TestMicros(t *testing.T) {
	tests := []struct {
		name string
		usd  float64
		want int64
	}{
		{"zero is zero", 0, 0},
		{"one dollar is a million micros", 1, 1_000_000},
		{"an exact half micro rounds up", 0.0000025, 3},
		{"a half that float multiplication puts below .5 still rounds up", 0.0001245, 125},
		{"half a micro rounds up to one", 0.0000005, 1},
		{"just under a half rounds down", 0.0000024999, 2},
		{"under half a micro rounds to zero", 0.0000004, 0},
		{"a half at the seventh decimal of a larger sum rounds up", 1.2345675, 1_234_568},
		{"float noise does not move the result", 0.1 + 0.2, 300_000},
		{"a negative half rounds away from zero", -0.0000025, -3},
		{"NaN is zero", math.NaN(), 0},
		{"huge values saturate", 1e300, math.MaxInt64},
		{"huge negative values saturate", -1e300, math.MinInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Micros(tt.usd); got != tt.want {
				t.Errorf("Micros(%v) = %d, want %d", tt.usd, got, tt.want)
			}
		})
	}
}

func TestFormatUSD(t *testing.T) {
	tests := []struct {
		name string
		usd  float64
		want string
	}{
		{"zero", 0, "0"},
		{"negative zero", math.Copysign(0, -1), "0"},
		{"a whole number has no fraction", 2, "2"},
		{"trailing zeros are trimmed", 0.5, "0.5"},
		{"a small cost keeps its digits", 0.00125, "0.00125"},
		{"one hundred-millionth is the smallest unit shown", 1e-8, "0.00000001"},
		{"below the smallest unit shows as zero", 4e-9, "0"},
		{"more than eight decimals are rounded", 0.123456789, "0.12345679"},
		{"float noise is hidden", 0.1 + 0.2, "0.3"},
		{"a small value never uses an exponent", 1e-7, "0.0000001"},
		{"a large value never uses an exponent", 1e21, "1000000000000000000000"},
		{"dollars and cents", 1234.5, "1234.5"},
		{"a negative value keeps its sign", -0.25, "-0.25"},
		{"NaN formats as zero", math.NaN(), "0"},
		{"infinity formats as zero", math.Inf(1), "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatUSD(tt.usd); got != tt.want {
				t.Errorf("FormatUSD(%v) = %q, want %q", tt.usd, got, tt.want)
			}
		})
	}
}

func TestDefaultTableIsSafeToShareBetweenGoroutines(t *testing.T) {
	var wg sync.WaitGroup
	results := make([]float64, 16)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tbl := Default()
			own := tbl.WithOverrides(map[string]Price{"gpt-4o": {Input: float64(i), Output: 1}})
			_, _ = own.Cost("gpt-4o-2024-08-06", usage(1000, 0, 1000))
			results[i], _ = tbl.Cost("gpt-4o-2024-08-06", usage(1_000_000, 400_000, 0))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r != 2 {
			t.Errorf("goroutine %d saw %v, want 2", i, r)
		}
	}
}

func TestTheOperatorsDefaultPricePricesEveryUnknownModel(t *testing.T) {
	tbl := Default().WithOverrides(map[string]Price{DefaultKey: {Input: 1, Output: 2}})
	usd, ok := tbl.Cost("a-model-nobody-priced", openai.Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000})
	if !ok || usd != 3 {
		t.Fatalf("cost %v %v, want the default price", usd, ok)
	}
	if p, key, _ := tbl.Lookup("gpt-4o"); key == DefaultKey || p.Input == 1 {
		t.Fatal("a model the table knows took the default price")
	}
	if _, ok := Default().Cost("a-model-nobody-priced", openai.Usage{PromptTokens: 1}); ok {
		t.Fatal("without a default an unknown model is priced")
	}
}
