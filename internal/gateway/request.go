package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/sjson"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/guardrails"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
)

// readBody reads the (size-limited) body; a body over the limit is a 413.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, openai.Errorf(openai.CodeBodyTooLarge, "request body is larger than %d bytes", mbe.Limit)
		}
		return nil, openai.Errorf(openai.CodeInvalidRequest, "could not read the request body")
	}
	return b, nil
}

// decodeJSON decodes a JSON body with a clear 400 on failure.
func decodeJSON(body []byte, v any) error {
	if len(body) == 0 {
		return openai.Errorf(openai.CodeInvalidJSON, "request body is empty; expected a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &openai.Error{Code: openai.CodeInvalidRequest, Param: te.Field,
				Message: fmt.Sprintf("invalid type for %s: expected %s", te.Field, te.Type)}
		}
		return &openai.Error{Code: openai.CodeInvalidJSON, Message: "request body is not valid JSON: " + err.Error()}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return openai.Errorf(openai.CodeInternal, "internal error")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// writeBody sends a complete upstream (or cached) answer.
func writeBody(w http.ResponseWriter, body []byte, contentType string) {
	if contentType == "" {
		contentType = "application/json"
	}
	w.Header().Set("Content-Type", contentType)
	// A known length lets the client finish reading before settlement ends.
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// setTargetHeaders tells the client which target answered.
func setTargetHeaders(w http.ResponseWriter, providerName, model string) {
	w.Header().Set("X-Gateway-Provider", providerName)
	w.Header().Set("X-Gateway-Model", model)
}

func setResultHeaders(w http.ResponseWriter, res *router.Result) {
	setTargetHeaders(w, res.Target.Provider.Name(), res.Target.Model)
	if res.Attempts > 1 {
		w.Header().Set("X-Gateway-Attempts", strconv.Itoa(res.Attempts))
	}
}

// incoming is what the admission step needs to know about a decoded request.
type incoming struct {
	endpoint admission.Endpoint
	model    string
	user     string
	body     []byte // the JSON the cache key and field conditions read
	// prompt is the prompt's estimated tokens and maxOutput the answer's limit
	// the client set (0: none): limits and budgets reserve them up front.
	prompt, maxOutput int64
	// pin names the provider the client chose (POST /generate's provider);
	// "" reads the x-gateway-provider header.
	pin string
	// plan, when set, is used instead of resolving the model.
	plan *router.Plan
	// guard applies the content rules of a guardrails profile and returns the
	// body to forward (redacted where the rules say so).
	guard func(profile string) ([]byte, error)
	// cacheVary is request state outside the body that changes the answer
	// (the Messages API's anthropic-beta): the cache key reads it too.
	cacheVary string
}

// admitted is a request that passed authentication, guardrails, routing and admission.
type admitted struct {
	ticket *admission.Ticket
	plan   *router.Plan
	body   []byte // after guardrails
}

// admit authenticates, applies the content rules, resolves the route and
// runs admission (allow-lists, limits, budget, cache lookup). The headers
// admission asks for are set on w; nothing is written.
// cacheControlKey is the key that marks a prompt cache breakpoint (chat and
// the Messages API): a body holding it may make the provider write its
// prompt to a cache. Inside a JSON string the quotes would be escaped, so a
// prompt that only mentions it does not count.
var cacheControlKey = []byte(`"cache_control"`)

func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, rec *record, in incoming) (*admitted, error) {
	ctx := r.Context()
	key, err := g.Admission.Authenticate(ctx, r.Header)
	if err != nil {
		return nil, err
	}
	rec.endpoint = in.endpoint.Name
	sticky := in.user
	var meta map[string]string
	if key != nil {
		rec.keyID, meta = key.ID, key.Metadata
		if sticky == "" {
			sticky = key.ID
		}
	}
	// A key naming a guardrails profile that does not exist fails closed on
	// every endpoint, whether or not it has content to check.
	if err := g.Guard.CheckProfile(meta[guardrails.MetadataKey]); err != nil {
		return nil, err
	}
	// Content rules run before routing and admission: a refused request uses
	// no limit, and the cache key sees the redacted body.
	if in.guard != nil && g.Guard != nil {
		if in.body, err = in.guard(meta[guardrails.MetadataKey]); err != nil {
			return nil, err
		}
	}
	plan := in.plan
	if plan == nil {
		pin := in.pin
		if pin == "" {
			pin = r.Header.Get("X-Gateway-Provider")
		}
		rr := &router.Request{Model: in.model, Header: r.Header, StickyKey: sticky, Body: in.body, KeyMetadata: meta}
		if plan, err = g.Router.Resolve(rr, pin); err != nil {
			return nil, err
		}
	}
	rec.route = plan.Route
	cacheBody := in.body
	if in.cacheVary != "" {
		if b, err := sjson.SetBytes(bytes.Clone(in.body), cacheVaryField, in.cacheVary); err == nil {
			cacheBody = b
		}
	}
	t, err := g.Admission.Admit(ctx, admission.Request{Key: key, Endpoint: in.endpoint, Model: in.model, Plan: plan,
		Body: cacheBody, PromptTokens: in.prompt, MaxOutputTokens: in.maxOutput, NoCache: noCache(r),
		CacheWrites: bytes.Contains(in.body, cacheControlKey)})
	if err != nil {
		return nil, err
	}
	for k, v := range t.Header() {
		w.Header()[k] = v
	}
	return &admitted{ticket: t, plan: plan, body: in.body}, nil
}

// cacheVaryField holds incoming.cacheVary in the body the cache key reads.
const cacheVaryField = "gateway_cache_vary"

// noCache reports whether the client asked to bypass the cache.
func noCache(r *http.Request) bool {
	v := strings.ToLower(r.Header.Get("X-Gateway-Cache"))
	return v == "bypass" || v == "no-cache" || strings.Contains(strings.ToLower(r.Header.Get("Cache-Control")), "no-cache")
}

// charge prices the answer, puts the cost on the response (a trailer once a
// stream has started; "unpriced" for a model without a price, never a
// silent 0) and in the log record, and returns it as put.
func charge(w http.ResponseWriter, rec *record, t *admission.Ticket, model string, u openai.Usage) (cost string, priced bool) {
	rec.usage = u
	usd, priced := t.Charge(model, u)
	rec.costUSD = usd
	cost = pricing.FormatUSD(usd)
	if !priced {
		cost = "unpriced"
	}
	w.Header().Set("X-Gateway-Cost-Usd", cost)
	return cost, priced
}

// servedFromCache marks a cached answer on the response and the record.
func servedFromCache(w http.ResponseWriter, rec *record, ad *admitted) {
	e := ad.ticket.Cached()
	providerName, model := e.Provider, e.Model
	rec.cached = true
	rec.provider, rec.model, rec.metricsModel = providerName, model, model
	if t := cachedTarget(ad); t != nil {
		rec.metricsModel = t.MetricsModel()
	}
	setTargetHeaders(w, providerName, model)
	w.Header().Set("X-Gateway-Cost-Usd", "0")
}

// cachedTarget is the plan's target that made the cached answer, or nil.
func cachedTarget(ad *admitted) *router.Target {
	e := ad.ticket.Cached()
	for _, t := range ad.plan.Targets {
		if t.Model == e.Model && t.Provider.Name() == e.Provider {
			return t
		}
	}
	return nil
}

// unsupported is the error for a plan none of whose targets serves the endpoint.
func unsupported(plan *router.Plan, ep admission.Endpoint) error {
	return provider.Unsupported(plan.Targets[0].Provider.Name(), ep.What)
}
