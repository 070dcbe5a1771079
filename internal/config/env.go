package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/provider"
)

// envProviders is the default provider set, in failover order: OpenAI, Gemini,
// then the rest. Each entry's key variable turns it on.
var envProviders = []struct {
	name, kind, keyVar, baseVar, defaultModel string
}{
	{"openai", "openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "gpt-4o-mini"},
	{"gemini", "gemini", "GEMINI_API_KEY", "GEMINI_BASE_URL", "gemini-2.5-flash"},
	{"anthropic", "anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "claude-sonnet-4-5"},
	{"azure", "azure", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "gpt-4o-mini"},
	{"groq", "groq", "GROQ_API_KEY", "GROQ_BASE_URL", "llama-3.3-70b-versatile"},
	{"mistral", "mistral", "MISTRAL_API_KEY", "MISTRAL_BASE_URL", "mistral-small-latest"},
	{"together", "together", "TOGETHER_API_KEY", "TOGETHER_BASE_URL", "meta-llama/Llama-3.3-70B-Instruct-Turbo"},
	{"perplexity", "perplexity", "PERPLEXITY_API_KEY", "PERPLEXITY_BASE_URL", "sonar"},
	{"deepseek", "deepseek", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", "deepseek-chat"},
	{"xai", "xai", "XAI_API_KEY", "XAI_BASE_URL", "grok-3-mini"},
	{"cohere", "cohere", "COHERE_API_KEY", "COHERE_BASE_URL", "command-r-plus"},
	{"ollama", "ollama", "", "OLLAMA_BASE_URL", "llama3.2"},
	{"bedrock", "bedrock", "", "BEDROCK_BASE_URL", "anthropic.claude-3-5-haiku-20241022-v1:0"},
}

// FromEnv builds the configuration from the environment: one provider per
// API key found (Ollama when OLLAMA_BASE_URL is set, Bedrock when
// BEDROCK_ENABLED=true or BEDROCK_MODELS is set), each with a
// <PROVIDER>_BASE_URL override and a <PROVIDER>_MODELS list. With no provider
// at all the mock provider serves model mock-echo.
func FromEnv(getenv func(string) string) *Config {
	c := &Config{Source: "environment"}
	for _, e := range envProviders {
		prefix := strings.ToUpper(e.name)
		on := e.keyVar != "" && getenv(e.keyVar) != ""
		switch e.kind {
		case "ollama":
			on = getenv("OLLAMA_BASE_URL") != ""
		case "bedrock":
			on = getenv("BEDROCK_ENABLED") == "true" || getenv("BEDROCK_MODELS") != ""
		case "azure":
			on = on && getenv("AZURE_OPENAI_ENDPOINT") != ""
		}
		if e.kind == "gemini" && !on && getenv("GOOGLE_API_KEY") != "" {
			on = true
			e.keyVar = "GOOGLE_API_KEY"
		}
		if !on {
			continue
		}
		p := Provider{Name: e.name, Kind: e.kind, BaseURL: getenv(e.baseVar), Models: []string{e.defaultModel}}
		if e.keyVar != "" {
			p.APIKey = provider.Secret(getenv(e.keyVar))
		}
		if ms := splitList(getenv(prefix + "_MODELS")); len(ms) > 0 {
			p.Models = ms
		}
		if e.kind == "azure" {
			p.APIVersion = getenv("AZURE_OPENAI_API_VERSION")
		}
		if e.kind == "bedrock" {
			p.Region = getenv("BEDROCK_REGION")
		}
		c.Providers = append(c.Providers, p)
	}
	if len(c.Providers) == 0 {
		c.Providers = []Provider{{Name: "mock", Kind: "mock", Models: []string{"mock-echo"}}}
		c.Warnings = append(c.Warnings, "no provider credentials found in the environment: serving the MOCK provider as model mock-echo (set OPENAI_API_KEY, GEMINI_API_KEY, ANTHROPIC_API_KEY, ... or GATEWAY_CONFIG)")
	}
	c.applyEnvState(getenv)
	c.applyDefaults()
	return c
}

// applyEnvState reads the state, auth and cache settings of an
// environment-only configuration:
//
//	GATEWAY_AUTH=true|false     require virtual keys (default false for the local server)
//	GATEWAY_ADMIN_KEY           the admin key for /admin/*
//	GATEWAY_JWT_SECRET          HS256 secret (enables POST /auth/token)
//	GATEWAY_STORE=dynamodb      with TABLE_NAME (and DYNAMODB_ENDPOINT for DynamoDB Local)
//	GATEWAY_CACHE=true          the response cache, GATEWAY_CACHE_TTL=1h
//	GATEWAY_LIMITS_FAIL_CLOSED=true
func (c *Config) applyEnvState(getenv func(string) string) {
	c.Auth.Enabled = getenv("GATEWAY_AUTH") == "true"
	c.Auth.AdminKey = provider.Secret(getenv("GATEWAY_ADMIN_KEY"))
	c.Auth.JWTHS256Secret = provider.Secret(getenv("GATEWAY_JWT_SECRET"))
	c.Store.Kind = getenv("GATEWAY_STORE")
	c.Store.Table = getenv("TABLE_NAME")
	c.Store.Endpoint = getenv("DYNAMODB_ENDPOINT")
	c.Store.CreateTable = getenv("GATEWAY_CREATE_TABLE") == "true"
	c.Cache.Enabled = getenv("GATEWAY_CACHE") == "true"
	if d, err := time.ParseDuration(getenv("GATEWAY_CACHE_TTL")); err == nil {
		c.Cache.TTL = d
	}
	c.Limits.FailClosed = getenv("GATEWAY_LIMITS_FAIL_CLOSED") == "true"
	c.Metrics.Namespace = getenv("GATEWAY_METRICS_NAMESPACE")
	if n, err := strconv.ParseInt(getenv("GATEWAY_MAX_BODY_BYTES"), 10, 64); err == nil && n > 0 {
		c.Server.MaxBodyBytes = n
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
