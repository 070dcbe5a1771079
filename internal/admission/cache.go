package admission

import (
	"context"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

// CacheMode is what the response cache did for a request.
type CacheMode int

const (
	// CacheOff: the cache is disabled, or the endpoint or route is not cached.
	CacheOff CacheMode = iota
	// CacheMiss: looked up and not found; a complete answer will be stored.
	CacheMiss
	// CacheHit: answered from the cache.
	CacheHit
	// CacheBypass: the client asked not to use the cache.
	CacheBypass
)

// String is the x-gateway-cache header value ("" when the cache is off).
func (m CacheMode) String() string {
	switch m {
	case CacheMiss:
		return "miss"
	case CacheHit:
		return "hit"
	case CacheBypass:
		return "bypass"
	}
	return ""
}

// localTTL bounds the life of a shared entry's copy in the in-process cache.
const localTTL = time.Minute

// tieredGet looks in the in-process LRU first, then the shared store.
func (a *Admitter) tieredGet(ctx context.Context, key string) (*state.CacheEntry, error) {
	if a.lru != nil {
		if e, err := a.lru.Get(ctx, key); err == nil {
			return e, nil
		}
	}
	e, err := a.store.Cache.Get(ctx, key)
	if err == nil && a.lru != nil {
		_ = a.lru.Put(ctx, key, e, localTTL)
	}
	return e, err
}

func (a *Admitter) tieredPut(ctx context.Context, key string, e *state.CacheEntry, ttl time.Duration) error {
	if a.lru != nil {
		_ = a.lru.Put(ctx, key, e, min(ttl, localTTL))
	}
	return a.store.Cache.Put(ctx, key, e, ttl)
}
