// Package memory implements the gateway state (keys, limits, spend, cache) in
// process memory: the embedded default of `make run` and of unit tests. Every
// type is safe for concurrent use and exact: a counter is changed under a lock,
// never read then written. Nothing survives a restart, and nothing is shared
// between processes (so between Lambda instances): deployments use state/dynamo.
package memory

import (
	"time"

	"github.com/aigateway/gateway/internal/state"
)

// Options tunes a memory store. The zero value is usable.
type Options struct {
	// Now is the clock that decides expiry (cache entries, spend days and
	// months, counter windows). Default time.Now.
	Now func() time.Time
	// CacheMaxEntries bounds the response cache's entry count. Default 10,000.
	CacheMaxEntries int
	// CacheMaxBytes bounds the response cache's total size (bodies plus a small
	// per-entry overhead). Default 64 MiB.
	CacheMaxBytes int64
}

// Defaults of Options.
const (
	DefaultCacheMaxEntries = 10_000
	DefaultCacheMaxBytes   = 64 << 20
)

// New returns a memory store whose expiry follows now (nil: time.Now), with
// the default cache bounds.
func New(now func() time.Time) *state.Store {
	return NewWithOptions(Options{Now: now})
}

// NewWithOptions returns a memory store tuned by o.
func NewWithOptions(o Options) *state.Store {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	limits, spend := NewLimits(now), NewSpend(now)
	return &state.Store{
		Keys:    NewKeys(),
		Limits:  limits,
		Spend:   spend,
		KeyUses: NewKeyUses(limits, spend),
		Cache:   NewCache(now, o.CacheMaxEntries, o.CacheMaxBytes),
		Name:    "memory",
		// Responses: stored responses of POST /v1/responses (responses.go).
		Responses: NewResponses(now, 0),
	}
}

// sweepEvery is how often (by the store's clock) the limits and spend maps drop
// expired entries, so that memory stays bounded by the live windows.
const sweepEvery = time.Minute
