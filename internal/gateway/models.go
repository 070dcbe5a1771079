package gateway

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
	"golang.org/x/sync/singleflight"
)

// models is GET /v1/models: every route and alias, and for providers with
// wildcard patterns the matching models their upstream lists (asked once an
// hour; when it cannot be asked, or lists none that matches, the pattern
// itself: the family of names that routes there). With authentication on it
// needs a key, and a key sees only what its allow-lists let it call.
func (g *Gateway) models(w http.ResponseWriter, r *http.Request, rec *record) error {
	key, err := g.Admission.Authenticate(r.Context(), r.Header)
	if err != nil {
		return err
	}
	var meta map[string]string
	sticky := ""
	if key != nil {
		rec.keyID, meta, sticky = key.ID, key.Metadata, key.ID
	}
	mayUse := func(m string) bool {
		if key == nil {
			return true
		}
		plan, err := g.Router.Resolve(&router.Request{Model: m, Header: r.Header, KeyMetadata: meta, StickyKey: sticky}, "")
		return err == nil && g.Admission.MayUse(key, m, plan)
	}
	list := openai.ModelList{Object: "list", Data: []openai.Model{}}
	created := g.started.Unix()
	seen := map[string]bool{}
	for _, m := range g.Router.Models() {
		owner := "gateway"
		if rt, ok := g.Router.Route(m); ok && len(rt.Targets) > 0 {
			owner = rt.Targets[0].Provider.Name()
		}
		seen[m] = true
		if mayUse(m) {
			list.Data = append(list.Data, openai.Model{ID: m, Object: "model", Created: created, OwnedBy: owner})
		}
	}
	for _, wc := range g.Router.Wildcards() {
		ids, ok := g.upstreamModels(r.Context(), wc.Provider)
		if ok {
			ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !router.MatchPattern(wc.Model, id) })
		}
		if len(ids) == 0 {
			ids, ok = []string{wc.Model}, false // the pattern itself says what routes
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			if ok && !mayUse(id) {
				continue
			}
			list.Data = append(list.Data, openai.Model{ID: id, Object: "model", Created: created, OwnedBy: wc.Provider.Name()})
		}
	}
	return writeJSON(w, http.StatusOK, list)
}

// modelLists caches what each wildcard provider's upstream lists.
type modelLists struct {
	mu sync.Mutex
	m  map[string]modelListEntry
	// flight makes the requests that find a provider's entry stale share one
	// upstream listing.
	flight singleflight.Group
}

type modelListEntry struct {
	ids []string
	ok  bool
	// until is when the entry goes stale.
	until time.Time
}

const (
	modelListTTL     = time.Hour
	modelListRetry   = time.Minute // after a failed listing
	modelListTimeout = 3 * time.Second
)

// upstreamModels is p's upstream model list, sorted, from the cache or asked
// now (bounded by modelListTimeout); ok is false when p cannot list them.
func (g *Gateway) upstreamModels(ctx context.Context, p provider.Provider) ([]string, bool) {
	lister, ok := p.(provider.ModelLister)
	if !ok {
		return nil, false
	}
	now := g.Now()
	fresh := func() (modelListEntry, bool) {
		g.lists.mu.Lock()
		defer g.lists.mu.Unlock()
		e, cached := g.lists.m[p.Name()]
		return e, cached && now.Before(e.until)
	}
	if e, ok := fresh(); ok {
		return e.ids, e.ok
	}
	v, _, _ := g.lists.flight.Do(p.Name(), func() (any, error) {
		// A request that found the entry stale just before another's
		// listing stored it finds it fresh here, and asks nothing more.
		if e, ok := fresh(); ok {
			return e, nil
		}
		return g.listModels(ctx, p, lister, now), nil
	})
	e := v.(modelListEntry)
	return e.ids, e.ok
}

// listModels asks p's upstream for its models (bounded by modelListTimeout,
// whoever waits on it) and caches the answer.
func (g *Gateway) listModels(ctx context.Context, p provider.Provider, lister provider.ModelLister, now time.Time) modelListEntry {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), modelListTimeout)
	defer cancel()
	ids, err := lister.ListModels(ctx)
	until := now.Add(modelListTTL)
	switch {
	case err == nil:
	case openai.AsError(err).Code == openai.CodeUnsupported:
		// This provider (Azure, Vertex) has no listing: not a failure to
		// warn of, nor to ask again before the TTL.
	default:
		g.Logger.Warn("listing a provider's models failed", "provider", p.Name(), "error", openai.AsError(err).Error())
		until = now.Add(modelListRetry)
	}
	sort.Strings(ids)
	e := modelListEntry{ids: ids, ok: err == nil, until: until}
	g.lists.mu.Lock()
	if g.lists.m == nil {
		g.lists.m = map[string]modelListEntry{}
	}
	g.lists.m[p.Name()] = e
	g.lists.mu.Unlock()
	return e
}
