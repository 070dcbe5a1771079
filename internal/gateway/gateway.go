// Package gateway is the HTTP layer every entry point serves (the local
// server, the API Gateway function, the streaming Function URL): middleware
// (request id, CORS, body limit, one panic recovery, the request's log line
// and metrics event) and one handler per endpoint, each reading as
// decode → admit → route → write → settle. Admission (keys, limits, budgets,
// cache, charging) lives in internal/admission and routing in internal/router;
// internal/app builds this handler from a configuration.
package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/dashboard"
	"github.com/aigateway/gateway/internal/guardrails"
	"github.com/aigateway/gateway/internal/metrics"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
)

// Deps are the parts the handler serves with; internal/app builds them.
type Deps struct {
	// Config supplies the server settings, the admin key and the admin view of the configuration.
	Config    *config.Config
	Router    *router.Router
	Admission *admission.Admitter
	// Guard applies content rules (nil: none).
	Guard *guardrails.Engine
	// Stats are the in-process figures /metrics and the dashboard show;
	// Metrics receives every request's event (Stats, plus CloudWatch EMF on Lambda).
	Stats   *metrics.Registry
	Metrics metrics.Recorder
	// Generate is POST /generate's failover order when no provider is named,
	// and FirstModel each provider's first model (for /generate with a provider).
	Generate   []*router.Target
	FirstModel map[string]string
	// DisplayName is the provider name POST /generate answers with.
	DisplayName func(provider.Provider) string
	Logger      *slog.Logger
	Now         func() time.Time
	// RecoverAborts recovers http.ErrAbortHandler too: on Lambda no server
	// above the handler catches it, and an unrecovered panic ends the
	// execution environment. A plain HTTP server wants it re-raised so the
	// connection is cut.
	RecoverAborts bool
}

// Gateway is the core http.Handler.
type Gateway struct {
	Deps
	mux     *http.ServeMux
	root    http.Handler // mux behind the panic recovery
	started time.Time
	lists   modelLists // wildcard providers' upstream model lists
}

// New builds the handler and registers its routes.
func New(d Deps) *Gateway {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Metrics == nil {
		d.Metrics = d.Stats
	}
	if d.DisplayName == nil {
		d.DisplayName = func(p provider.Provider) string { return p.Name() }
	}
	g := &Gateway{Deps: d, mux: http.NewServeMux(), started: d.Now()}
	for _, prefix := range []string{"/v1", ""} {
		g.handle(http.MethodGet, prefix+"/models", g.endpoint(g.models))
		g.handle(http.MethodPost, prefix+"/chat/completions", g.endpoint(g.chat))
		g.handle(http.MethodPost, prefix+"/responses", g.endpoint(g.createResponse))
		g.handleResponseByID(prefix + "/responses/{id}")
		g.handle(http.MethodPost, prefix+"/embeddings", g.endpoint(g.embeddings))
		g.handle(http.MethodPost, prefix+"/images/generations", g.endpoint(g.images))
		g.handle(http.MethodPost, prefix+"/audio/transcriptions", g.endpoint(g.transcriptions))
		g.handleAnthropic(http.MethodPost, prefix+"/messages", g.messages)
		g.handleAnthropic(http.MethodPost, prefix+"/messages/count_tokens", g.countTokens)
		g.mux.Handle(prefix+"/messages/", g.anthropicEndpoint(notFound))
	}
	g.handle(http.MethodGet, "/health", g.endpoint(g.health))
	g.handle(http.MethodPost, "/generate", g.endpoint(g.generate))
	g.handle(http.MethodPost, "/auth/token", g.endpoint(g.token))
	// Metrics and the dashboard show per-key figures: with authentication on
	// they need the admin key (the dashboard page sends it from #key=...), and
	// the page embeds no data of its own.
	dashSource := g.Stats.Snapshot
	if g.Config.Auth.Enabled {
		dashSource = metrics.NewRegistry().Snapshot
	}
	g.handle(http.MethodGet, "/metrics", g.adminIfAuth(g.Stats.JSONHandler()))
	g.handle(http.MethodGet, "/metrics/prometheus", g.adminIfAuth(g.Stats.PrometheusHandler()))
	g.handle(http.MethodGet, "/dashboard", dashboard.Handler(dashSource))
	g.registerAdmin()
	g.root = Recover(g.mux, d.RecoverAborts, g.onPanic)
	g.mux.Handle("/", g.endpoint(notFound))
	return g
}

func notFound(w http.ResponseWriter, r *http.Request, _ *record) error {
	return openai.Errorf(openai.CodeNotFound, "unknown path %s %s", r.Method, r.URL.Path)
}

// handle registers h for one method on an exact path; other methods get a
// 405 in OpenAI's error shape rather than the mux's plain text.
func (g *Gateway) handle(method, path string, h http.Handler) {
	g.mux.Handle(method+" "+path, h)
	g.mux.Handle(path, g.endpoint(func(w http.ResponseWriter, r *http.Request, _ *record) error {
		w.Header().Set("Allow", method)
		return openai.Errorf(openai.CodeMethodNotAllowed, "method %s is not allowed on %s; use %s", r.Method, path, method)
	}))
}

// handleAnthropic is handle for the Messages API: h and the 405 write
// errors in Anthropic's shape.
func (g *Gateway) handleAnthropic(method, path string, h handlerFunc) {
	g.mux.Handle(method+" "+path, g.anthropicEndpoint(h))
	g.mux.Handle(path, g.anthropicEndpoint(func(w http.ResponseWriter, r *http.Request, _ *record) error {
		w.Header().Set("Allow", method)
		return openai.Errorf(openai.CodeMethodNotAllowed, "method %s is not allowed on %s; use %s", r.Method, path, method)
	}))
}

// adminIfAuth guards h with the admin key when authentication is on.
func (g *Gateway) adminIfAuth(h http.Handler) http.Handler {
	if !g.Config.Auth.Enabled {
		return h
	}
	return g.endpoint(func(w http.ResponseWriter, r *http.Request, _ *record) error {
		if err := g.checkAdmin(r); err != nil {
			return err
		}
		h.ServeHTTP(w, r)
		return nil
	})
}

func (g *Gateway) health(w http.ResponseWriter, r *http.Request, _ *record) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprint(w, "AI Gateway is healthy")
	return nil
}
