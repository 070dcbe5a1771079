// Package gateway is the one http.Handler that every entry point (the local
// server, the API Gateway function, the streaming Function URL) serves: it
// authenticates, validates, routes, relays and logs each request.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/auth"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/dashboard"
	"github.com/aigateway/gateway/internal/guardrails"
	"github.com/aigateway/gateway/internal/metrics"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/sse"
	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/memory"
)

// Options are what an entry point hands the core besides configuration.
type Options struct {
	Logger *slog.Logger
	// HTTP is the upstream client; nil builds the shared default.
	HTTP *http.Client
	// Store holds keys, limits, spend and the cache; nil builds the one the
	// configuration names (memory by default).
	Store *state.Store
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Metrics receives one event per request besides the gateway's own
	// registry (on Lambda: the CloudWatch EMF writer).
	Metrics metrics.Recorder
}

// Gateway is the core handler.
type Gateway struct {
	cfg          *config.Config
	log          *slog.Logger
	router       *router.Router
	firstModel   map[string]string // provider name → its first model (for /generate with a provider)
	generate     []*router.Target
	mux          *http.ServeMux
	started      time.Time
	now          func() time.Time
	store        *state.Store
	lru          state.Cache // in-process cache in front of a shared store (nil when the store is in memory)
	keys         *keyCache
	jwt          *auth.JWT
	prices       *pricing.Table
	targetLimits map[string][2]int64 // provider → {rpm, tpm}
	cacheTTL     map[string]time.Duration
	counters     stateCounters
	guard        *guardrails.Engine
	stats        *metrics.Registry // in-process figures for /metrics and the dashboard
	metrics      metrics.Recorder  // stats plus Options.Metrics
}

// New builds the gateway from a loaded configuration.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Gateway, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if opts.HTTP == nil {
		opts.HTTP = provider.NewHTTPClient()
	}
	g := &Gateway{}
	r, first, gen, err := buildRouter(ctx, cfg, provider.Deps{HTTP: opts.HTTP, Logger: opts.Logger}, func(t *router.Target) {
		g.metrics.BreakerOpened(t.Provider.Name(), t.Model)
	})
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	*g = Gateway{cfg: cfg, log: opts.Logger, router: r, firstModel: first, generate: gen, started: opts.Now(),
		now: opts.Now, store: opts.Store, keys: &keyCache{ttl: cfg.Auth.KeyCacheTTL, m: map[string]keyCacheEntry{}},
		targetLimits: map[string][2]int64{}, cacheTTL: map[string]time.Duration{}}
	g.stats = metrics.NewRegistry()
	g.metrics = g.stats
	if opts.Metrics != nil {
		g.metrics = metrics.Multi(g.stats, opts.Metrics)
	}
	if g.store == nil {
		if g.store, err = NewStore(ctx, cfg, opts.Now); err != nil {
			return nil, err
		}
	}
	if g.store.Name != "memory" {
		g.lru = memory.NewCache(opts.Now, cfg.Cache.MaxEntries, cfg.Cache.MaxBytes)
	}
	if g.jwt, err = auth.NewJWT(auth.JWTConfig{
		HS256Secret: cfg.Auth.JWTHS256Secret.Value(), RS256PublicKeyPEM: cfg.Auth.JWTRS256PublicKey,
		Issuer: cfg.Auth.JWTIssuer, TTL: cfg.Auth.JWTTTL,
	}, opts.Now); err != nil {
		return nil, err
	}
	g.prices = pricing.Default().WithOverrides(priceOverrides(cfg.Pricing))
	if g.guard, err = guardrails.New(cfg.Guardrails); err != nil {
		return nil, fmt.Errorf("config: guardrails: %w", err)
	}
	for _, p := range cfg.Providers {
		if p.RPM > 0 || p.TPM > 0 {
			g.targetLimits[p.Name] = [2]int64{p.RPM, p.TPM}
		}
	}
	for _, rc := range cfg.Routes {
		if rc.CacheTTL != 0 {
			g.cacheTTL[rc.Model] = rc.CacheTTL
		}
	}
	if !cfg.Auth.Enabled {
		opts.Logger.Warn("authentication is OFF: every request is served without a key (set [auth] enabled = true or GATEWAY_AUTH=true)")
	}
	g.mux = http.NewServeMux()
	for _, prefix := range []string{"/v1", ""} {
		g.handle(http.MethodGet, prefix+"/models", g.handleModels)
		g.handle(http.MethodPost, prefix+"/chat/completions", g.handleChat)
		g.handle(http.MethodPost, prefix+"/embeddings", g.handleEmbeddings)
		g.handle(http.MethodPost, prefix+"/images/generations", g.handleImages)
		g.handle(http.MethodPost, prefix+"/audio/transcriptions", g.handleTranscriptions)
	}
	g.handle(http.MethodGet, "/health", g.handleHealth)
	g.handle(http.MethodPost, "/generate", g.handleGenerate)
	g.handle(http.MethodPost, "/auth/token", g.handleToken)
	// Metrics and the dashboard show per-key figures: with authentication on
	// they need the admin key (the dashboard page sends it from #key=...), and
	// the page embeds no data of its own.
	dashSource := g.stats.Snapshot
	if cfg.Auth.Enabled {
		dashSource = metrics.NewRegistry().Snapshot
	}
	g.handle(http.MethodGet, "/metrics", g.adminIfAuth(g.stats.JSONHandler()))
	g.handle(http.MethodGet, "/metrics/prometheus", g.adminIfAuth(g.stats.PrometheusHandler()))
	g.handle(http.MethodGet, "/dashboard", dashboard.Handler(dashSource).ServeHTTP)
	g.mux.HandleFunc("/admin/", g.handleAdmin)
	g.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		openai.Errorf(openai.CodeNotFound, "unknown path %s %s", r.Method, r.URL.Path).Write(w)
	})
	return g, nil
}

// adminIfAuth guards h with the admin key when authentication is on.
func (g *Gateway) adminIfAuth(h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if g.cfg.Auth.Enabled && !g.adminOK(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	}
}

// handle registers h for one method on an exact path; other methods get a
// 405 in OpenAI's error shape rather than the mux's plain text.
func (g *Gateway) handle(method, path string, h http.HandlerFunc) {
	g.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			openai.Errorf(openai.CodeMethodNotAllowed, "method %s is not allowed on %s; use %s", r.Method, path, method).Write(w)
			return
		}
		h(w, r)
	})
}

// Router exposes the router (admin and tests).
func (g *Gateway) Router() *router.Router { return g.router }

// Config exposes the configuration.
func (g *Gateway) Config() *config.Config { return g.cfg }

type ctxKey struct{}

// reqInfo collects what the request's log line reports.
type reqInfo struct {
	id        string
	endpoint  string
	upstream  time.Duration
	ttfb      time.Duration
	keyID     string
	costUSD   float64
	route     string
	provider  string
	model     string
	stream    bool
	cached    bool
	attempts  int
	failovers int
	usage     openai.Usage
	errMsg    string
	prompt    string
}

func info(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// ServeHTTP implements http.Handler: request id, recovery, CORS, body limit,
// the route, and one log line.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ri := &reqInfo{id: r.Header.Get("X-Request-Id")}
	if ri.id == "" || len(ri.id) > 128 {
		ri.id = newID()
	}
	sw := &statusWriter{ResponseWriter: w}
	sw.Header().Set("X-Request-Id", ri.id)
	if g.cors(sw, r) {
		return
	}
	if r.Body != nil && g.cfg.Server.MaxBodyBytes > 0 {
		r.Body = http.MaxBytesReader(sw, r.Body, g.cfg.Server.MaxBodyBytes)
	}
	ctx := context.WithValue(r.Context(), ctxKey{}, ri)
	if g.cfg.Server.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.cfg.Server.Timeout)
		defer cancel()
	}
	r = r.WithContext(ctx)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			g.log.Error("panic", "request_id", ri.id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			e := openai.Errorf(openai.CodeInternal, "internal error")
			switch {
			case !sw.wroteHeader:
				e.Write(sw)
			case strings.HasPrefix(sw.Header().Get("Content-Type"), "text/event-stream"):
				// A stream already started: end it the way every broken stream ends.
				out := sse.NewWriter(sw)
				_ = out.Data(e.JSON())
				_ = out.Done()
			}
			ri.errMsg = "panic"
		}
		g.logRequest(r, sw.status, time.Since(start), ri)
	}()
	g.mux.ServeHTTP(sw, r)
}

func (g *Gateway) logRequest(r *http.Request, status int, d time.Duration, ri *reqInfo) {
	if status == 0 {
		status = http.StatusOK
	}
	attrs := []slog.Attr{
		slog.String("request_id", ri.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(d.Microseconds())/1000),
	}
	if ri.route != "" {
		attrs = append(attrs, slog.String("route", ri.route))
	}
	if ri.keyID != "" {
		attrs = append(attrs, slog.String("key_id", ri.keyID))
	}
	if ri.costUSD > 0 {
		attrs = append(attrs, slog.Float64("cost_usd", ri.costUSD))
	}
	if ri.provider != "" {
		attrs = append(attrs, slog.String("provider", ri.provider), slog.String("model", ri.model),
			slog.Int("attempts", ri.attempts), slog.Int("failovers", ri.failovers))
	}
	if ri.usage.TotalTokens > 0 || ri.usage.PromptTokens > 0 {
		attrs = append(attrs, slog.Int("prompt_tokens", ri.usage.PromptTokens),
			slog.Int("completion_tokens", ri.usage.CompletionTokens))
	}
	attrs = append(attrs, slog.Bool("stream", ri.stream), slog.Bool("cached", ri.cached))
	if ri.errMsg != "" {
		attrs = append(attrs, slog.String("error", ri.errMsg))
	}
	if g.cfg.Server.LogPrompts && ri.prompt != "" {
		attrs = append(attrs, slog.String("prompt", ri.prompt))
	}
	g.metrics.Record(metrics.Event{
		Time: time.Now(), Endpoint: ri.endpoint, Route: ri.route, Provider: ri.provider, Model: ri.model, KeyID: ri.keyID,
		Status: status, Stream: ri.stream, Latency: d, UpstreamLatency: ri.upstream, TimeToFirstByte: ri.ttfb,
		InputTokens: ri.usage.PromptTokens, OutputTokens: ri.usage.CompletionTokens, CostUSD: ri.costUSD,
		CacheHit: ri.cached, RateLimited: status == http.StatusTooManyRequests, Failovers: ri.failovers,
	})
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	g.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// cors answers preflights; it reports true when the request was fully handled.
func (g *Gateway) cors(w http.ResponseWriter, r *http.Request) bool {
	origins := g.cfg.Server.CORS.AllowedOrigins
	origin := r.Header.Get("Origin")
	if len(origins) == 0 || origin == "" {
		return false
	}
	allowed := ""
	for _, o := range origins {
		if o == "*" || strings.EqualFold(o, origin) {
			allowed = o
			if o != "*" {
				allowed = origin
			}
			break
		}
	}
	if allowed == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", allowed)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "X-Request-Id, X-Gateway-Provider, X-Gateway-Model, Retry-After")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", strings.Join(g.cfg.Server.CORS.AllowedHeaders, ", "))
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// statusWriter records the status and keeps Flush reachable.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

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

func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := openai.AsError(err)
	info(r.Context()).errMsg = e.Error()
	e.Write(w)
}

func (g *Gateway) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "AI Gateway is healthy")
}

func (g *Gateway) handleModels(w http.ResponseWriter, r *http.Request) {
	list := openai.ModelList{Object: "list", Data: []openai.Model{}}
	created := g.started.Unix()
	for _, m := range g.router.Models() {
		owner := "gateway"
		if rt, ok := g.router.Route(m); ok && len(rt.Targets) > 0 {
			owner = rt.Targets[0].Provider.Name()
		}
		list.Data = append(list.Data, openai.Model{ID: m, Object: "model", Created: created, OwnedBy: owner})
	}
	writeJSON(w, http.StatusOK, list)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		openai.Errorf(openai.CodeInternal, "internal error").Write(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// setUpstreamHeaders tells the client which target answered.
func setUpstreamHeaders(w http.ResponseWriter, res *router.Result) {
	h := w.Header()
	h.Set("X-Gateway-Provider", res.Target.Provider.Name())
	h.Set("X-Gateway-Model", res.Target.Model)
	if res.Attempts > 1 {
		h.Set("X-Gateway-Attempts", strconv.Itoa(res.Attempts))
	}
}

func (ri *reqInfo) setResult(plan *router.Plan, res *router.Result) {
	ri.route = plan.Route
	ri.attempts, ri.failovers = res.Attempts, res.Failovers
	if res.Target != nil {
		ri.provider, ri.model = res.Target.Provider.Name(), res.Target.Model
		if ri.stream {
			ri.ttfb = res.Latency
		} else {
			ri.upstream = res.Latency
		}
	}
}
