// Package admission decides whether a request may run and charges it once it
// has: it authenticates the caller (virtual key or JWT), checks the key's
// allow-lists, reserves the key's rate limits, reads its budget, looks the
// request up in the response cache, and after the upstream call settles the
// real tokens, the cost and the spend, and stores a complete answer in the
// cache.
//
// The HTTP layer calls Authenticate, then Admit, which returns a Ticket; the
// ticket wraps every upstream attempt (per-target limits) and is settled once.
// Nothing here writes a response: every refusal is an *openai.Error.
package admission

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aigateway/gateway/internal/auth"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
)

// Settings are the parts of the configuration admission acts on.
type Settings struct {
	// AuthEnabled requires a key on every request; off, every caller is anonymous.
	AuthEnabled bool
	// KeyCacheTTL is how long a looked-up key is trusted in-process.
	KeyCacheTTL time.Duration
	// FailClosed refuses requests whose limits cannot be checked (else they pass).
	FailClosed bool
	// CacheEnabled turns the response cache on; CacheTTL is its default entry
	// lifetime and RouteCacheTTL overrides it per route (0 turns it off there).
	CacheEnabled bool
	CacheTTL     time.Duration
	// CacheGlobal shares entries between keys (default: each key its own).
	CacheGlobal bool
	// CacheStoreRepeat writes a key's answer to the shared store only when
	// the key asks the same again, learnt from the write that admits the
	// request (config.Cache.Store "repeat"); off, every miss's answer.
	CacheStoreRepeat bool
	RouteCacheTTL    map[string]time.Duration
	// TargetLimits are a provider's own requests and tokens per minute.
	TargetLimits map[string]TargetLimit
	// DefaultMaxOutputTokens is the output a budget reservation assumes for a
	// request that sets no maximum.
	DefaultMaxOutputTokens int64
}

// DefaultMaxOutputTokens is the output assumed when neither the request nor
// the configuration bounds it.
const DefaultMaxOutputTokens = 4096

// TargetLimit is one provider's per-minute limits (0 is unlimited).
type TargetLimit struct {
	RequestsPerMinute int64
	TokensPerMinute   int64
}

// Admitter holds what admission needs across requests.
type Admitter struct {
	set    Settings
	store  *state.Store
	lru    state.Cache // in-process cache in front of a shared store; nil when the store is in memory
	keys   *keyCache
	jwt    *auth.JWT
	router *router.Router
	prices *pricing.Table
	log    *slog.Logger
	now    func() time.Time
	count  counters
	full   fullShards // sharded keys' shards known full (shards.go)
}

// Options are the runtime parts admission uses.
type Options struct {
	Store *state.Store
	// LocalCache sits in front of a shared store's cache (nil: none).
	LocalCache state.Cache
	JWT        *auth.JWT
	// Router answers which targets a key's allowed_models grant.
	Router *router.Router
	Prices *pricing.Table
	Logger *slog.Logger
	Now    func() time.Time
}

// New builds an Admitter.
func New(set Settings, o Options) *Admitter {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Admitter{set: set, store: o.Store, lru: o.LocalCache, jwt: o.JWT, router: o.Router, prices: o.Prices, log: o.Logger, now: o.Now,
		keys: &keyCache{ttl: set.KeyCacheTTL, m: map[string]keyCacheEntry{}}}
}

// counters admission keeps about the state layer.
type counters struct {
	limitErrors atomic.Int64 // limit store failures (fail open or closed)
	failOpen    atomic.Int64 // admissions with a key or target limit window left uncounted
	cacheErrors atomic.Int64
	spendErrors atomic.Int64
	unpriced    atomic.Int64 // answers whose model has no price
}

// Counters is a snapshot of the state-layer failures admission absorbed.
// FailOpen is the number of times a request was admitted although one of
// its limit windows (its key's, or a target's own) could not be counted
// (the store failed and FailClosed is off): a limit of N admits at most
// N + FailOpen requests in a window.
type Counters struct {
	LimitErrors, CacheErrors, SpendErrors, Unpriced, FailOpen int64
}

// Counters reports the state-layer failures so far.
func (a *Admitter) Counters() Counters {
	return Counters{a.count.limitErrors.Load(), a.count.cacheErrors.Load(), a.count.spendErrors.Load(), a.count.unpriced.Load(),
		a.count.failOpen.Load()}
}

// Store is the state store admission reads and writes (the admin API uses it too).
func (a *Admitter) Store() *state.Store { return a.store }
