package config_test

import (
	"slices"
	"testing"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/provider"
)

// environmentProviders is the environment-only provider set, in failover order,
// written out literally so that no change to where the data lives can alter it
// unnoticed.
var environmentProviders = []struct {
	name      string
	on        []string // variables (name, value pairs) that turn the provider on
	keyVar    string   // variable the API key comes from, "" for none
	baseVar   string   // variable that overrides the base URL
	modelsVar string   // variable that replaces the model list
	model     string   // the model served without modelsVar
}{
	{"openai", []string{"OPENAI_API_KEY", "k"}, "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODELS", "gpt-6-luna"},
	{"gemini", []string{"GEMINI_API_KEY", "k"}, "GEMINI_API_KEY", "GEMINI_BASE_URL", "GEMINI_MODELS", "gemini-3.5-flash-lite"},
	{"anthropic", []string{"ANTHROPIC_API_KEY", "k"}, "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODELS", "claude-sonnet-5-5"},
	{"azure", []string{"AZURE_OPENAI_API_KEY", "k", "AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com"},
		"AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_MODELS", "gpt-4o-mini"},
	{"groq", []string{"GROQ_API_KEY", "k"}, "GROQ_API_KEY", "GROQ_BASE_URL", "GROQ_MODELS", "llama-3.3-70b-versatile"},
	{"mistral", []string{"MISTRAL_API_KEY", "k"}, "MISTRAL_API_KEY", "MISTRAL_BASE_URL", "MISTRAL_MODELS", "mistral-small-latest"},
	{"together", []string{"TOGETHER_API_KEY", "k"}, "TOGETHER_API_KEY", "TOGETHER_BASE_URL", "TOGETHER_MODELS", "meta-llama/Llama-3.3-70B-Instruct-Turbo"},
	{"perplexity", []string{"PERPLEXITY_API_KEY", "k"}, "PERPLEXITY_API_KEY", "PERPLEXITY_BASE_URL", "PERPLEXITY_MODELS", "sonar"},
	{"deepseek", []string{"DEEPSEEK_API_KEY", "k"}, "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", "DEEPSEEK_MODELS", "deepseek-chat"},
	{"xai", []string{"XAI_API_KEY", "k"}, "XAI_API_KEY", "XAI_BASE_URL", "XAI_MODELS", "grok-3-mini"},
	{"cohere", []string{"COHERE_API_KEY", "k"}, "COHERE_API_KEY", "COHERE_BASE_URL", "COHERE_MODELS", "command-r-plus"},
	{"ollama", []string{"OLLAMA_BASE_URL", "http://localhost:11434/v1"}, "", "OLLAMA_BASE_URL", "OLLAMA_MODELS", "llama3.2"},
	{"bedrock", []string{"BEDROCK_ENABLED", "true"}, "", "BEDROCK_BASE_URL", "BEDROCK_MODELS", "anthropic.claude-3-5-haiku-20241022-v1:0"},
}

func TestEveryEnvironmentProviderKeepsItsVariablesAndDefaults(t *testing.T) {
	for _, e := range environmentProviders {
		t.Run(e.name, func(t *testing.T) {
			vars := map[string]string{}
			for i := 0; i+1 < len(e.on); i += 2 {
				vars[e.on[i]] = e.on[i+1]
			}
			if e.keyVar != "" {
				vars[e.keyVar] = "key-" + e.name
			}
			if _, set := vars[e.baseVar]; !set {
				vars[e.baseVar] = "http://base-" + e.name
			}
			getenv := func(k string) string { return vars[k] }

			c := config.FromEnv(getenv)
			if got := providerNames(c); !slices.Equal(got, []string{e.name}) {
				t.Fatalf("providers = %v, want [%s]", got, e.name)
			}
			p := c.Providers[0]
			if p.Kind != e.name {
				t.Errorf("kind = %q, want %q", p.Kind, e.name)
			}
			if want := vars[e.keyVar]; p.APIKey.Value() != want {
				t.Errorf("api key = %q, want the value of %q", p.APIKey.Value(), e.keyVar)
			}
			if p.BaseURL != vars[e.baseVar] {
				t.Errorf("base_url = %q, want %s's %q", p.BaseURL, e.baseVar, vars[e.baseVar])
			}
			// The default model, then the kind's model families (wildcards).
			k, _ := provider.LookupKind(e.name)
			if want := append([]string{e.model}, k.ModelFamilies...); !slices.Equal(p.Models, want) {
				t.Errorf("models = %v, want %v", p.Models, want)
			}

			vars[e.modelsVar] = "m1, m2"
			if got := config.FromEnv(getenv).Providers[0].Models; !slices.Equal(got, []string{"m1", "m2"}) {
				t.Errorf("%s: models = %v, want [m1 m2]", e.modelsVar, got)
			}
		})
	}
}

func TestEveryEnvironmentProviderAtOnceKeepsTheFailoverOrder(t *testing.T) {
	vars := map[string]string{}
	var want []string
	for _, e := range environmentProviders {
		for i := 0; i+1 < len(e.on); i += 2 {
			vars[e.on[i]] = e.on[i+1]
		}
		want = append(want, e.name)
	}
	c := config.FromEnv(func(k string) string { return vars[k] })
	if got := providerNames(c); !slices.Equal(got, want) {
		t.Errorf("providers = %v\nwant        %v", got, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the environment configuration does not validate: %v", err)
	}
}

func TestBedrockModelsAloneTurnOnBedrock(t *testing.T) {
	c := config.FromEnv(env("BEDROCK_MODELS", "m1"))
	if got := providerNames(c); !slices.Equal(got, []string{"bedrock"}) || !slices.Equal(c.Providers[0].Models, []string{"m1"}) {
		t.Errorf("providers = %v, models = %v", got, c.Providers[0].Models)
	}
}

func TestGeminiKeyWinsOverGoogleKey(t *testing.T) {
	c := config.FromEnv(env("GEMINI_API_KEY", "gem", "GOOGLE_API_KEY", "goo"))
	if got := findProvider(t, c, "gemini").APIKey.Value(); got != "gem" {
		t.Errorf("api key = %q, want GEMINI_API_KEY's", got)
	}
}

func TestBedrockEnabledMustBeTrue(t *testing.T) {
	c := config.FromEnv(env("BEDROCK_ENABLED", "1"))
	if got := providerNames(c); !slices.Equal(got, []string{"mock"}) {
		t.Errorf("providers = %v, want [mock]", got)
	}
}
