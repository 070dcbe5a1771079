package gateway

import (
	"context"
	"net/http"

	"github.com/aigateway/gateway/internal/guardrails"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
)

// prepareRequest is what the pre-call phase needs to know about a request.
type prepareRequest struct {
	model    string
	user     string
	body     []byte // the JSON the cache key and field conditions read
	endpoint string
	estimate int64 // reserved tokens: prompt estimate + max output
	// cacheable requests may be answered from and stored in the cache.
	cacheable bool
	// pin overrides the x-gateway-provider header (POST /generate's provider).
	pin string
	// plan, when set, is used instead of resolving the model.
	plan *router.Plan
	// guard applies the content rules of a guardrails profile and returns the
	// body to forward (redacted where the rules say so).
	guard func(profile string) ([]byte, error)
}

// prepared is a request that passed authentication, routing and admission.
type prepared struct {
	key  *state.Key
	plan *router.Plan
	adm  *admission
	// held are the target-level reservations of the attempt that answered.
	held []reservation
	est  int64
	// body is the request body after guardrails.
	body []byte
}

// prepare authenticates, resolves the route, checks the key's permissions and
// runs admission (limits, budget, cache lookup). On failure it has written
// the error response and returns false.
func (g *Gateway) prepare(w http.ResponseWriter, r *http.Request, pq prepareRequest) (*prepared, bool) {
	key, err := g.authenticate(r)
	if err != nil {
		g.fail(w, r, err)
		return nil, false
	}
	ri := info(r.Context())
	ri.endpoint = pq.endpoint
	// Content rules run before routing and admission: a refused request uses no
	// limit, and the cache key sees the redacted body.
	if pq.guard != nil && g.guard != nil {
		profile := ""
		if key != nil {
			profile = key.Metadata[guardrails.MetadataKey]
		}
		if pq.body, err = pq.guard(profile); err != nil {
			g.fail(w, r, err)
			return nil, false
		}
	}
	sticky := pq.user
	var meta map[string]string
	if key != nil {
		ri.keyID = key.ID
		meta = key.Metadata
		if sticky == "" {
			sticky = key.ID
		}
	}
	plan := pq.plan
	if plan == nil {
		pin := pq.pin
		if pin == "" {
			pin = pinOf(r)
		}
		rr := &router.Request{Model: pq.model, Header: r.Header, StickyKey: sticky, Body: pq.body, KeyMetadata: meta}
		if plan, err = g.router.Resolve(rr, pin); err != nil {
			g.fail(w, r, err)
			return nil, false
		}
	}
	ri.route = plan.Route
	if err := allowed(key, pq.model, plan); err != nil {
		g.fail(w, r, err)
		return nil, false
	}
	ar := admitRequest{key: key, estimate: pq.estimate, cacheable: pq.cacheable && g.cfg.Cache.Enabled}
	if ar.cacheable {
		ar.cacheTTL = g.cfg.Cache.TTL
		if ttl, ok := g.cacheTTL[plan.Route]; ok {
			ar.cacheTTL = ttl
		}
		ar.cacheKey, ar.cacheable = cacheKey(pq.endpoint, plan.CacheTarget(), pq.body)
	}
	adm, err := g.admit(r.Context(), r, ar)
	if adm != nil {
		for k, v := range adm.headers {
			w.Header()[k] = v
		}
		if adm.cacheMode != "" {
			w.Header().Set("X-Gateway-Cache", adm.cacheMode)
		}
	}
	if err != nil {
		g.fail(w, r, err)
		return nil, false
	}
	return &prepared{key: key, plan: plan, adm: adm, est: pq.estimate, body: pq.body}, true
}

// limited wraps an attempt with the target's own rate limits: a target whose
// limit is spent is skipped; the reservations of the attempt that answered are
// kept for settlement, those of failed attempts have their tokens refunded.
func (g *Gateway) limited(pr *prepared, fn router.Attempt) router.Attempt {
	return func(ctx context.Context, t *router.Target) error {
		rs, err := g.takeTarget(ctx, t, pr.est)
		if err != nil {
			return err
		}
		if err := fn(ctx, t); err != nil {
			var tokens []reservation
			for _, r := range rs {
				if r.kind == "tokens" {
					tokens = append(tokens, r)
				}
			}
			g.refund(ctx, tokens)
			return err
		}
		pr.held = rs
		return nil
	}
}

// pinOf reads the provider a client pinned with the x-gateway-provider header.
func pinOf(r *http.Request) string { return r.Header.Get("X-Gateway-Provider") }
