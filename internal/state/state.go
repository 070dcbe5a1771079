// Package state defines the gateway's shared state: virtual keys, rate-limit
// counters, spend, the response cache and the Responses API's stored
// responses. Each concern has one interface and
// two implementations: state/memory (the embedded default of `make run`) and
// state/dynamo (what a deployment uses). One conformance suite,
// state/statetest, runs against both.
//
// DynamoDB layout (one table, on-demand): partition key `pk` (S), sort key
// `sk` (S), TTL attribute `ttl` (N, epoch seconds). Items:
//
//	key       pk=KEY#<sha256-hex>      sk=KEY       the virtual key record (looked up by hash)
//	key index pk=KEYID#<id>            sk=KEY       points at the hash (admin get/disable/delete by id)
//	counter   pk=RL#<counter-name>     sk=<window>  attribute `c` (N), conditional atomic ADD, ttl = window end + slack
//	spend     pk=SPEND#<key-id>        sk=TOTAL | DAY#2026-11-25 | MONTH#2026-11  attribute `usd_micros` (N), ADD
//	cache     pk=CACHE#<sha256-hex>    sk=CACHE     attribute `body` (B, gzip when large), `ct`, ttl
//	response  pk=RESP#<response-id>    sk=RESP      attribute `owner` (S), `body` (B, gzip when large), ttl
//
// Expired items are ignored on read: DynamoDB's TTL deletion lags by up to
// two days.
package state

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when an item does not exist (or has expired).
var ErrNotFound = errors.New("not found")

// ErrExists is returned by Create when the item already exists.
var ErrExists = errors.New("already exists")

// Key is a virtual key. The secret itself is never stored: only its SHA-256.
type Key struct {
	// ID is the public identifier (admin API, logs, spend); not secret.
	ID string `json:"id"`
	// Hash is the hex SHA-256 of the secret `sk-gw-...` string.
	Hash             string            `json:"-"`
	Name             string            `json:"name,omitempty"`
	Owner            string            `json:"owner,omitempty"`
	Team             string            `json:"team,omitempty"`
	Enabled          bool              `json:"enabled"`
	CreatedAt        time.Time         `json:"created_at"`
	ExpiresAt        time.Time         `json:"expires_at,omitzero"`
	AllowedModels    []string          `json:"allowed_models,omitempty"`
	AllowedProviders []string          `json:"allowed_providers,omitempty"`
	Limits           KeyLimits         `json:"limits,omitzero"`
	Budget           Budget            `json:"budget,omitzero"`
	Metadata         map[string]string `json:"metadata,omitempty"`
}

// Expired reports whether the key has an expiry in the past.
func (k *Key) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// KeyLimits are per-key rate limits; zero means unlimited.
type KeyLimits struct {
	RequestsPerMinute int64 `json:"rpm,omitempty"`
	RequestsPerHour   int64 `json:"rph,omitempty"`
	TokensPerMinute   int64 `json:"tpm,omitempty"`
}

// Budget caps a key's spend in US dollars; zero means no cap.
type Budget struct {
	TotalUSD   float64 `json:"total_usd,omitempty"`
	DailyUSD   float64 `json:"daily_usd,omitempty"`
	MonthlyUSD float64 `json:"monthly_usd,omitempty"`
}

// Keys stores virtual keys.
type Keys interface {
	// Create stores a new key; ErrExists when its hash or id is taken.
	Create(ctx context.Context, k *Key) error
	// ByHash finds a key by the SHA-256 of its secret; ErrNotFound when absent.
	ByHash(ctx context.Context, hash string) (*Key, error)
	// ByID finds a key by its public id; ErrNotFound when absent.
	ByID(ctx context.Context, id string) (*Key, error)
	// List returns every key, ordered by creation time.
	List(ctx context.Context) ([]*Key, error)
	// SetEnabled enables or disables a key; ErrNotFound when absent.
	SetEnabled(ctx context.Context, id string, enabled bool) error
	// Delete removes a key; ErrNotFound when absent.
	Delete(ctx context.Context, id string) error
}

// Window is one fixed window of a counter.
type Window struct {
	// Name identifies the counter, e.g. "key:<id>:rpm" or "target:<provider/model>:tpm".
	Name string
	// Size is the window length (a minute, an hour).
	Size time.Duration
}

// Start returns the start of the window that contains t.
func (w Window) Start(t time.Time) time.Time { return t.Truncate(w.Size) }

// TakeResult is the outcome of Limits.Take.
type TakeResult struct {
	// Allowed is false when adding n would have passed the limit (nothing was added).
	Allowed bool
	// Count is the counter's value after the call (or the current value when refused,
	// when the implementation knows it; -1 when unknown).
	Count int64
	// Reset is when the window ends.
	Reset time.Time
}

// Limits holds exact fixed-window counters.
type Limits interface {
	// Take adds n to the counter of the window containing now when the result
	// stays within limit; otherwise it adds nothing and reports Allowed=false.
	// Exact under concurrency (a conditional atomic add, never read-then-write).
	Take(ctx context.Context, w Window, now time.Time, n, limit int64) (TakeResult, error)
	// Adjust adds delta (possibly negative) to the counter of the window
	// containing at, unconditionally: settling a token reservation with the real usage.
	Adjust(ctx context.Context, w Window, at time.Time, delta int64) error
}

// SpendTotals are a key's spend so far, in micro-dollars.
type SpendTotals struct {
	TotalMicros int64
	DayMicros   int64
	MonthMicros int64
}

// SpendAmounts are micro-dollars per budget period: the key's total, the UTC
// day and the UTC month of a moment. As caps, 0 means no cap.
type SpendAmounts struct {
	Total, Day, Month int64
}

// ErrOverBudget is returned by Reserve when a capped period's spend has
// reached its cap; the error names the period ("total", "daily", "monthly").
var ErrOverBudget = errors.New("over budget")

// OverBudget is the error Reserve returns; errors.Is(err, ErrOverBudget).
type OverBudget struct{ Period string }

func (e *OverBudget) Error() string        { return e.Period + " budget reached" }
func (e *OverBudget) Is(target error) bool { return target == ErrOverBudget }

// Spend records what each key spent.
type Spend interface {
	// Add adds micros to the key's total, its UTC day and its UTC month, atomically per counter.
	Add(ctx context.Context, keyID string, at time.Time, micros int64) error
	// Get returns the key's totals for the day and month containing at.
	Get(ctx context.Context, keyID string, at time.Time) (SpendTotals, error)
	// Reserve adds micros to every period that has a cap, each atomically and
	// only while that period's spend is below its cap, before a call whose
	// cost is not known yet. When a capped period is at or over its cap the
	// others are given back and the error is an *OverBudget. It returns what
	// it reserved per period, for Adjust to settle to the real cost.
	Reserve(ctx context.Context, keyID string, at time.Time, micros int64, caps SpendAmounts) (SpendAmounts, error)
	// Adjust adds each non-zero amount (negative ones give back) to its period.
	Adjust(ctx context.Context, keyID string, at time.Time, d SpendAmounts) error
}

// CacheEntry is a cached response.
type CacheEntry struct {
	Body        []byte
	ContentType string
	// Provider and Model name the target that produced the answer.
	Provider string
	Model    string
	Created  time.Time
}

// Cache is the exact response cache.
type Cache interface {
	// Get returns the entry for key; ErrNotFound on a miss or an expired entry.
	Get(ctx context.Context, key string) (*CacheEntry, error)
	// Put stores an entry for ttl.
	Put(ctx context.Context, key string, e *CacheEntry, ttl time.Duration) error
}

// Responses keeps the responses of POST /v1/responses that asked to be
// stored (store: true), for GET /v1/responses/{id} and previous_response_id.
// Each belongs to the key that created it: another key's id is not found.
// The blob is opaque to the store.
type Responses interface {
	// Put stores blob under id for keyID ("" when authentication is off) for
	// ttl, replacing what id held. A non-positive ttl stores nothing.
	Put(ctx context.Context, keyID, id string, blob []byte, ttl time.Duration) error
	// Get returns the blob; ErrNotFound when it is absent, expired or
	// another key's.
	Get(ctx context.Context, keyID, id string) ([]byte, error)
	// Delete removes it; ErrNotFound when it is absent, expired or another
	// key's (which keeps it).
	Delete(ctx context.Context, keyID, id string) error
}

// Store bundles the five concerns.
type Store struct {
	Keys      Keys
	Limits    Limits
	Spend     Spend
	Cache     Cache
	Responses Responses
	// Name says which implementation this is ("memory", "dynamodb").
	Name string
}
