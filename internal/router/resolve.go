package router

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/aigateway/gateway/internal/openai"
)

// Request is what routing looks at in a client request: conditions match on
// it, and A/B and sticky routes hash its StickyKey.
type Request struct {
	Model       string
	Header      http.Header
	KeyMetadata map[string]string
	// StickyKey identifies the user (the `user` field or the key id).
	StickyKey string
	// Body is the raw JSON body, for field conditions.
	Body []byte
}

// Plan is the outcome of routing: targets in the order to try them.
type Plan struct {
	// Route is the resolved route name ("" for a pinned provider without a route).
	Route   string
	Targets []*Target
	Retry   RetryPolicy
	// Pinned is set when the client chose the provider.
	Pinned bool
}

// CacheTarget names what answered for the cache key: the route after alias
// resolution, or the pinned provider and model.
func (p *Plan) CacheTarget() string {
	if p.Pinned && len(p.Targets) > 0 {
		return "pin:" + p.Targets[0].Key()
	}
	return "route:" + p.Route
}

// MaxModelName bounds a client's model name: it is echoed in headers and logs.
const MaxModelName = 256

// Resolve plans a request: the targets to try, in order, and the retry
// policy. pin names a provider the client asked for; without one, a model
// written "provider/model" that is not a route name pins that provider to
// the rest of the name.
//
// A pin is a choice among what the configuration offers, never a way around
// it: the pinned provider must serve the model, as a target of the model's
// route, as one of its configured models, or through one of its wildcard
// patterns. A model no route claims resolves through the providers' wildcard
// patterns.
//
// A model name that is empty of printable text, too long or holds control
// characters is an invalid_request error; an unknown pinned provider is an
// invalid_request error on "provider"; an unknown model, or one the pinned
// provider does not serve, is model_not_found.
func (r *Router) Resolve(req *Request, pin string) (*Plan, error) {
	model := req.Model
	if err := checkModelName(model); err != nil {
		return nil, err
	}
	if pin == "" {
		if _, ok := r.Route(model); !ok {
			if i := strings.IndexByte(model, '/'); i > 0 {
				if _, ok := r.Provider(model[:i]); ok {
					pin, model = model[:i], model[i+1:]
				}
			}
		}
	}
	if pin != "" {
		return r.resolvePinned(req, pin, model)
	}
	if rt, ok := r.Route(model); ok {
		return &Plan{Route: rt.Name, Targets: r.orderTargets(rt, req), Retry: r.retryFor(rt)}, nil
	}
	if pattern, ts := r.byWildcard(model); len(ts) > 0 {
		return &Plan{Route: pattern, Targets: ts, Retry: r.retry}, nil
	}
	return nil, &openai.Error{Code: openai.CodeModelNotFound, Param: "model",
		Message: fmt.Sprintf("The model `%s` does not exist or is not routed by this gateway: list it in a provider's "+
			"models, add a pattern that matches it there (such as \"*\"), define it as a [[routes]] model or alias, "+
			"or pin a provider that serves it (`provider/%s`)", model, model)}
}

// resolvePinned plans model (req's model without a provider prefix) on the
// provider the client pinned. On a route the pinned provider serves in
// several places, the upstream model is the one the unpinned request would
// try first. A conditional route's rule that matches the request holds its
// requests to its own targets (data residency, a tenant's deployment): a
// pin may pick among them only.
func (r *Router) resolvePinned(req *Request, pin, model string) (*Plan, error) {
	p, ok := r.Provider(pin)
	if !ok {
		return nil, &openai.Error{Code: openai.CodeInvalidRequest, Param: "provider",
			Message: fmt.Sprintf("unknown provider %q", pin)}
	}
	plan := &Plan{Retry: r.retry, Pinned: true}
	if rt, ok := r.Route(model); ok {
		plan.Route, plan.Retry = rt.Name, r.retryFor(rt)
		rq := *req
		rq.Model = model // a rule on the model name matches it without the prefix
		cands, ruled := rt.candidates(&rq)
		if !ruled {
			cands = rt.allTargets() // the route's own targets first
		}
		for _, wt := range cands {
			if wt.Provider.Name() == p.Name() {
				plan.Targets = []*Target{wt.Target}
				return plan, nil
			}
		}
		if ruled {
			return nil, &openai.Error{Code: openai.CodeModelNotFound, Param: "model",
				Message: fmt.Sprintf("provider %s is not among the targets route `%s` allows for this request (its matching rule keeps requests to its own targets)", p.Name(), rt.Name)}
		}
	}
	r.mu.Lock()
	t, configured := r.targets[p.Name()+"/"+model]
	r.mu.Unlock()
	switch {
	case configured && t.wildcard == nil && !IsPattern(model):
		plan.Targets = []*Target{t}
	case r.wildcardFor(p.Name(), model) != nil:
		plan.Targets = []*Target{r.wildcardFor(p.Name(), model).instance(model)}
		if plan.Route == "" {
			plan.Route = plan.Targets[0].wildcard.Model
		}
	default:
		return nil, &openai.Error{Code: openai.CodeModelNotFound, Param: "model",
			Message: fmt.Sprintf("provider %s does not serve model `%s` here: list it in that provider's models, or add a pattern such as \"*\" there to let clients pick any model", p.Name(), model)}
	}
	return plan, nil
}

// checkModelName refuses names that cannot be a model: they would reach
// headers, logs and metrics.
func checkModelName(model string) error {
	bad := func(why string) error {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "model", Message: "invalid model name: " + why}
	}
	if len(model) > MaxModelName {
		return bad(fmt.Sprintf("longer than %d bytes", MaxModelName))
	}
	if !utf8.ValidString(model) {
		return bad("not valid UTF-8")
	}
	for _, c := range model {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return bad("it contains control characters")
		}
	}
	return nil
}

// allTargets lists the route's own targets, then every rule's.
func (rt *Route) allTargets() []WeightedTarget {
	all := append([]WeightedTarget(nil), rt.Targets...)
	for _, c := range rt.Conditions {
		all = append(all, c.Targets...)
	}
	return all
}

// Condition is one rule of a conditional route: when every listed matcher
// matches, the rule's targets are used.
type Condition struct {
	// Headers match request headers exactly (names case-insensitive).
	Headers map[string]string
	// Metadata matches the virtual key's metadata.
	Metadata map[string]string
	// Fields match request body fields by gjson path ("temperature", "messages.#").
	Fields map[string]string
	// Model matches the client's model name.
	Model   string
	Targets []WeightedTarget
}

// matches reports whether every matcher of the rule matches req (a rule
// without matchers matches every request).
func (c *Condition) matches(req *Request) bool {
	if c.Model != "" && c.Model != req.Model {
		return false
	}
	for k, v := range c.Headers {
		if req.Header.Get(k) != v {
			return false
		}
	}
	for k, v := range c.Metadata {
		if req.KeyMetadata[k] != v {
			return false
		}
	}
	for path, v := range c.Fields {
		if gjson.GetBytes(req.Body, path).String() != v {
			return false
		}
	}
	return true
}
