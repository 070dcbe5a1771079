package config

import (
	"time"

	"github.com/aigateway/gateway/internal/router"
)

// The defaults of the durations for which zero is no value (Validate refuses
// an explicit zero and names the default).
const (
	defaultRequestTimeout = 10 * time.Minute
	defaultTimeout        = 60 * time.Second
	defaultCacheTTL       = time.Hour
	defaultJWTTTL         = 15 * time.Minute
)

// newConfig is the first layer: the defaults that a zero value cannot stand
// for (a switch that is on unless turned off). The file and the environment
// go over it; applyDefaults fills the rest once they have.
func newConfig() *Config {
	c := &Config{defined: map[string]bool{}}
	// The exact response cache, in memory for the local server and in the
	// state store when deployed: [cache] enabled = false or
	// GATEWAY_CACHE=false turns it off.
	c.Cache.Enabled = true
	return c
}

// applyDefaults fills every value the file or the environment left unset:
// zero, or nil for a pointer. A duration they set to zero stays zero (for
// Validate to keep or refuse).
func (c *Config) applyDefaults() {
	unset := func(key string, d time.Duration) bool { return d == 0 && !c.defined[key] }
	if c.Server.Port == 0 {
		c.Server.Port = 8080
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = 10 << 20
	}
	if unset("server.request_timeout", c.Server.Timeout) {
		c.Server.Timeout = defaultRequestTimeout
	}
	if len(c.Server.CORS.AllowedHeaders) == 0 {
		c.Server.CORS.AllowedHeaders = []string{"Authorization", "Content-Type", "X-Api-Key", "X-Gateway-Provider", "X-Gateway-Cache", "Cache-Control"}
	}
	if unset("defaults.timeout", c.Defaults.Timeout) {
		c.Defaults.Timeout = defaultTimeout
	}
	d := &c.Defaults.Retry
	orDefault(&d.MaxRetries, router.DefaultRetry.MaxRetries)
	orDefault(&d.BaseBackoff, router.DefaultRetry.BaseBackoff)
	orDefault(&d.MaxBackoff, router.DefaultRetry.MaxBackoff)
	b := &c.Defaults.Breaker
	orDefault(&b.FailureThreshold, router.DefaultBreaker.FailureThreshold)
	if unset("defaults.breaker.recovery_timeout", b.RecoveryTimeout) {
		b.RecoveryTimeout = router.DefaultBreaker.RecoveryTimeout
	}
	if b.HalfOpenMaxCalls == 0 {
		b.HalfOpenMaxCalls = router.DefaultBreaker.HalfOpenMaxCalls
	}
	if c.Metrics.Namespace == "" {
		c.Metrics.Namespace = "AIGateway"
	}
	if unset("auth.key_cache_ttl", c.Auth.KeyCacheTTL) {
		c.Auth.KeyCacheTTL = 30 * time.Second
	}
	if unset("auth.jwt_ttl", c.Auth.JWTTTL) {
		c.Auth.JWTTTL = defaultJWTTTL
	}
	if c.Store.Kind == "" {
		c.Store.Kind = "memory"
	}
	if unset("cache.ttl", c.Cache.TTL) {
		c.Cache.TTL = defaultCacheTTL
	}
	if c.Cache.Scope == "" {
		c.Cache.Scope = CacheScopeKey
	}
	if c.Cache.Store == "" {
		c.Cache.Store = CacheStoreFirst
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

// orDefault points *p at v when it is nil (unset).
func orDefault[T any](p **T, v T) {
	if *p == nil {
		*p = &v
	}
}
