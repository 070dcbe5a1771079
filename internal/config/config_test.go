package config_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
)

// env is a getenv over fixed pairs; everything else is unset.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

var emptyEnv = env()

// mockOnly is the smallest valid configuration.
const mockOnly = `
[[providers]]
kind = "mock"
models = ["mock-echo"]
`

func mustParse(t *testing.T, text string, getenv func(string) string) *config.Config {
	t.Helper()
	c, err := config.Parse(text, getenv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func providerNames(c *config.Config) []string {
	var out []string
	for _, p := range c.Providers {
		out = append(out, p.Name)
	}
	return out
}

func findProvider(t *testing.T, c *config.Config, name string) config.Provider {
	t.Helper()
	for _, p := range c.Providers {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no provider %q in %v", name, providerNames(c))
	return config.Provider{}
}

func findRoute(t *testing.T, c *config.Config, model string) config.Route {
	t.Helper()
	for _, r := range c.Routes {
		if r.Model == model {
			return r
		}
	}
	t.Fatalf("no route %q", model)
	return config.Route{}
}

func TestExampleLoadsWithAnEmptyEnvironment(t *testing.T) {
	c, err := config.Load("example.toml", emptyEnv)
	if err != nil {
		t.Fatalf("example.toml does not load with an empty environment: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("example.toml does not validate: %v", err)
	}
	if c.Source != "file example.toml" {
		t.Errorf("Source = %q", c.Source)
	}
	wantProviders := []string{"openai", "anthropic", "gemini", "vertex", "my-azure", "bedrock", "cohere", "groq",
		"ollama", "internal-llm", "mock"}
	if got := providerNames(c); !slices.Equal(got, wantProviders) {
		t.Errorf("providers = %v, want %v", got, wantProviders)
	}
	var kinds []string
	for _, p := range c.Providers {
		kinds = append(kinds, p.Kind)
	}
	for _, k := range []string{"openai", "anthropic", "gemini", "vertex", "azure", "bedrock", "cohere", "groq", "ollama", "custom", "mock"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("the example shows no provider of kind %q", k)
		}
	}
	var strategies []string
	for _, r := range c.Routes {
		strategies = append(strategies, r.Strategy)
	}
	for _, s := range router.Strategies {
		if !slices.Contains(strategies, s) {
			t.Errorf("the example shows no route with strategy %q", s)
		}
	}

	if c.Server.Port != 8080 || c.Server.MaxBodyBytes != 10<<20 || c.Server.Timeout != 10*time.Minute || c.Server.LogPrompts {
		t.Errorf("server = %+v", c.Server)
	}
	if len(c.Server.CORS.AllowedOrigins) == 0 || len(c.Server.CORS.AllowedHeaders) == 0 {
		t.Errorf("cors = %+v, want origins and headers", c.Server.CORS)
	}
	if got, want := c.RetryPolicy(nil), router.DefaultRetry; got != want {
		t.Errorf("default retry = %+v, want the documented defaults %+v", got, want)
	}
	if got, want := c.BreakerConfig(), router.DefaultBreaker; got != want {
		t.Errorf("breaker = %+v, want the documented defaults %+v", got, want)
	}
	if c.Defaults.Timeout != 60*time.Second {
		t.Errorf("defaults.timeout = %v, want 60s", c.Defaults.Timeout)
	}
	chat := findRoute(t, c, "chat")
	if got, want := c.RetryPolicy(chat.Retry), (router.RetryPolicy{MaxRetries: 2, BaseBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second}); got != want {
		t.Errorf("chat retry = %+v, want %+v", got, want)
	}
	if !slices.Equal(chat.Aliases, []string{"default"}) {
		t.Errorf("chat aliases = %v", chat.Aliases)
	}
	if got := findRoute(t, c, "smart"); len(got.Conditions) != 4 || len(got.Conditions[0].Headers) != 1 ||
		len(got.Conditions[1].Metadata) != 1 || len(got.Conditions[2].Fields) != 1 || got.Conditions[3].Model == "" {
		t.Errorf("smart conditions = %+v, want header, metadata, field and model rules", got.Conditions)
	}
	if got := findRoute(t, c, "experiment"); !got.NoFailover {
		t.Error("the ab example route should show no_failover")
	}
	if c.Aliases["claude"] != "claude-sonnet-4-5" || c.Aliases["smart-eu"] != "smart" {
		t.Errorf("aliases = %v", c.Aliases)
	}
	if len(c.Generate) == 0 {
		t.Error("the example shows no generate list")
	}

	// ${VAR:-default} defaults fill in with an empty environment.
	if got := findProvider(t, c, "ollama").BaseURL; got != "http://localhost:11434/v1" {
		t.Errorf("ollama base_url = %q", got)
	}
	az := findProvider(t, c, "my-azure")
	if az.BaseURL == "" || az.Deployments["gpt-4o-mini"] == "" {
		t.Errorf("azure = base_url %q, deployments %v", az.BaseURL, az.Deployments)
	}
	vx := findProvider(t, c, "vertex")
	if vx.Project == "" || vx.Location != "us-central1" {
		t.Errorf("vertex = project %q location %q", vx.Project, vx.Location)
	}
	custom := findProvider(t, c, "internal-llm")
	if custom.Headers["X-Team"] != "platform" {
		t.Errorf("custom headers = %v", custom.Headers)
	}
	if got := findProvider(t, c, "openai").APIKey; got != "" {
		t.Errorf("openai api_key = %q with no OPENAI_API_KEY, want empty", got.Value())
	}
}

func TestExampleTakesSecretsFromTheEnvironment(t *testing.T) {
	c, err := config.Load("example.toml", env(
		"OPENAI_API_KEY", "sk-openai",
		"INTERNAL_LLM_TOKEN", "tok-internal",
		"OLLAMA_BASE_URL", "http://gpu-box:11434/v1",
		"GOOGLE_CLOUD_PROJECT", "prod-project",
	))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"openai api_key", findProvider(t, c, "openai").APIKey.Value(), "sk-openai"},
		{"custom header", findProvider(t, c, "internal-llm").Headers["X-Internal-Token"].Value(), "tok-internal"},
		{"ollama base_url", findProvider(t, c, "ollama").BaseURL, "http://gpu-box:11434/v1"},
		{"vertex project", findProvider(t, c, "vertex").Project, "prod-project"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
}

func TestUnknownKeysAreRejectedByName(t *testing.T) {
	tests := []struct {
		name string
		text string
		key  string
	}{
		{name: "a misspelt server key", text: "[server]\nprot = 8080\n" + mockOnly, key: "server.prot"},
		{name: "a misspelt provider key", text: mockOnly + "api_kye = \"x\"\n", key: "providers.api_kye"},
		{name: "a misspelt defaults table", text: "[defaults.retries]\nmax_retries = 1\n" + mockOnly, key: "defaults.retries"},
		{name: "a misspelt route target key", text: mockOnly +
			"[[routes]]\nmodel = \"m\"\ntargets = [{ provider = \"mock\", modle = \"mock-echo\" }]\n", key: "routes.targets.modle"},
		{name: "an unknown top-level key", text: "generator = []\n" + mockOnly, key: "generator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(tt.text, emptyEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "unknown key") || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name the unknown key %q", err, tt.key)
			}
		})
	}
}

func TestValidationErrorsNameTheirKey(t *testing.T) {
	const two = `
[[providers]]
kind = "mock"
models = ["mock-echo"]
[[providers]]
name = "other"
kind = "mock"
models = ["other-echo"]
`
	tests := []struct {
		name string
		text string
		want []string // substrings of the error
	}{
		{name: "no provider at all", text: "[server]\nport = 1\n", want: []string{"providers:"}},
		{name: "a bad kind", text: "[[providers]]\nkind = \"openia\"\n",
			want: []string{"providers[0].kind", `"openia"`}},
		{name: "a duplicate name", text: mockOnly + mockOnly, want: []string{"providers[1].name", `"mock"`}},
		{name: "a duplicate name from two unnamed providers of one kind",
			text: "[[providers]]\nkind = \"openai\"\n[[providers]]\nkind = \"openai\"\n", want: []string{"providers[1].name", `"openai"`}},
		{name: "two names that differ only in letter case", text: mockOnly + "[[providers]]\nname = \"MOCK\"\nkind = \"mock\"\n",
			want: []string{"providers[1].name", `"MOCK"`, "letter case"}},
		{name: "a name with a slash", text: "[[providers]]\nname = \"a/b\"\nkind = \"mock\"\n", want: []string{"providers[0].name", "'/'"}},
		{name: "a custom provider without base_url", text: "[[providers]]\nname = \"x\"\nkind = \"custom\"\n",
			want: []string{"providers[0].base_url", "custom"}},
		{name: "an azure provider without base_url", text: mockOnly + "[[providers]]\nkind = \"azure\"\n",
			want: []string{"providers[1].base_url", "azure"}},
		{name: "a vertex provider without project", text: "[[providers]]\nkind = \"vertex\"\nlocation = \"us-central1\"\n",
			want: []string{"providers[0].project", "vertex"}},
		{name: "a vertex provider without location", text: "[[providers]]\nkind = \"vertex\"\nproject = \"p\"\n",
			want: []string{"providers[0].location", "vertex"}},
		{name: "a credentials file on a provider that is not vertex", text: mockOnly + "credentials_file = \"/k.json\"\n",
			want: []string{"providers[0].credentials_file", "vertex"}},
		{name: "a vertex provider with both a credentials file and an api_key",
			text: "[[providers]]\nkind = \"vertex\"\nproject = \"p\"\nlocation = \"l\"\napi_key = \"ya29.x\"\ncredentials_file = \"/k.json\"\n",
			want: []string{"providers[0].credentials_file", "not both"}},
		{name: "a negative provider timeout", text: mockOnly + "timeout = \"-1s\"\n", want: []string{"providers[0].timeout"}},
		{name: "a negative mock delay", text: mockOnly + "delay = \"-1s\"\n", want: []string{"providers[0].delay"}},
		{name: "a negative body limit", text: "[server]\nmax_body_bytes = -1\n" + mockOnly, want: []string{"server.max_body_bytes"}},
		{name: "a route without model", text: two + "[[routes]]\ntargets = [{ provider = \"mock\", model = \"m\" }]\n",
			want: []string{"routes[0].model"}},
		{name: "a route defined twice", text: two +
			"[[routes]]\nmodel = \"m\"\ntargets = [{ provider = \"mock\", model = \"m\" }]\n" +
			"[[routes]]\nmodel = \"m\"\ntargets = [{ provider = \"mock\", model = \"m\" }]\n",
			want: []string{"routes[1].model", `"m"`}},
		{name: "a route without targets", text: two + "[[routes]]\nmodel = \"m\"\n", want: []string{"routes[0].targets"}},
		{name: "an unknown provider in a route target", text: two +
			"[[routes]]\nmodel = \"m\"\ntargets = [{ provider = \"mock\", model = \"m\" }, { provider = \"nope\", model = \"m\" }]\n",
			want: []string{"routes[0].targets[1].provider", `"nope"`}},
		{name: "a route target without model", text: two + "[[routes]]\nmodel = \"m\"\ntargets = [{ provider = \"mock\" }]\n",
			want: []string{"routes[0].targets[0].model"}},
		{name: "a negative weight", text: two + "[[routes]]\nmodel = \"m\"\ntargets = [{ provider = \"mock\", model = \"m\", weight = -1 }]\n",
			want: []string{"routes[0].targets[0].weight"}},
		{name: "a bad strategy", text: two + "[[routes]]\nmodel = \"m\"\nstrategy = \"fastest\"\ntargets = [{ provider = \"mock\", model = \"m\" }]\n",
			want: []string{"routes[0].strategy", `"fastest"`}},
		{name: "ab weights not summing to 100", text: two + `[[routes]]
model = "m"
strategy = "ab"
targets = [{ provider = "mock", model = "m", weight = 60 }, { provider = "other", model = "m", weight = 30 }]
`, want: []string{"routes[0].targets", "100", "90"}},
		{name: "weighted without weights", text: two + `[[routes]]
model = "m"
strategy = "weighted"
targets = [{ provider = "mock", model = "m" }, { provider = "other", model = "m" }]
`, want: []string{"routes[0].targets", "weighted"}},
		{name: "conditional without conditions", text: two + `[[routes]]
model = "m"
strategy = "conditional"
targets = [{ provider = "mock", model = "m" }]
`, want: []string{"routes[0].conditions"}},
		{name: "an unknown provider in a condition target", text: two + `[[routes]]
model = "m"
strategy = "conditional"
targets = [{ provider = "mock", model = "m" }]
[[routes.conditions]]
headers = { "X-Tier" = "premium" }
targets = [{ provider = "ghost", model = "m" }]
`, want: []string{"routes[0].conditions[0].targets[0].provider", `"ghost"`}},
		{name: "an alias to an unknown model", text: two + "[aliases]\nfast = \"gpt-9\"\n",
			want: []string{"aliases.fast", `"gpt-9"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(tt.text, emptyEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidationReportsEveryError(t *testing.T) {
	_, err := config.Parse(`
[[providers]]
kind = "openia"
[[routes]]
model = "m"
strategy = "fastest"
targets = [{ provider = "nope", model = "m" }]
`, emptyEnv)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"providers[0].kind", "routes[0].strategy", "routes[0].targets[0].provider"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q misses %s", err, key)
		}
	}
}

func TestAliasesMayNameAProviderModel(t *testing.T) {
	c := mustParse(t, mockOnly+"[aliases]\necho = \"mock-echo\"\n", emptyEnv)
	if c.Aliases["echo"] != "mock-echo" {
		t.Errorf("aliases = %v", c.Aliases)
	}
}

func TestEnvironmentExpansion(t *testing.T) {
	tests := []struct {
		name   string
		value  string
		getenv func(string) string
		want   string
	}{
		{name: "a set variable is substituted", value: "${KEY}", getenv: env("KEY", "sk-1"), want: "sk-1"},
		{name: "a default fills in for an unset variable", value: "${KEY:-fallback}", getenv: emptyEnv, want: "fallback"},
		{name: "a set variable wins over its default", value: "${KEY:-fallback}", getenv: env("KEY", "sk-1"), want: "sk-1"},
		{name: "an empty default makes a variable optional", value: "${KEY:-}", getenv: emptyEnv, want: ""},
		{name: "a variable set to empty takes the default", value: "${KEY:-fallback}", getenv: env("KEY", ""), want: "fallback"},
		{name: "several references in one value", value: "pre-${A}-${B:-b}-post", getenv: env("A", "a"), want: "pre-a-b-post"},
		{name: "a default may hold a URL", value: "${URL:-http://localhost:11434/v1}", getenv: emptyEnv, want: "http://localhost:11434/v1"},
		{name: "text without references is kept", value: "plain $NOT_EXPANDED", getenv: emptyEnv, want: "plain $NOT_EXPANDED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := fmt.Sprintf(`
[[providers]]
name = "x"
kind = "custom"
base_url = "https://example.com/v1"
api_key = %q
region = %q
project = %q
location = %q
models = ["m"]
[providers.headers]
"X-Token" = %q
`, tt.value, tt.value, tt.value, tt.value, tt.value)
			c := mustParse(t, text, tt.getenv)
			p := c.Providers[0]
			for field, got := range map[string]string{
				"api_key": p.APIKey.Value(), "region": p.Region, "project": p.Project, "location": p.Location,
				"headers.X-Token": p.Headers["X-Token"].Value(),
			} {
				if got != tt.want {
					t.Errorf("%s = %q, want %q", field, got, tt.want)
				}
			}
		})
	}
	t.Run("a vertex credentials_file is expanded and reaches the provider", func(t *testing.T) {
		c := mustParse(t, "[[providers]]\nkind = \"vertex\"\nproject = \"p\"\nlocation = \"us-central1\"\n"+
			"credentials_file = \"${GOOGLE_APPLICATION_CREDENTIALS}\"\n", env("GOOGLE_APPLICATION_CREDENTIALS", "/run/wif.json"))
		if got := c.Providers[0].ProviderConfig(0).CredentialsFile; got != "/run/wif.json" {
			t.Errorf("credentials_file = %q", got)
		}
	})
	t.Run("base_url is expanded", func(t *testing.T) {
		c := mustParse(t, "[[providers]]\nkind = \"custom\"\nbase_url = \"${HOST:-https://h}/v1\"\n", emptyEnv)
		if got := c.Providers[0].BaseURL; got != "https://h/v1" {
			t.Errorf("base_url = %q", got)
		}
	})
}

func TestUnsetVariableErrorNamesKeyAndVariable(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{name: "in api_key", text: "[[providers]]\nkind = \"openai\"\napi_key = \"${OPENAI_API_KEY}\"\n",
			want: []string{"providers[0].api_key", "OPENAI_API_KEY"}},
		{name: "in a header of the second provider", text: mockOnly +
			"[[providers]]\nname = \"c\"\nkind = \"custom\"\nbase_url = \"https://x\"\n[providers.headers]\nX-Token = \"Bearer ${TEAM_TOKEN}\"\n",
			want: []string{"providers[1].headers.X-Token", "TEAM_TOKEN"}},
		{name: "in base_url", text: "[[providers]]\nkind = \"custom\"\nbase_url = \"${LLM_URL}\"\n",
			want: []string{"providers[0].base_url", "LLM_URL"}},
		{name: "set to the empty string", text: "[[providers]]\nkind = \"openai\"\napi_key = \"${EMPTY}\"\n",
			want: []string{"providers[0].api_key", "EMPTY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(tt.text, env("EMPTY", ""))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	const key, token = "sk-live-123456", "tok-abcdef"
	c := mustParse(t, `
[[providers]]
name = "c"
kind = "custom"
base_url = "https://llm.example.com/v1"
api_key = "${KEY}"
models = ["m"]
[providers.headers]
"X-Token" = "${TOKEN}"
`, env("KEY", key, "TOKEN", token))
	p := c.Providers[0]
	if p.APIKey.Value() != key || p.Headers["X-Token"].Value() != token {
		t.Fatal("the secrets did not load")
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v of a Provider":           fmt.Sprintf("%v", p),
		"%+v of a Provider":          fmt.Sprintf("%+v", p),
		"%v of a *Provider":          fmt.Sprintf("%v", &p),
		"%+v of the Config":          fmt.Sprintf("%+v", c),
		"%+v of a provider.Config":   fmt.Sprintf("%+v", p.ProviderConfig(time.Minute)),
		"json.Marshal of the Config": string(js),
	}
	for name, out := range outputs {
		if strings.Contains(out, key) || strings.Contains(out, token) {
			t.Errorf("%s leaks a secret: %s", name, out)
		}
		if !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s shows no redaction marker: %s", name, out)
		}
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name         string
		getenv       func(string) string
		wantNames    []string
		wantModels   map[string][]string
		wantBaseURL  map[string]string
		wantWarning  bool
		wantProvider func(t *testing.T, c *config.Config)
	}{
		{name: "no keys serves the mock provider with a warning", getenv: emptyEnv,
			wantNames: []string{"mock"}, wantModels: map[string][]string{"mock": {"mock-echo"}}, wantWarning: true},
		{name: "keys give providers in order openai, gemini, anthropic",
			getenv:    env("ANTHROPIC_API_KEY", "a", "GEMINI_API_KEY", "g", "OPENAI_API_KEY", "o"),
			wantNames: []string{"openai", "gemini", "anthropic"},
			wantModels: map[string][]string{"openai": {"gpt-6-luna"}, "gemini": {"gemini-3.5-flash-lite"},
				"anthropic": {"claude-sonnet-5-5"}}},
		{name: "GOOGLE_API_KEY turns on gemini", getenv: env("GOOGLE_API_KEY", "g"), wantNames: []string{"gemini"},
			wantProvider: func(t *testing.T, c *config.Config) {
				if c.Providers[0].APIKey.Value() != "g" {
					t.Error("gemini does not use GOOGLE_API_KEY")
				}
			}},
		{name: "<PROVIDER>_BASE_URL and <PROVIDER>_MODELS override the defaults",
			getenv: env("OPENAI_API_KEY", "o", "OPENAI_BASE_URL", "http://proxy:8000/v1", "OPENAI_MODELS", " gpt-4o , gpt-4o-mini,, ",
				"ANTHROPIC_API_KEY", "a", "ANTHROPIC_BASE_URL", "http://claude-proxy", "ANTHROPIC_MODELS", "claude-haiku-4-5"),
			wantNames:   []string{"openai", "anthropic"},
			wantModels:  map[string][]string{"openai": {"gpt-4o", "gpt-4o-mini"}, "anthropic": {"claude-haiku-4-5"}},
			wantBaseURL: map[string]string{"openai": "http://proxy:8000/v1", "anthropic": "http://claude-proxy"}},
		{name: "an Azure key without an endpoint is not enough", getenv: env("AZURE_OPENAI_API_KEY", "z"),
			wantNames: []string{"mock"}, wantWarning: true},
		{name: "an Azure key with an endpoint turns on azure",
			getenv:      env("AZURE_OPENAI_API_KEY", "z", "AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com", "AZURE_OPENAI_API_VERSION", "2024-10-21"),
			wantNames:   []string{"azure"},
			wantBaseURL: map[string]string{"azure": "https://r.openai.azure.com"},
			wantProvider: func(t *testing.T, c *config.Config) {
				if c.Providers[0].APIVersion != "2024-10-21" {
					t.Errorf("api_version = %q", c.Providers[0].APIVersion)
				}
			}},
		{name: "OLLAMA_BASE_URL turns on ollama without a key", getenv: env("OLLAMA_BASE_URL", "http://localhost:11434/v1"),
			wantNames: []string{"ollama"}, wantModels: map[string][]string{"ollama": {"llama3.2"}}},
		{name: "BEDROCK_ENABLED turns on bedrock in BEDROCK_REGION", getenv: env("BEDROCK_ENABLED", "true", "BEDROCK_REGION", "eu-west-1"),
			wantNames: []string{"bedrock"},
			wantProvider: func(t *testing.T, c *config.Config) {
				if c.Providers[0].Region != "eu-west-1" || c.Providers[0].APIKey != "" {
					t.Errorf("bedrock = %+v", c.Providers[0])
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.FromEnv(tt.getenv)
			if c.Source != "environment" {
				t.Errorf("Source = %q", c.Source)
			}
			if got := providerNames(c); !slices.Equal(got, tt.wantNames) {
				t.Errorf("providers = %v, want %v", got, tt.wantNames)
			}
			for name, want := range tt.wantModels {
				// The named models; the kind's wildcard families follow them.
				got := slices.DeleteFunc(slices.Clone(findProvider(t, c, name).Models), func(m string) bool { return strings.Contains(m, "*") })
				if !slices.Equal(got, want) {
					t.Errorf("%s models = %v, want %v", name, got, want)
				}
			}
			for name, want := range tt.wantBaseURL {
				if got := findProvider(t, c, name).BaseURL; got != want {
					t.Errorf("%s base_url = %q, want %q", name, got, want)
				}
			}
			warned := len(c.Warnings) > 0 && strings.Contains(c.Warnings[0], "mock")
			if warned != tt.wantWarning {
				t.Errorf("warnings = %q, want a mock warning: %v", c.Warnings, tt.wantWarning)
			}
			if tt.wantProvider != nil {
				tt.wantProvider(t, c)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("the environment configuration does not validate: %v", err)
			}
			if c.Server.Port != 8080 || c.Defaults.Timeout != 60*time.Second {
				t.Errorf("defaults not applied: port %d, timeout %v", c.Server.Port, c.Defaults.Timeout)
			}
		})
	}
}

func TestPortEnvironmentVariable(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		port     string
		want     int
		wantFail bool
	}{
		{name: "PORT overrides the default port", port: "9090", want: 9090},
		{name: "PORT overrides the file's port", path: "example.toml", port: "3000", want: 3000},
		{name: "without PORT the file's port stands", path: "example.toml", want: 8080},
		{name: "a PORT that is not a number is an error", port: "http", wantFail: true},
		{name: "a PORT with trailing junk is an error", port: "80abc", wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(tt.path, env("PORT", tt.port))
			if tt.wantFail {
				if err == nil || !strings.Contains(err.Error(), "PORT") {
					t.Fatalf("err = %v, want an error naming PORT (port %d)", err, c.Server.Port)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Server.Port != tt.want {
				t.Errorf("port = %d, want %d", c.Server.Port, tt.want)
			}
		})
	}
}

func TestLoadReportsAMissingFile(t *testing.T) {
	if _, err := config.Load("testdata/does-not-exist.toml", emptyEnv); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestDurationsParseFromStrings(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{value: "30s", want: 30 * time.Second},
		{value: "250ms", want: 250 * time.Millisecond},
		{value: "1m30s", want: 90 * time.Second},
		{value: "2h", want: 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.value+" parses", func(t *testing.T) {
			c := mustParse(t, fmt.Sprintf(`
[server]
request_timeout = %[1]q
[defaults]
timeout = %[1]q
[defaults.retry]
base_backoff = %[1]q
[defaults.breaker]
recovery_timeout = %[1]q
[[providers]]
kind = "mock"
timeout = %[1]q
delay = %[1]q
`, tt.value), emptyEnv)
			got := []time.Duration{c.Server.Timeout, c.Defaults.Timeout, *c.Defaults.Retry.BaseBackoff,
				c.Defaults.Breaker.RecoveryTimeout, c.Providers[0].Timeout, c.Providers[0].Delay}
			for i, d := range got {
				if d != tt.want {
					t.Errorf("duration %d = %v, want %v", i, d, tt.want)
				}
			}
		})
	}
	t.Run("a malformed duration is an error", func(t *testing.T) {
		if _, err := config.Parse("[defaults]\ntimeout = \"30 seconds\"\n"+mockOnly, emptyEnv); err == nil {
			t.Error("accepted")
		}
	})
}

func TestDefaultsFillWhatIsUnset(t *testing.T) {
	c := mustParse(t, mockOnly, emptyEnv)
	if c.Server.Port != 8080 || c.Server.MaxBodyBytes != 10<<20 || c.Server.Timeout != 10*time.Minute {
		t.Errorf("server = %+v", c.Server)
	}
	if !slices.Contains(c.Server.CORS.AllowedHeaders, "Authorization") {
		t.Errorf("cors headers = %v", c.Server.CORS.AllowedHeaders)
	}
	if c.Providers[0].Name != "mock" {
		t.Errorf("an unnamed provider is named %q, want its kind", c.Providers[0].Name)
	}
	if got := c.RetryPolicy(nil); got != router.DefaultRetry {
		t.Errorf("retry = %+v, want %+v", got, router.DefaultRetry)
	}
	if got := c.BreakerConfig(); got != router.DefaultBreaker {
		t.Errorf("breaker = %+v, want %+v", got, router.DefaultBreaker)
	}
	if got := c.Providers[0].ProviderConfig(42 * time.Second).Timeout; got != 42*time.Second {
		t.Errorf("a provider without timeout gets %v, want the default passed in", got)
	}
}

func TestExplicitZerosAreKept(t *testing.T) {
	c := mustParse(t, `
[defaults.retry]
max_retries = 0
[defaults.breaker]
failure_threshold = 0
`+mockOnly, emptyEnv)
	if got := c.RetryPolicy(nil).MaxRetries; got != 0 {
		t.Errorf("max_retries = 0 became %d", got)
	}
	if got := c.BreakerConfig().FailureThreshold; got != 0 {
		t.Errorf("failure_threshold = 0 became %d", got)
	}
}

func TestExplicitZeroDurationsMeanZero(t *testing.T) {
	const route = `
[[routes]]
model = "m"
targets = [{ provider = "mock", model = "mock-echo" }]
`
	tests := []struct {
		name string
		text string
		got  func(c *config.Config) time.Duration
		want time.Duration
	}{
		{name: "a zero base_backoff retries without a wait", text: "[defaults.retry]\nbase_backoff = \"0s\"\n" + mockOnly,
			got: func(c *config.Config) time.Duration { return c.RetryPolicy(nil).BaseBackoff }},
		{name: "a zero base_backoff as an integer", text: "[defaults.retry]\nbase_backoff = 0\n" + mockOnly,
			got: func(c *config.Config) time.Duration { return c.RetryPolicy(nil).BaseBackoff }},
		{name: "a route's zero base_backoff wins over the defaults'",
			text: "[defaults.retry]\nbase_backoff = \"1s\"\n" + mockOnly + route + "[routes.retry]\nbase_backoff = \"0s\"\n",
			got:  func(c *config.Config) time.Duration { return c.RetryPolicy(c.Routes[0].Retry).BaseBackoff }},
		{name: "a route that leaves base_backoff out takes the defaults'",
			text: "[defaults.retry]\nbase_backoff = \"0s\"\n" + mockOnly + route + "[routes.retry]\nmax_retries = 3\n",
			got:  func(c *config.Config) time.Duration { return c.RetryPolicy(c.Routes[0].Retry).BaseBackoff }},
		{name: "a zero key_cache_ttl trusts no key in-process", text: "[auth]\nkey_cache_ttl = \"0s\"\n" + mockOnly,
			got: func(c *config.Config) time.Duration { return c.Auth.KeyCacheTTL }},
		{name: "a zero mock delay answers at once", text: mockOnly + "delay = \"0s\"\n",
			got: func(c *config.Config) time.Duration { return c.Providers[0].Delay }},
		{name: "a negative route cache_ttl still turns caching off for the route", text: mockOnly + route + "cache_ttl = \"-1s\"\n",
			got: func(c *config.Config) time.Duration { return c.Routes[0].CacheTTL }, want: -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.got(mustParse(t, tt.text, emptyEnv)); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExplicitZeroDurationsAreRefusedWhereZeroIsNoValue(t *testing.T) {
	const two = mockOnly + "[[providers]]\nname = \"other\"\nkind = \"mock\"\nmodels = [\"other-echo\"]\n"
	const route = "[[routes]]\nmodel = \"m\"\n"
	tests := []struct {
		name string
		text string
		want []string // substrings of the error
	}{
		{name: "the server's request timeout", text: "[server]\nrequest_timeout = \"0s\"\n" + mockOnly,
			want: []string{"config: server.request_timeout: 0s is not a timeout; leave it out for the default (10m)"}},
		{name: "the default upstream timeout", text: "[defaults]\ntimeout = \"0s\"\n" + mockOnly,
			want: []string{"config: defaults.timeout: 0s is not a timeout; leave it out for the default (1m)"}},
		{name: "the default upstream timeout as an integer", text: "[defaults]\ntimeout = 0\n" + mockOnly,
			want: []string{"defaults.timeout: 0s is not a timeout"}},
		{name: "a provider's timeout", text: two + "timeout = \"0s\"\n",
			want: []string{"config: providers[1].timeout: 0s is not a timeout; leave it out for defaults.timeout (1m)"}},
		{name: "a route target's timeout", text: two + route +
			"targets = [{ provider = \"mock\", model = \"m\" }, { provider = \"other\", model = \"m\", timeout = \"0s\" }]\n",
			want: []string{"config: routes[0].targets[1].timeout: 0s is not a timeout; leave it out for its provider's"}},
		{name: "a condition target's timeout", text: two + route + "strategy = \"conditional\"\ntargets = [{ provider = \"mock\", model = \"m\" }]\n" +
			"[[routes.conditions]]\nmodel = \"x\"\ntargets = [{ provider = \"other\", model = \"m\", timeout = \"0ms\" }]\n",
			want: []string{"routes[0].conditions[0].targets[0].timeout: 0s is not a timeout"}},
		{name: "the breaker's recovery timeout", text: "[defaults.breaker]\nrecovery_timeout = \"0s\"\n" + mockOnly,
			want: []string{"config: defaults.breaker.recovery_timeout: 0s is not a recovery timeout; leave it out for the default (30s)"}},
		{name: "the default max_backoff", text: "[defaults.retry]\nmax_backoff = \"0s\"\n" + mockOnly,
			want: []string{"config: defaults.retry.max_backoff: 0s is not a longest wait; leave it out for the default (5s)",
				`base_backoff = "0s"`}},
		{name: "a route's max_backoff", text: mockOnly + route + "targets = [{ provider = \"mock\", model = \"m\" }]\n[routes.retry]\nmax_backoff = \"0s\"\n",
			want: []string{"config: routes[0].retry.max_backoff: 0s is not a longest wait; leave it out for defaults.retry.max_backoff"}},
		{name: "the cache's ttl", text: "[cache]\nttl = \"0s\"\n" + mockOnly,
			want: []string{"config: cache.ttl: 0s is not a lifetime; leave it out for the default (1h)", "enabled = false"}},
		{name: "a route's cache_ttl", text: mockOnly + route + "cache_ttl = \"0s\"\ntargets = [{ provider = \"mock\", model = \"m\" }]\n",
			want: []string{"config: routes[0].cache_ttl: 0s is not a lifetime; leave it out for cache.ttl", "negative"}},
		{name: "the JWT lifetime", text: "[auth]\njwt_ttl = \"0s\"\n" + mockOnly,
			want: []string{"config: auth.jwt_ttl: 0s is not a lifetime; leave it out for the default (15m)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(tt.text, emptyEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNegativeDurationsAreRefusedByName(t *testing.T) {
	const route = "[[routes]]\nmodel = \"m\"\n"
	tests := []struct {
		name string
		text string
		key  string
	}{
		{name: "the server's request timeout", text: "[server]\nrequest_timeout = \"-1s\"\n" + mockOnly, key: "server.request_timeout"},
		{name: "the default upstream timeout", text: "[defaults]\ntimeout = \"-1s\"\n" + mockOnly, key: "defaults.timeout"},
		{name: "a route target's timeout", text: mockOnly + route + "targets = [{ provider = \"mock\", model = \"m\", timeout = \"-1s\" }]\n",
			key: "routes[0].targets[0].timeout"},
		{name: "the default base_backoff", text: "[defaults.retry]\nbase_backoff = \"-1ms\"\n" + mockOnly, key: "defaults.retry.base_backoff"},
		{name: "a route's base_backoff", text: mockOnly + route + "targets = [{ provider = \"mock\", model = \"m\" }]\n[routes.retry]\nbase_backoff = \"-1ms\"\n",
			key: "routes[0].retry.base_backoff"},
		{name: "the default max_backoff", text: "[defaults.retry]\nmax_backoff = \"-1s\"\n" + mockOnly, key: "defaults.retry.max_backoff"},
		{name: "the breaker's recovery timeout", text: "[defaults.breaker]\nrecovery_timeout = \"-1s\"\n" + mockOnly, key: "defaults.breaker.recovery_timeout"},
		{name: "the key cache's ttl", text: "[auth]\nkey_cache_ttl = \"-1s\"\n" + mockOnly, key: "auth.key_cache_ttl"},
		{name: "the JWT lifetime", text: "[auth]\njwt_ttl = \"-1s\"\n" + mockOnly, key: "auth.jwt_ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(tt.text, emptyEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			if want := "config: " + tt.key + ": must not be negative"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		})
	}
}

func TestRouteRetryMergesWithDefaults(t *testing.T) {
	c := mustParse(t, `
[defaults.retry]
max_retries = 3
base_backoff = "1s"
max_backoff = "9s"
`+mockOnly+`
[[routes]]
model = "m"
targets = [{ provider = "mock", model = "mock-echo" }]
[routes.retry]
max_retries = 0
base_backoff = "50ms"
`, emptyEnv)
	got := c.RetryPolicy(c.Routes[0].Retry)
	want := router.RetryPolicy{MaxRetries: 0, BaseBackoff: 50 * time.Millisecond, MaxBackoff: 9 * time.Second}
	if got != want {
		t.Errorf("route retry = %+v, want %+v", got, want)
	}
}

func TestModelNamesAreSortedAndUnique(t *testing.T) {
	c := config.FromEnv(env("OPENAI_API_KEY", "o", "OPENAI_MODELS", "b,a", "GROQ_API_KEY", "g", "GROQ_MODELS", "a,c"))
	if got, want := c.ModelNames(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("ModelNames() = %v, want %v", got, want)
	}
}

// Secret's redaction is what keeps keys out of logs and admin output.
func TestSecretRedacts(t *testing.T) {
	s := provider.Secret("sk-1")
	if s.String() != "[REDACTED]" || provider.Secret("").String() != "" {
		t.Errorf("String() = %q / %q", s.String(), provider.Secret("").String())
	}
}

func TestNonFiniteNumbersAreRejected(t *testing.T) {
	for _, v := range []string{"nan", "inf", "-inf", "-1.0"} {
		if _, err := config.Parse("[[providers]]\nkind=\"mock\"\nmodels=[\"m\"]\n[pricing.m]\ninput = "+v+"\noutput = 1.0\n", func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "pricing.m") {
			t.Errorf("price %s: err = %v", v, err)
		}
		toml := "[[providers]]\nkind=\"mock\"\nmodels=[\"m\"]\n[[routes]]\nmodel=\"r\"\nstrategy=\"weighted\"\ntargets=[{provider=\"mock\", model=\"m\", weight=" + v + "}]\n"
		if _, err := config.Parse(toml, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "weight") {
			t.Errorf("weight %s: err = %v", v, err)
		}
	}
}

func TestStateAndLimitsComeFromTheEnvironment(t *testing.T) {
	env := map[string]string{"GATEWAY_AUTH": "true", "GATEWAY_STORE": "dynamodb", "TABLE_NAME": "t1",
		"GATEWAY_MAX_BODY_BYTES": "5000000", "GATEWAY_CACHE": "true", "GATEWAY_CACHE_TTL": "5m", "GATEWAY_METRICS_NAMESPACE": "NS"}
	c := config.FromEnv(func(k string) string { return env[k] })
	if !c.Auth.Enabled || c.Store.Kind != "dynamodb" || c.Store.Table != "t1" || c.Server.MaxBodyBytes != 5000000 ||
		!c.Cache.Enabled || c.Cache.TTL != 5*time.Minute || c.Metrics.Namespace != "NS" {
		t.Fatalf("%+v", c)
	}
}
