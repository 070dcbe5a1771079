package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

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
	names := map[string]bool{}
	if len(c.Providers) == 0 {
		bad("providers: at least one provider is required")
	}
	folded := map[string]string{}
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
			if !nonNegativeFinite(t.Weight) {
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

// nonNegativeFinite reports whether x is a usable weight or price: zero or
// more, and neither NaN nor infinite (TOML accepts nan, inf and -inf).
func nonNegativeFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0 }
