package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
)

// Validate checks references and values; every error names its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if key, rest, ok := strings.Cut(msg, ":"); ok && c.origin[key] != "" {
			msg = key + " (from " + c.origin[key] + "):" + rest
		}
		errs = append(errs, errors.New("config: "+msg))
	}
	// No duration is negative; where zero is no value, a zero that the file
	// or the environment set is refused, naming what the key takes unset.
	nonNegative := func(key string, d time.Duration) bool {
		if d < 0 {
			bad("%s: must not be negative", key)
		}
		return d >= 0
	}
	positive := func(key string, d time.Duration, what, unset string) {
		if nonNegative(key, d) && d == 0 && c.defined[key] {
			bad("%s: 0s is not %s; leave it out for %s", key, what, unset)
		}
	}
	retry := func(k string, r *Retry, unset string) {
		if r.BaseBackoff != nil {
			nonNegative(k+".base_backoff", *r.BaseBackoff) // 0 retries without a wait
		}
		if r.MaxBackoff != nil { // the router reads a MaxBackoff of 0 as its default
			positive(k+".max_backoff", *r.MaxBackoff, "a longest wait", unset+`, or set base_backoff = "0s" to retry without a wait`)
		}
	}
	names := map[string]bool{}
	if len(c.Providers) == 0 {
		bad("providers: at least one provider is required")
	}
	folded := map[string]string{}
	providerTimeout := "defaults.timeout"
	if c.Defaults.Timeout > 0 {
		providerTimeout += " (" + short(c.Defaults.Timeout) + ")"
	}
	for i, p := range c.Providers {
		k := fmt.Sprintf("providers[%d]", i)
		kind, known := provider.LookupKind(p.Kind)
		if !known {
			bad("%s.kind: %q is not one of %s", k, p.Kind, strings.Join(Kinds, ", "))
		}
		if names[p.Name] {
			bad("%s.name: %q is used twice", k, p.Name)
		} else if other, ok := folded[strings.ToLower(p.Name)]; ok {
			// Pins name providers ignoring case: two such names are one.
			bad("%s.name: %q differs from %q only in letter case", k, p.Name, other)
		}
		folded[strings.ToLower(p.Name)] = p.Name
		if strings.Contains(p.Name, "/") {
			bad("%s.name: %q must not contain '/'", k, p.Name)
		}
		names[p.Name] = true
		if kind.NeedsBaseURL() && p.BaseURL == "" {
			bad("%s.base_url: required for kind %q", k, p.Kind)
		}
		if p.Kind == "vertex" && p.Project == "" {
			bad("%s.project: required for kind vertex", k)
		}
		if p.Kind == "vertex" && p.Location == "" {
			bad("%s.location: required for kind vertex", k)
		}
		if p.CredentialsFile != "" && p.Kind != "vertex" {
			bad("%s.credentials_file: only kind vertex takes a Google credentials file", k)
		}
		if p.CredentialsFile != "" && p.APIKey != "" {
			bad("%s.credentials_file: set credentials_file or api_key (a static access token), not both", k)
		}
		positive(k+".timeout", p.Timeout, "a timeout", providerTimeout)
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
			if !nonNegativeFinite(t.Weight) {
				bad("%s.targets[%d].weight: must be a finite number, not negative", k, j)
			}
			positive(fmt.Sprintf("%s.targets[%d].timeout", k, j), t.Timeout, "a timeout", "its provider's")
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
		if r.Retry != nil {
			retry(k+".retry", r.Retry, "defaults.retry.max_backoff")
		}
		if r.CacheTTL == 0 && c.defined[k+".cache_ttl"] {
			bad("%s.cache_ttl: 0s is not a lifetime; leave it out for cache.ttl, or set a negative one to turn caching off for this route", k)
		}
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
	if c.Cache.TTL == 0 && c.defined["cache.ttl"] {
		bad("cache.ttl: 0s is not a lifetime; leave it out for the default (%s), or set enabled = false to turn the cache off", short(defaultCacheTTL))
	}
	if c.Cache.Scope != CacheScopeKey && c.Cache.Scope != CacheScopeGlobal {
		bad("cache.scope: %q is not key or global", c.Cache.Scope)
	}
	if c.Cache.Store != CacheStoreFirst && c.Cache.Store != CacheStoreRepeat {
		bad("cache.store: %q is not first or repeat", c.Cache.Store)
	}
	if c.Store.Kind != "memory" && c.Store.Kind != "dynamodb" {
		bad("store.kind: %q is not memory or dynamodb", c.Store.Kind)
	}
	if c.Store.Kind == "dynamodb" && c.Store.Table == "" {
		bad("store.table: required when store.kind is dynamodb")
	}
	nonNegative("auth.key_cache_ttl", c.Auth.KeyCacheTTL) // 0 trusts no key in-process
	positive("auth.jwt_ttl", c.Auth.JWTTTL, "a lifetime", "the default ("+short(defaultJWTTTL)+")")
	if s := c.Auth.JWTHS256Secret; s != "" && len(s) < 32 {
		bad("auth.jwt_hs256_secret: must be at least 32 characters")
	}
	for m, p := range c.Pricing {
		optional := func(v *float64) bool { return v == nil || nonNegativeFinite(*v) }
		if !nonNegativeFinite(p.Input) || !nonNegativeFinite(p.Output) || !optional(p.CachedInput) || !optional(p.CacheWrite) || !optional(p.CacheWrite1h) {
			bad("pricing.%s: prices must be finite numbers, not negative", m)
		}
	}
	if c.Server.MaxBodyBytes < 0 {
		bad("server.max_body_bytes: must not be negative")
	}
	positive("server.request_timeout", c.Server.Timeout, "a timeout", "the default ("+short(defaultRequestTimeout)+")")
	positive("defaults.timeout", c.Defaults.Timeout, "a timeout", "the default ("+short(defaultTimeout)+")")
	retry("defaults.retry", &c.Defaults.Retry, "the default ("+short(router.DefaultRetry.MaxBackoff)+")")
	positive("defaults.breaker.recovery_timeout", c.Defaults.Breaker.RecoveryTimeout, "a recovery timeout",
		"the default ("+short(router.DefaultBreaker.RecoveryTimeout)+")")
	return errors.Join(errs...)
}

// short writes d without its zero units: 10m, not 10m0s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (c *Config) providerModel(model string) bool {
	for _, p := range c.Providers {
		if slices.Contains(p.Models, model) {
			return true
		}
	}
	return false
}

// nonNegativeFinite reports whether x is a usable weight or price: zero or
// more, and neither NaN nor infinite (TOML accepts nan, inf and -inf).
func nonNegativeFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0 }
