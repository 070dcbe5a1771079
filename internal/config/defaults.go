package config

import (
	"time"

	"github.com/aigateway/gateway/internal/router"
)

// newConfig is the first layer: the defaults that a zero value cannot stand
// for (a switch that is on unless turned off). The file and the environment
// go over it; applyDefaults fills the rest once they have.
func newConfig() *Config {
	c := &Config{}
	// The exact response cache, in memory for the local server and in the
	// state store when deployed: [cache] enabled = false or
	// GATEWAY_CACHE=false turns it off.
	c.Cache.Enabled = true
	return c
}

// applyDefaults fills every value the file or the environment left unset
// (zero).
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
