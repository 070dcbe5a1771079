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
//	                                                (the per-target limits; a key's own windows live in its key-use item)
//	key use   pk=USE#<key-id>          sk=USE       one item per key: its rate-limit windows (`rpm@<start>+<size>`, N)
//	                                                and its spend (`usd`, `usd@d2026-11-25`, `usd@m2026-11`, N), so
//	                                                admitting a request is one conditional UpdateItem and settling it one more;
//	                                                and `s0`…`s15` (S), the cache fingerprints it last asked for (KeyUse.Sight)
//	cache     pk=CACHE#<sha256-hex>    sk=CACHE     attribute `body` (B, gzip when large), `ct`, ttl
//	response  pk=RESP#<response-id>    sk=RESP      attribute `owner` (S), `body` (B, gzip when large), ttl
//
// Expired items are ignored on read: DynamoDB's TTL deletion lags by up to
// two days.
package state

import (
	"context"
	"errors"
	"hash/fnv"
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
	// Shards splits the key's windows and budgets over that many key-use
	// items (0 or 1: one), each holding an even share of every limit and
	// budget, for a key busier than one item can take (about 500 requests a
	// second each); at most MaxKeyShards.
	Shards int64 `json:"shards,omitempty"`
}

// MaxKeyShards bounds KeyLimits.Shards.
const MaxKeyShards = 64

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

// FirstCapped names the first period caps has a cap for ("total", "daily",
// "monthly"), or "".
func (caps SpendAmounts) FirstCapped() string {
	switch {
	case caps.Total > 0:
		return "total"
	case caps.Day > 0:
		return "daily"
	case caps.Month > 0:
		return "monthly"
	}
	return ""
}

// Capped is micros in each period caps has a cap for, 0 in the others.
func (caps SpendAmounts) Capped(micros int64) SpendAmounts {
	pick := func(limit int64) int64 {
		if limit > 0 {
			return micros
		}
		return 0
	}
	return SpendAmounts{Total: pick(caps.Total), Day: pick(caps.Day), Month: pick(caps.Month)}
}

// Spend records what each key spent. It reads and writes the same figures
// KeyUses reserves against.
type Spend interface {
	// Add adds micros to the key's total, its UTC day and its UTC month, atomically.
	Add(ctx context.Context, keyID string, at time.Time, micros int64) error
	// Get returns the key's totals for the day and month containing at. Days
	// and months are kept while they can still be charged: the current and
	// the previous ones always; older ones may read as zero.
	Get(ctx context.Context, keyID string, at time.Time) (SpendTotals, error)
}

// WindowUse is what a request adds to one of a key's rate-limit windows:
// N, while the window's count stays within Limit. Window.Name is the
// window's name within the key ("rpm", "tpm").
type WindowUse struct {
	Window   Window
	N, Limit int64
}

// WindowDelta settles a window: Delta (possibly negative) is added to the
// window containing the reservation's time.
type WindowDelta struct {
	Window Window
	Delta  int64
}

// KeyUse is what one request asks of its key before the call: a count in
// each of the key's rate-limit windows and, while every capped spend period
// is below its cap, Micros added to each capped period (the estimated cost,
// settled later). A window with N = 0 or a request with Micros = 0 is only
// checked: a cache hit still meets a full token window or a spent budget.
type KeyUse struct {
	Windows []WindowUse
	Micros  int64
	// Caps are the key's budgets (0: no cap).
	Caps SpendAmounts
	// Whole asks every capped period to hold Micros whole (spend + Micros
	// within the cap) rather than only to be below its cap: a shard of a
	// key, whose overshoots would add up over its shards, reserves so.
	Whole bool
	// Sight, when not empty, is a fingerprint (of a cache key) that a
	// reservation which takes something also records in the key's item, in
	// one of SightSlots slots chosen from it, and reports whether that slot
	// already held it (KeyUseResult.Sight): the response cache writes its
	// shared entry only for a request a key has made before, at no write of
	// its own. A slot holds the last fingerprint recorded in it.
	Sight string
}

// SightSlots is how many fingerprints a key's item remembers (KeyUse.Sight).
const SightSlots = 16

// SightSlot is the slot fingerprint fp is recorded in.
func SightSlot(fp string) int {
	h := fnv.New32a()
	h.Write([]byte(fp))
	return int(h.Sum32() % SightSlots)
}

// SightResult is what a reservation knows of its KeyUse.Sight.
type SightResult int

const (
	// SightUnknown: nothing was recorded (no Sight asked, nothing taken, a
	// refusal).
	SightUnknown SightResult = iota
	// SightFirst: recorded; its slot held another fingerprint or none.
	SightFirst
	// SightRepeat: recorded; its slot already held this fingerprint.
	SightRepeat
)

// OverCap reports whether a spend period that has spent spent is past its
// cap (0: none) for a request: at or over it, or, with whole > 0 (see
// KeyUse.WholeMicros), unable to take whole more within it.
func OverCap(spent, limit, whole int64) bool {
	if limit <= 0 {
		return false
	}
	if whole > 0 {
		return spent+whole > limit
	}
	return spent >= limit
}

// WholeMicros is what each capped period must hold within its cap: Micros
// when Whole is set, else 0 (a period need only be below its cap).
func (u KeyUse) WholeMicros() int64 {
	if !u.Whole {
		return 0
	}
	return max(u.Micros, 0)
}

// KeyUseResult is the outcome of KeyUses.Reserve: all of it was taken, or
// none of it.
type KeyUseResult struct {
	Allowed bool
	// Windows, one per KeyUse window: the count after the call (the current
	// count when refused; -1 when unknown), the window's end, and Allowed
	// false for a window that was full.
	Windows []TakeResult
	// OverBudget names the capped period at or over its cap ("total",
	// "daily", "monthly"; "" when none was).
	OverBudget string
	// Reserved is what was added to each spend period.
	Reserved SpendAmounts
	// Sight is whether the KeyUse's Sight was recorded, and seen before.
	Sight SightResult
}

// KeyUses holds a key's rate-limit windows and its spend together, so that
// admitting a request is one atomic, conditional write (all of its windows
// and budgets, or nothing) and settling it one more.
type KeyUses interface {
	// Reserve takes u for keyID at now, all or nothing, exactly under any
	// concurrency (a conditional write, never read-then-write).
	Reserve(ctx context.Context, keyID string, now time.Time, u KeyUse) (KeyUseResult, error)
	// Settle adds each window delta and each spend amount (negative ones give
	// back), unconditionally, to the windows and periods containing at.
	Settle(ctx context.Context, keyID string, at time.Time, windows []WindowDelta, spend SpendAmounts) error
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

// Store bundles the six concerns.
type Store struct {
	Keys   Keys
	Limits Limits
	Spend  Spend
	// KeyUses shares its figures with Spend (and, in memory, with Limits).
	KeyUses   KeyUses
	Cache     Cache
	Responses Responses
	// Name says which implementation this is ("memory", "dynamodb").
	Name string
}
