package config

import (
	"sort"
	"time"

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

	// origin maps a key to the environment variable that set it, so that
	// validation errors name both.
	origin map[string]string
	// defined holds every key the file or the environment set, named as the
	// errors name it (providers[0].timeout), so that a duration set to zero
	// is told from one left out.
	defined map[string]bool
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

// Retry mirrors router.RetryPolicy. A nil field is unset (a route's takes
// [defaults.retry]'s), so that zero is a value: base_backoff = "0s" retries
// without a wait.
type Retry struct {
	MaxRetries  *int           `toml:"max_retries" json:"max_retries,omitempty"`
	BaseBackoff *time.Duration `toml:"base_backoff" json:"base_backoff,omitempty"`
	MaxBackoff  *time.Duration `toml:"max_backoff" json:"max_backoff,omitempty"`
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
	// KeyCacheTTL is how long a looked-up key is trusted in-process; 0 trusts
	// none (every request looks its key up).
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
	// Scope is who shares an entry: "key" (default) keeps each virtual key's
	// answers its own; "global" shares them between keys (a hit then tells a
	// key that another sent the same request).
	Scope string `toml:"scope" json:"scope"`
	// Store is when an answer is written to the shared store (DynamoDB)
	// behind the in-process cache: "first" (default) on every miss;
	// "repeat" when its key asks the same again: the first answer stays in
	// the instance's memory only, and a key with limits or a budget learns
	// of its repeat from the write that admits it, so a miss costs no write
	// of its own (a repeat on another instance then calls the model again).
	// The memory store keeps every answer either way.
	Store string `toml:"store" json:"store"`
}

// Cache scopes.
const (
	CacheScopeKey    = "key"
	CacheScopeGlobal = "global"
)

// When answers reach the shared cache.
const (
	CacheStoreFirst  = "first"
	CacheStoreRepeat = "repeat"
)

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

// PriceCfg overrides one model's price, USD per million tokens. The prompt
// cache's prices default as in internal/pricing: cached_input and
// cache_write to input, cache_write_1h to cache_write.
type PriceCfg struct {
	Input       float64  `toml:"input" json:"input"`
	Output      float64  `toml:"output" json:"output"`
	CachedInput *float64 `toml:"cached_input" json:"cached_input,omitempty"`
	// CacheWrite prices prompt tokens written to the provider's prompt cache
	// (Anthropic's five-minute writes); CacheWrite1h its one-hour writes.
	CacheWrite   *float64 `toml:"cache_write" json:"cache_write,omitempty"`
	CacheWrite1h *float64 `toml:"cache_write_1h" json:"cache_write_1h,omitempty"`
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
	// CredentialsFile is Vertex AI's Google credentials file (a service
	// account key, or workload identity federation's configuration); without
	// it and without api_key, Application Default Credentials are used.
	CredentialsFile string `toml:"credentials_file" json:"credentials_file,omitempty"`
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
	// CacheTTL overrides [cache] ttl for this route; a negative value turns caching off for it
	// (0 is refused: leave the key out for [cache] ttl).
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

// Kinds lists every provider kind's name, in provider.Kinds order.
var Kinds = kindNames()

func kindNames() []string {
	ks := provider.Kinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.Name
	}
	return names
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
		CredentialsFile: p.CredentialsFile, Region: p.Region, Models: p.Models, Timeout: t, Delay: p.Delay,
	}
}

// RetryPolicy resolves a route's retry policy against the defaults.
func (c *Config) RetryPolicy(r *Retry) router.RetryPolicy {
	d := c.Defaults.Retry
	p := router.RetryPolicy{MaxRetries: *d.MaxRetries, BaseBackoff: *d.BaseBackoff, MaxBackoff: *d.MaxBackoff}
	if r != nil {
		if r.MaxRetries != nil {
			p.MaxRetries = *r.MaxRetries
		}
		if r.BaseBackoff != nil {
			p.BaseBackoff = *r.BaseBackoff
		}
		if r.MaxBackoff != nil {
			p.MaxBackoff = *r.MaxBackoff
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
