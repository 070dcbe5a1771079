// Package pricing turns token usage into US dollars.
//
// The list prices ship with the binary as prices.json (embedded): a dated
// table of input, cached-input, cache-write and output prices per million
// tokens for the models of every provider family the gateway speaks to. Operators correct or
// extend it with per-model overrides from the configuration.
//
// A model is looked up, case-insensitively, under these names in turn: the id
// as given ("gpt-4o", "openai/gpt-oss-120b"); for a provider-qualified
// "provider/model", the id without its first path segment ("openai/gpt-4o" is
// priced as "gpt-4o"); and either of those without an Amazon Bedrock
// cross-region prefix ("us.anthropic.claude-…" is priced as
// "anthropic.claude-…", at the in-region price: the cross-region premium is
// not modelled). Each name is first tried as an exact key; only when none
// matches is each tried as a dated snapshot: the longest key that is a prefix
// of the name and is followed by a separator ('-', '@' or ':') and then a date
// or version ("2024-08-06", "20250929", "001", "v1:0") or "latest". So
// "gpt-4o-2024-08-06" is priced as "gpt-4o" and "claude-sonnet-4-5@20250929"
// as "claude-sonnet-4-5", while "gpt-4o-mini-2024-07-18" can only match
// "gpt-4o-mini" and a future "claude-opus-4-9" never falls back to
// "claude-opus-4".
//
// An unknown model costs 0 and reports ok=false; the caller logs and counts it.
package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/openai"
)

//go:embed prices.json
var embedded []byte

// Price is a model's list price in USD per million tokens.
type Price struct {
	Input  float64 `json:"input" toml:"input"`
	Output float64 `json:"output" toml:"output"`
	// CachedInput is the price of prompt tokens read from the provider's
	// prompt cache. Zero means no discount is known: cached tokens cost Input.
	CachedInput float64 `json:"cached_input,omitempty" toml:"cached_input"`
	// CacheWrite is the price of prompt tokens written to the prompt cache
	// (Anthropic's five-minute writes, 1.25 times Input); CacheWrite1h that
	// of writes kept an hour (2 times Input). Zero means no surcharge is
	// known: writes cost Input, and one-hour writes cost CacheWrite.
	CacheWrite   float64 `json:"cache_write,omitempty" toml:"cache_write"`
	CacheWrite1h float64 `json:"cache_write_1h,omitempty" toml:"cache_write_1h"`
}

// Validate reports a negative or non-finite price.
func (p Price) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"input", p.Input}, {"output", p.Output}, {"cached_input", p.CachedInput},
		{"cache_write", p.CacheWrite}, {"cache_write_1h", p.CacheWrite1h}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("%s price %v must be a non-negative number", f.name, f.v)
		}
	}
	return nil
}

// effective fills in the defaults of the cache prices.
func (p Price) effective() Price {
	if p.CachedInput == 0 {
		p.CachedInput = p.Input
	}
	if p.CacheWrite == 0 {
		p.CacheWrite = p.Input
	}
	if p.CacheWrite1h == 0 {
		p.CacheWrite1h = p.CacheWrite
	}
	return p
}

// Cost prices one usage report. The prompt tokens (which, as the gateway
// reports usage, count every input token) are split into those read from the
// prompt cache (cached_tokens) at CachedInput, those written to it
// (cache_creation_tokens) at CacheWrite, or CacheWrite1h for the one-hour
// part, and the rest at Input; completion tokens (reasoning tokens included,
// as OpenAI counts them) cost Output. Negative counts count as zero; the
// cached count is capped at the prompt count, the written count at what is
// left of it, and the one-hour part at the written count.
func (p Price) Cost(u openai.Usage) float64 {
	p = p.effective()
	prompt := max(u.PromptTokens, 0)
	cached := min(max(u.CachedTokens(), 0), prompt)
	writes, oneHour := u.CacheWriteTokens()
	writes = min(max(writes, 0), prompt-cached)
	oneHour = min(max(oneHour, 0), writes)
	completion := max(u.CompletionTokens, 0)
	return (float64(prompt-cached-writes)*p.Input + float64(cached)*p.CachedInput +
		float64(writes-oneHour)*p.CacheWrite + float64(oneHour)*p.CacheWrite1h +
		float64(completion)*p.Output) / 1e6
}

// Table is an immutable price table; it is safe for concurrent use.
type Table struct {
	asOf   string
	source string
	prices map[string]Price // keys lower-case, cache prices filled in
	byLen  []string         // keys, longest first, for prefix matching
}

// file is the JSON form of a price table (prices.json).
type file struct {
	// AsOf is the date the prices were taken, YYYY-MM-DD.
	AsOf string `json:"as_of"`
	// Source says where the prices come from and which are unverified.
	Source string               `json:"source"`
	Models map[string]fileEntry `json:"models"`
}

// fileEntry is one model of a file; Input and Output are required, Note is
// for the reader of the file.
type fileEntry struct {
	Input        *float64 `json:"input"`
	Output       *float64 `json:"output"`
	CachedInput  *float64 `json:"cached_input,omitempty"`
	CacheWrite   *float64 `json:"cache_write,omitempty"`
	CacheWrite1h *float64 `json:"cache_write_1h,omitempty"`
	Note         string   `json:"note,omitempty"`
}

// Parse reads a price table in the prices.json format. Unknown fields,
// missing prices, negative prices, a cached price above the input price, an
// explicit zero cache price on a paid model, a bad date and keys that differ
// only in case are errors.
func Parse(data []byte) (*Table, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("pricing: %w", err)
	}
	if _, err := time.Parse(time.DateOnly, f.AsOf); err != nil {
		return nil, fmt.Errorf("pricing: as_of %q is not a YYYY-MM-DD date", f.AsOf)
	}
	if strings.TrimSpace(f.Source) == "" {
		return nil, fmt.Errorf("pricing: source is empty")
	}
	if len(f.Models) == 0 {
		return nil, fmt.Errorf("pricing: no models")
	}
	prices := make(map[string]Price, len(f.Models))
	for name, e := range f.Models {
		key := normalize(name)
		if key == "" {
			return nil, fmt.Errorf("pricing: empty model name")
		}
		if _, dup := prices[key]; dup {
			return nil, fmt.Errorf("pricing: model %q is listed twice (names are case-insensitive)", name)
		}
		if e.Input == nil || e.Output == nil {
			return nil, fmt.Errorf("pricing: model %q needs both input and output prices", name)
		}
		p := Price{Input: *e.Input, Output: *e.Output}
		for _, f := range []struct {
			name string
			v    *float64
			dst  *float64
		}{{"cached_input", e.CachedInput, &p.CachedInput}, {"cache_write", e.CacheWrite, &p.CacheWrite},
			{"cache_write_1h", e.CacheWrite1h, &p.CacheWrite1h}} {
			if f.v == nil {
				continue
			}
			if *f.v == 0 && p.Input != 0 {
				return nil, fmt.Errorf("pricing: model %q: %s 0 would mean the input price; omit it instead", name, f.name)
			}
			*f.dst = *f.v
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("pricing: model %q: %w", name, err)
		}
		if p.CachedInput > p.Input {
			return nil, fmt.Errorf("pricing: model %q: cached_input %v is above input %v", name, p.CachedInput, p.Input)
		}
		prices[key] = p.effective()
	}
	return newTable(f.AsOf, f.Source, prices), nil
}

func newTable(asOf, source string, prices map[string]Price) *Table {
	byLen := make([]string, 0, len(prices))
	for k := range prices {
		byLen = append(byLen, k)
	}
	sort.Slice(byLen, func(i, j int) bool {
		if len(byLen[i]) != len(byLen[j]) {
			return len(byLen[i]) > len(byLen[j])
		}
		return byLen[i] < byLen[j]
	})
	return &Table{asOf: asOf, source: source, prices: prices, byLen: byLen}
}

var defaultTable = sync.OnceValue(func() *Table {
	t, err := Parse(embedded)
	if err != nil {
		panic(err) // the tests parse the embedded file, so this cannot ship broken
	}
	return t
})

// Default returns the table embedded in the binary. It is shared: treat it as
// read-only (every method is).
func Default() *Table { return defaultTable() }

// WithOverrides returns a copy of t in which each override replaces or adds a
// model's price. Names are case-insensitive and may be provider-qualified
// ("groq/llama-3.3-70b-versatile"), which wins over the bare name for calls
// made with the qualified name. Callers validate overrides first (see
// Price.Validate); a negative price here is taken as zero so a cost is never
// negative.
func (t *Table) WithOverrides(overrides map[string]Price) *Table {
	prices := make(map[string]Price, len(t.prices)+len(overrides))
	for k, p := range t.prices {
		prices[k] = p
	}
	for name, p := range overrides {
		key := normalize(name)
		if key == "" {
			continue
		}
		p.Input, p.Output, p.CachedInput = nonNegative(p.Input), nonNegative(p.Output), nonNegative(p.CachedInput)
		p.CacheWrite, p.CacheWrite1h = nonNegative(p.CacheWrite), nonNegative(p.CacheWrite1h)
		prices[key] = p.effective()
	}
	return newTable(t.asOf, t.source, prices)
}

func nonNegative(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return v
}

// AsOf is the date the table's prices were taken, YYYY-MM-DD.
func (t *Table) AsOf() string { return t.asOf }

// Source says where the prices come from and which ones are unverified.
func (t *Table) Source() string { return t.source }

// Len is the number of models in the table.
func (t *Table) Len() int { return len(t.prices) }

// Models lists the table's model names (lower-case), sorted.
func (t *Table) Models() []string {
	out := make([]string, 0, len(t.prices))
	for k := range t.prices {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Lookup finds a model's price (with the cache prices filled in) and the table key
// that matched (DefaultKey when only the operator's default price applies);
// ok is false for an unknown model without a default.
func (t *Table) Lookup(model string) (p Price, key string, ok bool) {
	cands := candidates(normalize(model))
	for _, c := range cands {
		if p, ok := t.prices[c]; ok {
			return p, c, true
		}
	}
	for _, c := range cands {
		if k, ok := t.longestPrefix(c); ok {
			return t.prices[k], k, true
		}
	}
	if p, ok := t.prices[DefaultKey]; ok {
		return p, DefaultKey, true
	}
	return Price{}, "", false
}

// DefaultKey names the operator's default price (`[pricing."*"]`): the price
// of every model the table does not know, so none is metered as free.
const DefaultKey = "*"

// Cost prices a usage report for model; an unknown model costs 0 with ok=false.
func (t *Table) Cost(model string, u openai.Usage) (usd float64, ok bool) {
	p, _, ok := t.Lookup(model)
	if !ok {
		return 0, false
	}
	return p.Cost(u), true
}

// EstimateCost is what a call can cost before it is made, for a spend
// reservation: promptTokens (see EstimatePromptTokens) at the full input price,
// no cache discount assumed, plus maxOutputTokens at the output price. The
// caller picks maxOutputTokens when the request sets none. With cacheWrites
// (the request marks prompt cache breakpoints, so the provider may write the
// prompt to its cache) the prompt is priced at the dearest of the input and
// cache-write prices, as settling may charge it; without, at the input
// price (reserving the surcharge for every call would refuse calls that
// never write to a cache). Unknown model: 0, false.
func (t *Table) EstimateCost(model string, promptTokens, maxOutputTokens int, cacheWrites bool) (usd float64, ok bool) {
	p, _, ok := t.Lookup(model)
	if !ok {
		return 0, false
	}
	in := p.Input
	if cacheWrites {
		e := p.effective()
		in = max(e.Input, e.CacheWrite, e.CacheWrite1h)
	}
	return (float64(max(promptTokens, 0))*in + float64(max(maxOutputTokens, 0))*p.Output) / 1e6, true
}

func normalize(model string) string { return strings.ToLower(strings.TrimSpace(model)) }

// bedrockGeo are the cross-region inference profile prefixes of Bedrock ids.
var bedrockGeo = []string{"us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov."}

// candidates lists the names to try, in order: the id, the id without its
// provider segment, then both without a Bedrock geo prefix.
func candidates(model string) []string {
	if model == "" {
		return nil
	}
	out := []string{model}
	if i := strings.IndexByte(model, '/'); i > 0 && i < len(model)-1 {
		out = append(out, model[i+1:])
	}
	for _, c := range out {
		for _, g := range bedrockGeo {
			if rest, found := strings.CutPrefix(c, g); found && strings.Contains(rest, ".") {
				out = append(out, rest)
				break
			}
		}
	}
	return out
}

// longestPrefix finds the longest key k with model = k + separator + snapshot suffix.
func (t *Table) longestPrefix(model string) (string, bool) {
	for _, k := range t.byLen {
		if len(model) > len(k)+1 && strings.HasPrefix(model, k) && isSep(model[len(k)]) && isSnapshot(model[len(k)+1:]) {
			return k, true
		}
	}
	return "", false
}

func isSep(c byte) bool { return c == '-' || c == '@' || c == ':' }

// isSnapshot reports whether rest (what follows "key-") names a dated or
// versioned snapshot of key rather than another model: its first token is a
// number of at least two digits (a date, "001", "0709"), "v" and digits, or
// "latest". A one-digit token is a version of a different model
// ("claude-opus-4-9" is not a snapshot of "claude-opus-4"), and a word is a
// different model ("gpt-4o-mini-…" is not a snapshot of "gpt-4o").
func isSnapshot(rest string) bool {
	tok := rest
	if i := strings.IndexAny(rest, "-@:."); i >= 0 {
		tok = rest[:i]
	}
	if tok == "latest" {
		return true
	}
	digits := tok
	if strings.HasPrefix(tok, "v") {
		digits = tok[1:]
		if digits == "" {
			return false
		}
	} else if len(tok) < 2 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// Micros converts dollars to whole micro-dollars for atomic counters, rounding
// half up (away from zero for negatives) on the shortest decimal form of usd,
// so 0.0000025 gives 3 although its binary value is a hair below. NaN gives 0;
// values beyond the int64 range saturate.
func Micros(usd float64) int64 {
	switch {
	case math.IsNaN(usd):
		return 0
	case usd >= math.MaxInt64/1e6:
		return math.MaxInt64
	case usd <= math.MinInt64/1e6:
		return math.MinInt64
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(usd, 'g', -1, 64))
	if !ok {
		return int64(math.Round(usd * 1e6))
	}
	r.Mul(r, big.NewRat(1_000_000, 1))
	neg := r.Sign() < 0
	r.Abs(r)
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom()) // floor for non-negative values
	if neg {
		q.Neg(q)
	}
	return q.Int64()
}

// FormatUSD formats dollars for the x-gateway-cost-usd header: a plain decimal
// with at most 8 fractional digits, no exponent, trailing zeros trimmed
// ("0.00125", "2", "0"). Non-finite values format as "0".
func FormatUSD(usd float64) string {
	if math.IsNaN(usd) || math.IsInf(usd, 0) {
		return "0"
	}
	s := strconv.FormatFloat(usd, 'f', 8, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}
