// Package config loads the gateway's configuration: a TOML file (with ${ENV}
// expansion for secrets) or, without one, providers built from the environment.
package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/aigateway/gateway/internal/guardrails"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
)

// Config is the whole configuration.
type Config struct {
	Server    Server            `toml:"server" json:"server"`
	Defaults  Defaults          `toml:"defaults" json:"defaults"`
	Providers []Provider        `toml:"providers" json:"providers"`
	Routes    []Route           `toml:"routes" json:"routes"`
	Aliases   map[string]string `toml:"aliases" json:"aliases,omitempty"`
	// Generate lists the targets of POST /generate without a provider, in
	// failover order ("provider/model" or a route name). Default: each
	// provider's first model, in provider order.
	Generate []string `toml:"generate" json:"generate,omitempty"`

	Auth    Auth                `toml:"auth" json:"auth"`
	Store   Store               `toml:"store" json:"store"`
	Cache   Cache               `toml:"cache" json:"cache"`
	Limits  Limits              `toml:"limits" json:"limits"`
	Pricing map[string]PriceCfg `toml:"pricing" json:"pricing,omitempty"`
	Metrics Metrics             `toml:"metrics" json:"metrics"`
	// Guardrails are content rules: global, plus a profile per key (key metadata "guardrails").
	// Not in JSON output: the word lists are policy, shown only as counts by /admin/config.
	Guardrails guardrails.Set `toml:"guardrails" json:"-"`

	// Source says where the configuration came from ("file <name>" or "environment").
	Source string `toml:"-" json:"source"`
	// Warnings are notes for the start-up log (e.g. the mock provider is in use).
	Warnings []string `toml:"-" json:"-"`
}

// Server configures the HTTP front.
type Server struct {
	Port         int           `toml:"port" json:"port"`
	MaxBodyBytes int64         `toml:"max_body_bytes" json:"max_body_bytes"`
	Timeout      time.Duration `toml:"request_timeout" json:"request_timeout"`
	LogPrompts   bool          `toml:"log_prompts" json:"log_prompts"`
	CORS         CORS          `toml:"cors" json:"cors"`
}

// CORS configures cross-origin access.
type CORS struct {
	AllowedOrigins []string `toml:"allowed_origins" json:"allowed_origins"`
	AllowedHeaders []string `toml:"allowed_headers" json:"allowed_headers"`
}

// Defaults apply to every route and provider that sets nothing.
type Defaults struct {
	Timeout time.Duration `toml:"timeout" json:"timeout"`
	Retry   Retry         `toml:"retry" json:"retry"`
	Breaker Breaker       `toml:"breaker" json:"breaker"`
}

// Retry mirrors router.RetryPolicy.
type Retry struct {
	MaxRetries  *int          `toml:"max_retries" json:"max_retries,omitempty"`
	BaseBackoff time.Duration `toml:"base_backoff" json:"base_backoff,omitempty"`
	MaxBackoff  time.Duration `toml:"max_backoff" json:"max_backoff,omitempty"`
}

// Breaker mirrors router.BreakerConfig.
type Breaker struct {
	FailureThreshold *int          `toml:"failure_threshold" json:"failure_threshold,omitempty"`
	RecoveryTimeout  time.Duration `toml:"recovery_timeout" json:"recovery_timeout,omitempty"`
	HalfOpenMaxCalls int           `toml:"half_open_max_calls" json:"half_open_max_calls,omitempty"`
}

// Auth configures who may call the gateway.
type Auth struct {
	// Enabled requires a virtual key or JWT on every API call (the local
	// server defaults to off and says so; deployed stacks turn it on).
	Enabled bool `toml:"enabled" json:"enabled"`
	// AdminKey guards /admin/*; without it the admin API is closed.
	AdminKey provider.Secret `toml:"admin_key" json:"admin_key,omitempty"`
	// KeyCacheTTL is how long a looked-up key is trusted in-process.
	KeyCacheTTL time.Duration `toml:"key_cache_ttl" json:"key_cache_ttl"`
	// JWTHS256Secret enables HS256 tokens and POST /auth/token.
	JWTHS256Secret provider.Secret `toml:"jwt_hs256_secret" json:"jwt_hs256_secret,omitempty"`
	// JWTRS256PublicKey (PEM) enables RS256 tokens from an external issuer.
	JWTRS256PublicKey string        `toml:"jwt_rs256_public_key" json:"jwt_rs256_public_key,omitempty"`
	JWTIssuer         string        `toml:"jwt_issuer" json:"jwt_issuer,omitempty"`
	JWTTTL            time.Duration `toml:"jwt_ttl" json:"jwt_ttl"`
}

// Store selects where state lives.
type Store struct {
	// Kind is "memory" (default) or "dynamodb".
	Kind string `toml:"kind" json:"kind"`
	// Table is the DynamoDB table name.
	Table string `toml:"table" json:"table,omitempty"`
	// Endpoint overrides the DynamoDB endpoint (DynamoDB Local, LocalStack).
	Endpoint string `toml:"endpoint" json:"endpoint,omitempty"`
	// CreateTable creates the table at start when missing (local use).
	CreateTable bool `toml:"create_table" json:"create_table,omitempty"`
}

// Cache configures the exact response cache.
type Cache struct {
	Enabled bool `toml:"enabled" json:"enabled"`
	// TTL is the default lifetime of an entry; routes may override it.
	TTL time.Duration `toml:"ttl" json:"ttl"`
	// MaxEntries and MaxBytes bound the in-process LRU in front of the store.
	MaxEntries int   `toml:"max_entries" json:"max_entries"`
	MaxBytes   int64 `toml:"max_bytes" json:"max_bytes"`
}

// Limits configures rate-limit behaviour.
type Limits struct {
	// FailClosed refuses requests when the limit store cannot be reached
	// (default: fail open, logged and counted). Authentication always fails closed.
	FailClosed bool `toml:"fail_closed" json:"fail_closed"`
}

// Metrics configures the metrics outputs.
type Metrics struct {
	// Namespace is the CloudWatch namespace of the EMF lines Lambda functions write.
	Namespace string `toml:"namespace" json:"namespace"`
}

// PriceCfg overrides one model's price, USD per million tokens.
type PriceCfg struct {
	Input       float64  `toml:"input" json:"input"`
	Output      float64  `toml:"output" json:"output"`
	CachedInput *float64 `toml:"cached_input" json:"cached_input,omitempty"`
}

// Provider is one [[providers]] entry.
type Provider struct {
	Name        string                     `toml:"name" json:"name"`
	Kind        string                     `toml:"kind" json:"kind"`
	BaseURL     string                     `toml:"base_url" json:"base_url,omitempty"`
	APIKey      provider.Secret            `toml:"api_key" json:"api_key,omitempty"`
	Headers     map[string]provider.Secret `toml:"headers" json:"headers,omitempty"`
	APIVersion  string                     `toml:"api_version" json:"api_version,omitempty"`
	Deployments map[string]string          `toml:"deployments" json:"deployments,omitempty"`
	Project     string                     `toml:"project" json:"project,omitempty"`
	Location    string                     `toml:"location" json:"location,omitempty"`
	Region      string                     `toml:"region" json:"region,omitempty"`
	Models      []string                   `toml:"models" json:"models"`
	Timeout     time.Duration              `toml:"timeout" json:"timeout,omitempty"`
	Delay       time.Duration              `toml:"delay" json:"delay,omitempty"`
	// RPM and TPM cap requests and tokens per minute for each of this
	// provider's targets (protecting upstream quotas); 0 is unlimited.
	RPM int64 `toml:"rpm" json:"rpm,omitempty"`
	TPM int64 `toml:"tpm" json:"tpm,omitempty"`
}

// Route is one [[routes]] entry.
type Route struct {
	Model      string      `toml:"model" json:"model"`
	Strategy   string      `toml:"strategy" json:"strategy"`
	Aliases    []string    `toml:"aliases" json:"aliases,omitempty"`
	Targets    []Target    `toml:"targets" json:"targets"`
	Conditions []Condition `toml:"conditions" json:"conditions,omitempty"`
	Retry      *Retry      `toml:"retry" json:"retry,omitempty"`
	NoFailover bool        `toml:"no_failover" json:"no_failover,omitempty"`
	// CacheTTL overrides [cache] ttl for this route; a negative value turns caching off for it.
	CacheTTL time.Duration `toml:"cache_ttl" json:"cache_ttl,omitempty"`
}

// Target is a route's provider + upstream model.
type Target struct {
	Provider string        `toml:"provider" json:"provider"`
	Model    string        `toml:"model" json:"model"`
	Weight   float64       `toml:"weight" json:"weight,omitempty"`
	Timeout  time.Duration `toml:"timeout" json:"timeout,omitempty"`
}

// Condition is one rule of a conditional route.
type Condition struct {
	Model    string            `toml:"model" json:"model,omitempty"`
	Headers  map[string]string `toml:"headers" json:"headers,omitempty"`
	Metadata map[string]string `toml:"metadata" json:"metadata,omitempty"`
	Fields   map[string]string `toml:"fields" json:"fields,omitempty"`
	Targets  []Target          `toml:"targets" json:"targets"`
}

// Kinds lists every provider kind.
var Kinds = []string{"openai", "azure", "groq", "mistral", "together", "perplexity", "ollama", "deepseek", "xai",
	"openrouter", "fireworks", "custom", "anthropic", "gemini", "vertex", "bedrock", "cohere", "mock"}

// Load reads the configuration: the TOML file at path when path is set,
// otherwise the environment. getenv is usually os.Getenv.
func Load(path string, getenv func(string) string) (*Config, error) {
	var c *Config
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		c, err = Parse(string(data), getenv)
		if err != nil {
			return nil, err
		}
		c.Source = "file " + path
	} else {
		c = FromEnv(getenv)
	}
	if p := getenv("PORT"); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("config: PORT %q is not a number", p)
		}
		c.Server.Port = port
	}
	return c, nil
}

// Parse decodes and validates TOML text.
func Parse(text string, getenv func(string) string) (*Config, error) {
	var c Config
	md, err := toml.Decode(text, &c)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config: unknown key(s): %s", strings.Join(keys, ", "))
	}
	if err := c.expand(getenv); err != nil {
		return nil, err
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandString replaces ${VAR} and ${VAR:-default}; an unset VAR without a
// default is an error naming the key.
func expandString(key, s string, getenv func(string) string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := envRef.FindStringSubmatch(m)
		if v := getenv(sub[1]); v != "" {
			return v
		}
		if sub[2] != "" {
			return sub[3]
		}
		missing = append(missing, sub[1])
		return ""
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("config: %s: environment variable %s is not set", key, strings.Join(missing, ", "))
	}
	return out, nil
}

func (c *Config) expand(getenv func(string) string) error {
	var errs []error
	ex := func(key string, s *string) {
		v, err := expandString(key, *s, getenv)
		if err != nil {
			errs = append(errs, err)
		}
		*s = v
	}
	for i := range c.Providers {
		p := &c.Providers[i]
		k := fmt.Sprintf("providers[%d]", i)
		key := string(p.APIKey)
		ex(k+".api_key", &key)
		p.APIKey = provider.Secret(key)
		ex(k+".base_url", &p.BaseURL)
		ex(k+".project", &p.Project)
		ex(k+".location", &p.Location)
		ex(k+".region", &p.Region)
		for h, v := range p.Headers {
			s := string(v)
			ex(fmt.Sprintf("%s.headers.%s", k, h), &s)
			p.Headers[h] = provider.Secret(s)
		}
	}
	admin, jwtSecret := string(c.Auth.AdminKey), string(c.Auth.JWTHS256Secret)
	ex("auth.admin_key", &admin)
	ex("auth.jwt_hs256_secret", &jwtSecret)
	c.Auth.AdminKey, c.Auth.JWTHS256Secret = provider.Secret(admin), provider.Secret(jwtSecret)
	ex("auth.jwt_rs256_public_key", &c.Auth.JWTRS256PublicKey)
	ex("store.table", &c.Store.Table)
	ex("store.endpoint", &c.Store.Endpoint)
	return errors.Join(errs...)
}

func (c *Config) applyDefaults() {
	if c.Server.Port == 0 {
		c.Server.Port = 8080
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = 10 << 20
	}
	if c.Server.Timeout == 0 {
		c.Server.Timeout = 10 * time.Minute
	}
	if len(c.Server.CORS.AllowedHeaders) == 0 {
		c.Server.CORS.AllowedHeaders = []string{"Authorization", "Content-Type", "X-Api-Key", "X-Gateway-Provider", "X-Gateway-Cache", "Cache-Control"}
	}
	if c.Defaults.Timeout == 0 {
		c.Defaults.Timeout = 60 * time.Second
	}
	d := &c.Defaults.Retry
	if d.MaxRetries == nil {
		v := router.DefaultRetry.MaxRetries
		d.MaxRetries = &v
	}
	if d.BaseBackoff == 0 {
		d.BaseBackoff = router.DefaultRetry.BaseBackoff
	}
	if d.MaxBackoff == 0 {
		d.MaxBackoff = router.DefaultRetry.MaxBackoff
	}
	b := &c.Defaults.Breaker
	if b.FailureThreshold == nil {
		v := router.DefaultBreaker.FailureThreshold
		b.FailureThreshold = &v
	}
	if b.RecoveryTimeout == 0 {
		b.RecoveryTimeout = router.DefaultBreaker.RecoveryTimeout
	}
	if b.HalfOpenMaxCalls == 0 {
		b.HalfOpenMaxCalls = router.DefaultBreaker.HalfOpenMaxCalls
	}
	if c.Metrics.Namespace == "" {
		c.Metrics.Namespace = "AIGateway"
	}
	if c.Auth.KeyCacheTTL == 0 {
		c.Auth.KeyCacheTTL = 30 * time.Second
	}
	if c.Auth.JWTTTL == 0 {
		c.Auth.JWTTTL = 15 * time.Minute
	}
	if c.Store.Kind == "" {
		c.Store.Kind = "memory"
	}
	if c.Cache.TTL == 0 {
		c.Cache.TTL = time.Hour
	}
	if c.Cache.MaxEntries == 0 {
		c.Cache.MaxEntries = 10_000
	}
	if c.Cache.MaxBytes == 0 {
		c.Cache.MaxBytes = 64 << 20
	}
	for i := range c.Providers {
		if c.Providers[i].Name == "" {
			c.Providers[i].Name = c.Providers[i].Kind
		}
	}
}

// Validate checks references and values; every error names its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("config: "+format, args...)) }
	names := map[string]bool{}
	if len(c.Providers) == 0 {
		bad("providers: at least one provider is required")
	}
	for i, p := range c.Providers {
		k := fmt.Sprintf("providers[%d]", i)
		if !slices.Contains(Kinds, p.Kind) {
			bad("%s.kind: %q is not one of %s", k, p.Kind, strings.Join(Kinds, ", "))
		}
		if names[p.Name] {
			bad("%s.name: %q is used twice", k, p.Name)
		}
		if strings.Contains(p.Name, "/") {
			bad("%s.name: %q must not contain '/'", k, p.Name)
		}
		names[p.Name] = true
		if (p.Kind == "custom" || p.Kind == "azure") && p.BaseURL == "" {
			bad("%s.base_url: required for kind %q", k, p.Kind)
		}
		if p.Kind == "vertex" && p.Project == "" {
			bad("%s.project: required for kind vertex", k)
		}
		if p.Kind == "vertex" && p.Location == "" {
			bad("%s.location: required for kind vertex", k)
		}
		if p.Timeout < 0 {
			bad("%s.timeout: must not be negative", k)
		}
		if p.Delay < 0 {
			bad("%s.delay: must not be negative", k)
		}
	}
	routes := map[string]bool{}
	checkTargets := func(k string, ts []Target) {
		if len(ts) == 0 {
			bad("%s.targets: at least one target is required", k)
		}
		for j, t := range ts {
			if !names[t.Provider] {
				bad("%s.targets[%d].provider: unknown provider %q", k, j, t.Provider)
			}
			if t.Model == "" {
				bad("%s.targets[%d].model: required", k, j)
			}
			if !finite(t.Weight) {
				bad("%s.targets[%d].weight: must be a finite number, not negative", k, j)
			}
		}
	}
	for i, r := range c.Routes {
		k := fmt.Sprintf("routes[%d]", i)
		if r.Model == "" {
			bad("%s.model: required", k)
		}
		if routes[r.Model] {
			bad("%s.model: %q is defined twice", k, r.Model)
		}
		routes[r.Model] = true
		if r.Strategy != "" && !slices.Contains(router.Strategies, r.Strategy) {
			bad("%s.strategy: %q is not one of %s", k, r.Strategy, strings.Join(router.Strategies, ", "))
		}
		checkTargets(k, r.Targets)
		if r.Strategy == router.StrategyConditional && len(r.Conditions) == 0 {
			bad("%s.conditions: a conditional route needs at least one condition", k)
		}
		for j, cond := range r.Conditions {
			checkTargets(fmt.Sprintf("%s.conditions[%d]", k, j), cond.Targets)
		}
		if r.Strategy == router.StrategyAB || r.Strategy == router.StrategyWeighted {
			sum := 0.0
			for _, t := range r.Targets {
				sum += t.Weight
			}
			if sum <= 0 {
				bad("%s.targets: strategy %s needs positive weights", k, r.Strategy)
			}
			if r.Strategy == router.StrategyAB && (sum < 99.999 || sum > 100.001) {
				bad("%s.targets: ab split percentages must add up to 100 (got %g)", k, sum)
			}
		}
	}
	for alias, target := range c.Aliases {
		if !routes[target] && !c.providerModel(target) {
			bad("aliases.%s: points at unknown model %q", alias, target)
		}
	}
	if c.Store.Kind != "memory" && c.Store.Kind != "dynamodb" {
		bad("store.kind: %q is not memory or dynamodb", c.Store.Kind)
	}
	if c.Store.Kind == "dynamodb" && c.Store.Table == "" {
		bad("store.table: required when store.kind is dynamodb")
	}
	if s := c.Auth.JWTHS256Secret; s != "" && len(s) < 32 {
		bad("auth.jwt_hs256_secret: must be at least 32 characters")
	}
	for m, p := range c.Pricing {
		if !finite(p.Input) || !finite(p.Output) || (p.CachedInput != nil && !finite(*p.CachedInput)) {
			bad("pricing.%s: prices must be finite numbers, not negative", m)
		}
	}
	if c.Server.MaxBodyBytes < 0 {
		bad("server.max_body_bytes: must not be negative")
	}
	return errors.Join(errs...)
}

func (c *Config) providerModel(model string) bool {
	for _, p := range c.Providers {
		if slices.Contains(p.Models, model) {
			return true
		}
	}
	return false
}

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

// ProviderConfig converts an entry for the provider constructors.
func (p Provider) ProviderConfig(defaultTimeout time.Duration) provider.Config {
	t := p.Timeout
	if t == 0 {
		t = defaultTimeout
	}
	return provider.Config{
		Name: p.Name, Kind: p.Kind, BaseURL: p.BaseURL, APIKey: p.APIKey, Headers: p.Headers,
		APIVersion: p.APIVersion, Deployments: p.Deployments, Project: p.Project, Location: p.Location,
		Region: p.Region, Models: p.Models, Timeout: t, Delay: p.Delay,
	}
}

// RetryPolicy resolves a route's retry policy against the defaults.
func (c *Config) RetryPolicy(r *Retry) router.RetryPolicy {
	d := c.Defaults.Retry
	p := router.RetryPolicy{MaxRetries: *d.MaxRetries, BaseBackoff: d.BaseBackoff, MaxBackoff: d.MaxBackoff}
	if r != nil {
		if r.MaxRetries != nil {
			p.MaxRetries = *r.MaxRetries
		}
		if r.BaseBackoff != 0 {
			p.BaseBackoff = r.BaseBackoff
		}
		if r.MaxBackoff != 0 {
			p.MaxBackoff = r.MaxBackoff
		}
	}
	return p
}

// BreakerConfig resolves the breaker defaults.
func (c *Config) BreakerConfig() router.BreakerConfig {
	b := c.Defaults.Breaker
	return router.BreakerConfig{FailureThreshold: *b.FailureThreshold, RecoveryTimeout: b.RecoveryTimeout, HalfOpenMaxCalls: b.HalfOpenMaxCalls}
}

// ModelNames returns every model the providers list, sorted (for logs).
func (c *Config) ModelNames() []string {
	seen := map[string]bool{}
	for _, p := range c.Providers {
		for _, m := range p.Models {
			seen[m] = true
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// finite reports a number that is neither negative, NaN nor infinite.
func finite(x float64) bool { return x >= 0 && !math.IsInf(x, 1) }
