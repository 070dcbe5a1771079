package provider_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/aigateway/gateway/internal/provider"
)

var families = []provider.Family{provider.FamilyOpenAICompat, provider.FamilyAnthropic, provider.FamilyGemini,
	provider.FamilyBedrock, provider.FamilyCohere, provider.FamilyMock}

// wantKinds is the table's data that used to live in the gateway's constructor
// switch and display names and in openaicompat's URL and stream_options lists,
// written out so a slip in the table fails here.
var wantKinds = map[string]struct {
	family            provider.Family
	display           string
	defaultURL        string
	omitStreamOptions bool
}{
	"openai":     {provider.FamilyOpenAICompat, "OpenAI", "https://api.openai.com/v1", false},
	"azure":      {provider.FamilyOpenAICompat, "Azure", "", false},
	"groq":       {provider.FamilyOpenAICompat, "Groq", "https://api.groq.com/openai/v1", false},
	"mistral":    {provider.FamilyOpenAICompat, "Mistral", "https://api.mistral.ai/v1", true},
	"together":   {provider.FamilyOpenAICompat, "Together", "https://api.together.xyz/v1", false},
	"perplexity": {provider.FamilyOpenAICompat, "Perplexity", "https://api.perplexity.ai", true},
	"ollama":     {provider.FamilyOpenAICompat, "Ollama", "http://127.0.0.1:11434/v1", false},
	"deepseek":   {provider.FamilyOpenAICompat, "DeepSeek", "https://api.deepseek.com/v1", false},
	"xai":        {provider.FamilyOpenAICompat, "xAI", "https://api.x.ai/v1", false},
	"openrouter": {provider.FamilyOpenAICompat, "OpenRouter", "https://openrouter.ai/api/v1", false},
	"fireworks":  {provider.FamilyOpenAICompat, "Fireworks", "https://api.fireworks.ai/inference/v1", false},
	"custom":     {provider.FamilyOpenAICompat, "Custom", "", false},
	"anthropic":  {provider.FamilyAnthropic, "Anthropic", "", false},
	"gemini":     {provider.FamilyGemini, "Gemini", "", false},
	"vertex":     {provider.FamilyGemini, "Vertex", "", false},
	"bedrock":    {provider.FamilyBedrock, "Bedrock", "", false},
	"cohere":     {provider.FamilyCohere, "Cohere", "", false},
	"mock":       {provider.FamilyMock, "Mock", "", false},
}

func TestKindTableHoldsEveryKindWithItsFamilyDisplayNameAndURL(t *testing.T) {
	got := map[string]bool{}
	for _, k := range provider.Kinds() {
		got[k.Name] = true
		want, ok := wantKinds[k.Name]
		if !ok {
			t.Errorf("kind %q is in the table but not in this test", k.Name)
			continue
		}
		if k.Family != want.family || k.Display != want.display || k.DefaultURL != want.defaultURL || k.OmitStreamOptions != want.omitStreamOptions {
			t.Errorf("%s = family %q, display %q, url %q, omit stream_options %v; want %+v",
				k.Name, k.Family, k.Display, k.DefaultURL, k.OmitStreamOptions, want)
		}
	}
	for name := range wantKinds {
		if !got[name] {
			t.Errorf("kind %q is missing from the table", name)
		}
	}
}

func TestEveryKindHasAKnownFamilyAndADisplayName(t *testing.T) {
	for _, k := range provider.Kinds() {
		if !slices.Contains(families, k.Family) {
			t.Errorf("%s: family %q is not one of %v", k.Name, k.Family, families)
		}
		if k.Display == "" {
			t.Errorf("%s: no display name", k.Name)
		}
	}
}

func TestKindNamesAreUniqueAndLookUp(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range provider.Kinds() {
		if k.Name == "" {
			t.Errorf("a kind has no name: %+v", k)
		}
		if seen[k.Name] {
			t.Errorf("kind %q is listed twice", k.Name)
		}
		seen[k.Name] = true
		if got, ok := provider.LookupKind(k.Name); !ok || !reflect.DeepEqual(got, k) {
			t.Errorf("LookupKind(%q) = %+v, %v", k.Name, got, ok)
		}
	}
	for _, name := range []string{"", "OpenAI", "unknown"} {
		if _, ok := provider.LookupKind(name); ok {
			t.Errorf("LookupKind(%q) found a kind", name)
		}
	}
}

func TestOpenAICompatKindsHaveADefaultURLOrNeedABaseURL(t *testing.T) {
	var needs []string
	for _, k := range provider.Kinds() {
		switch {
		case k.Family != provider.FamilyOpenAICompat:
			if k.DefaultURL != "" || k.OmitStreamOptions {
				t.Errorf("%s: family %s ignores DefaultURL and OmitStreamOptions, yet they are set", k.Name, k.Family)
			}
			if k.NeedsBaseURL() {
				t.Errorf("%s: only openaicompat kinds need a base_url", k.Name)
			}
		case k.DefaultURL == "":
			needs = append(needs, k.Name)
			if !k.NeedsBaseURL() {
				t.Errorf("%s: no default URL, yet NeedsBaseURL is false", k.Name)
			}
		default:
			if !provider.ValidBaseURL(k.DefaultURL) {
				t.Errorf("%s: default URL %q is not an http(s) URL", k.Name, k.DefaultURL)
			}
		}
	}
	if want := []string{"azure", "custom"}; !slices.Equal(needs, want) {
		t.Errorf("kinds that need a base_url = %v, want %v", needs, want)
	}
}

func TestEnvironmentKindsComeFirstAndNameTheirVariables(t *testing.T) {
	vars := map[string]string{}
	claim := func(k provider.Kind, v string) {
		if v == "" {
			return
		}
		if other, ok := vars[v]; ok {
			t.Errorf("%s: variable %s is also %s's", k.Name, v, other)
		}
		vars[v] = k.Name
	}
	fileOnly := false
	for _, k := range provider.Kinds() {
		if k.Env == provider.EnvNone {
			fileOnly = true
			if k.KeyEnv != "" || k.AltKeyEnv != "" || k.BaseURLEnv != "" || k.ModelsEnv != "" || k.EnabledEnv != "" ||
				k.APIVersionEnv != "" || k.RegionEnv != "" {
				t.Errorf("%s: configured only by file, yet names environment variables", k.Name)
			}
			continue
		}
		if fileOnly {
			t.Errorf("%s: an environment kind after a file-only kind breaks the failover order", k.Name)
		}
		if k.BaseURLEnv == "" || k.ModelsEnv == "" || k.DefaultModel == "" {
			t.Errorf("%s: an environment kind needs BaseURLEnv, ModelsEnv and DefaultModel: %+v", k.Name, k)
		}
		switch k.Env {
		case provider.EnvKey, provider.EnvKeyAndBaseURL:
			if k.KeyEnv == "" {
				t.Errorf("%s: switched on by its key, yet has no KeyEnv", k.Name)
			}
		case provider.EnvBaseURL:
			if k.KeyEnv != "" {
				t.Errorf("%s: switched on by its base URL, yet has a KeyEnv", k.Name)
			}
		case provider.EnvEnabled:
			if k.EnabledEnv == "" {
				t.Errorf("%s: switched on by a flag, yet has no EnabledEnv", k.Name)
			}
		default:
			t.Errorf("%s: unknown EnvSwitch %d", k.Name, k.Env)
		}
		for _, v := range []string{k.KeyEnv, k.AltKeyEnv, k.BaseURLEnv, k.ModelsEnv, k.EnabledEnv, k.APIVersionEnv, k.RegionEnv} {
			claim(k, v)
		}
	}
	if got := provider.Kinds()[:3]; got[0].Name != "openai" || got[1].Name != "gemini" || got[2].Name != "anthropic" {
		t.Errorf("failover order starts %s, %s, %s; want openai, gemini, anthropic", got[0].Name, got[1].Name, got[2].Name)
	}
}

func TestKindsReturnsACopy(t *testing.T) {
	ks := provider.Kinds()
	ks[0].Name = "changed"
	if provider.Kinds()[0].Name == "changed" {
		t.Error("changing the result of Kinds changed the table")
	}
}
