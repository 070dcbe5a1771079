package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/provider"
)

// FromEnv builds the configuration from the environment: one provider per
// kind the environment turns on, in provider.Kinds order (usually by its API
// key; Ollama by OLLAMA_BASE_URL, Bedrock by BEDROCK_ENABLED=true or
// BEDROCK_MODELS), each with a <PROVIDER>_BASE_URL override and a
// <PROVIDER>_MODELS list. With no provider at all the mock provider serves
// model mock-echo.
func FromEnv(getenv func(string) string) *Config {
	c := &Config{Source: "environment"}
	for _, k := range provider.Kinds() {
		if p, ok := envProvider(k, getenv); ok {
			c.Providers = append(c.Providers, p)
		}
	}
	if len(c.Providers) == 0 {
		c.Providers = []Provider{{Name: "mock", Kind: "mock", Models: []string{"mock-echo"}}}
		c.Warnings = append(c.Warnings, "no provider credentials found in the environment: serving the MOCK provider as model mock-echo (set OPENAI_API_KEY, GEMINI_API_KEY, ANTHROPIC_API_KEY, ... or GATEWAY_CONFIG)")
	}
	c.applyEnvState(getenv)
	c.applyDefaults()
	return c
}

// envProvider is kind k's provider when the environment turns it on.
func envProvider(k provider.Kind, getenv func(string) string) (Provider, bool) {
	key := ""
	if k.KeyEnv != "" {
		key = getenv(k.KeyEnv)
	}
	if key == "" && k.AltKeyEnv != "" {
		key = getenv(k.AltKeyEnv)
	}
	var on bool
	switch k.Env {
	case provider.EnvKey:
		on = key != ""
	case provider.EnvKeyAndBaseURL:
		on = key != "" && getenv(k.BaseURLEnv) != ""
	case provider.EnvBaseURL:
		on = getenv(k.BaseURLEnv) != ""
	case provider.EnvEnabled:
		on = getenv(k.EnabledEnv) == "true" || getenv(k.ModelsEnv) != ""
	}
	if !on {
		return Provider{}, false
	}
	p := Provider{Name: k.Name, Kind: k.Name, APIKey: provider.Secret(key), BaseURL: getenv(k.BaseURLEnv),
		Models: append([]string{k.DefaultModel}, k.ModelFamilies...)}
	if ms := splitList(getenv(k.ModelsEnv)); len(ms) > 0 {
		p.Models = ms
	}
	if k.APIVersionEnv != "" {
		p.APIVersion = getenv(k.APIVersionEnv)
	}
	if k.RegionEnv != "" {
		p.Region = getenv(k.RegionEnv)
	}
	return p, true
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
	c.Cache.Scope = getenv("GATEWAY_CACHE_SCOPE")
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
