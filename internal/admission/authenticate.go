package admission

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/auth"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/state"
)

// Authenticate returns the caller's key, or nil when authentication is off.
// It fails closed: a key that cannot be checked is a 503, never a pass.
func (a *Admitter) Authenticate(ctx context.Context, h http.Header) (*state.Key, error) {
	if !a.set.AuthEnabled {
		return nil, nil
	}
	cred := auth.Credential(h)
	if cred == "" {
		return nil, &openai.Error{Code: openai.CodeUnauthorized,
			Message: "Missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`"}
	}
	now := a.now()
	var (
		k   *state.Key
		err error
	)
	if auth.LooksLikeJWT(cred) && a.jwt != nil {
		id, verr := a.jwt.Verify(cred)
		if verr != nil {
			return nil, &openai.Error{Code: openai.CodeUnauthorized, Message: "Invalid or expired token"}
		}
		k, err = a.lookup(ctx, "i:"+id, now, a.store.Keys.ByID, id)
	} else {
		h := auth.Hash(cred)
		k, err = a.lookup(ctx, "h:"+h, now, a.store.Keys.ByHash, h)
	}
	switch {
	case errors.Is(err, state.ErrNotFound):
		return nil, &openai.Error{Code: openai.CodeUnauthorized, Message: "Incorrect API key provided"}
	case err != nil:
		a.log.Error("key lookup failed", "error", err.Error())
		return nil, &openai.Error{Code: openai.CodeUnavailable, Message: "the gateway cannot check API keys right now; try again shortly"}
	case !k.Enabled:
		return nil, &openai.Error{Code: openai.CodeUnauthorized, Message: "This API key has been disabled"}
	case k.Expired(now):
		return nil, &openai.Error{Code: openai.CodeUnauthorized, Message: "This API key has expired"}
	}
	return k, nil
}

// lookup reads a key through the in-process key cache.
func (a *Admitter) lookup(ctx context.Context, cacheID string, now time.Time,
	read func(context.Context, string) (*state.Key, error), arg string) (*state.Key, error) {
	if k := a.keys.get(cacheID, now); k != nil {
		return k, nil
	}
	k, err := read(ctx, arg)
	if err == nil {
		a.keys.put(cacheID, k, now)
	}
	return k, err
}

// Forget drops a key from the in-process key cache (admin disable/delete).
func (a *Admitter) Forget(k *state.Key) { a.keys.forget(k) }

// IssueToken exchanges a virtual key for a short-lived JWT (POST /auth/token).
func (a *Admitter) IssueToken(ctx context.Context, h http.Header) (token string, expires time.Time, err error) {
	if a.jwt == nil || !a.jwt.CanIssue() {
		return "", time.Time{}, &openai.Error{Code: openai.CodeNotFound, Message: "token issuing is disabled: set [auth] jwt_hs256_secret or GATEWAY_JWT_SECRET"}
	}
	cred := auth.Credential(h)
	if cred == "" || auth.LooksLikeJWT(cred) {
		return "", time.Time{}, &openai.Error{Code: openai.CodeUnauthorized, Message: "send a virtual key as `Authorization: Bearer <key>` to get a token"}
	}
	k, err := a.store.Keys.ByHash(ctx, auth.Hash(cred))
	switch {
	case errors.Is(err, state.ErrNotFound):
		return "", time.Time{}, &openai.Error{Code: openai.CodeUnauthorized, Message: "Incorrect API key provided"}
	case err != nil:
		return "", time.Time{}, &openai.Error{Code: openai.CodeUnavailable, Message: "the gateway cannot check API keys right now"}
	case !k.Enabled || k.Expired(a.now()):
		return "", time.Time{}, &openai.Error{Code: openai.CodeUnauthorized, Message: "This API key is disabled or expired"}
	}
	return a.jwt.Issue(k.ID, k.ExpiresAt)
}

// keyCache trusts looked-up keys in-process for a short time, so a warm
// instance authenticates without a store round trip.
type keyCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]keyCacheEntry
}

type keyCacheEntry struct {
	key *state.Key
	at  time.Time
}

func (c *keyCache) get(id string, now time.Time) *state.Key {
	if c.ttl <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Sub(e.at) > c.ttl {
		return nil
	}
	return e.key
}

func (c *keyCache) put(id string, k *state.Key, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 100_000 {
		clear(c.m)
	}
	c.m[id] = keyCacheEntry{key: k, at: now}
}

func (c *keyCache) forget(k *state.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, "h:"+k.Hash)
	delete(c.m, "i:"+k.ID)
}
