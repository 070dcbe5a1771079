// Package app is the composition root: it turns a loaded configuration into
// the running gateway — providers, router, state store, pricing, JWT,
// guardrails, admission, metrics and the HTTP handler. The local server and
// the Lambda functions call New; nothing else wires components together.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/auth"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/gateway"
	"github.com/aigateway/gateway/internal/guardrails"
	"github.com/aigateway/gateway/internal/metrics"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
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
	// Lambda marks a handler run by a Lambda adapter: a panic, even
	// http.ErrAbortHandler, is recovered, since nothing above would.
	Lambda bool
}

// App is the assembled gateway.
type App struct {
	*gateway.Gateway
	Config    *config.Config
	Router    *router.Router
	Admission *admission.Admitter
	Store     *state.Store
	// Stats are the in-process figures behind /metrics and the dashboard.
	Stats *metrics.Registry
}

// New builds the gateway from a loaded configuration.
func New(ctx context.Context, cfg *config.Config, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTP == nil {
		o.HTTP = provider.NewHTTPClient()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &App{Config: cfg, Stats: metrics.NewRegistry()}
	var recorder metrics.Recorder = a.Stats
	if o.Metrics != nil {
		recorder = metrics.Multi(a.Stats, o.Metrics)
	}
	routes, err := buildRouter(ctx, cfg, provider.Deps{HTTP: o.HTTP, Logger: o.Logger}, func(t *router.Target) {
		recorder.BreakerOpened(t.Provider.Name(), t.Model)
	})
	if err != nil {
		return nil, err
	}
	a.Router = routes.router
	if a.Store = o.Store; a.Store == nil {
		if a.Store, err = NewStore(ctx, cfg, o.Now); err != nil {
			return nil, err
		}
	}
	var local state.Cache
	if a.Store.Name != "memory" {
		local = memory.NewCache(o.Now, cfg.Cache.MaxEntries, cfg.Cache.MaxBytes)
	}
	jwt, err := auth.NewJWT(auth.JWTConfig{
		HS256Secret: cfg.Auth.JWTHS256Secret.Value(), RS256PublicKeyPEM: cfg.Auth.JWTRS256PublicKey,
		Issuer: cfg.Auth.JWTIssuer, TTL: cfg.Auth.JWTTTL,
	}, o.Now)
	if err != nil {
		return nil, err
	}
	guard, err := guardrails.New(cfg.Guardrails)
	if err != nil {
		return nil, fmt.Errorf("config: guardrails: %w", err)
	}
	a.Admission = admission.New(admissionSettings(cfg), admission.Options{
		Store: a.Store, LocalCache: local, JWT: jwt, Router: a.Router, Logger: o.Logger, Now: o.Now,
		Prices: pricing.Default().WithOverrides(priceOverrides(cfg.Pricing)),
	})
	if !cfg.Auth.Enabled {
		o.Logger.Warn("authentication is OFF: every request is served without a key (set [auth] enabled = true or GATEWAY_AUTH=true)")
	}
	a.Gateway = gateway.New(gateway.Deps{
		Config: cfg, Router: a.Router, Admission: a.Admission, Guard: guard, Stats: a.Stats, Metrics: recorder,
		Generate: routes.generate, FirstModel: routes.firstModel, DisplayName: displayName,
		Logger: o.Logger, Now: o.Now, RecoverAborts: o.Lambda,
	})
	return a, nil
}

// admissionSettings are the parts of the configuration admission acts on.
func admissionSettings(cfg *config.Config) admission.Settings {
	s := admission.Settings{
		AuthEnabled: cfg.Auth.Enabled, KeyCacheTTL: cfg.Auth.KeyCacheTTL, FailClosed: cfg.Limits.FailClosed,
		CacheEnabled: cfg.Cache.Enabled, CacheTTL: cfg.Cache.TTL, CacheGlobal: cfg.Cache.Scope == config.CacheScopeGlobal,
		CacheStoreRepeat:       cfg.Cache.Store == config.CacheStoreRepeat,
		DefaultMaxOutputTokens: admission.DefaultMaxOutputTokens,
		RouteCacheTTL:          map[string]time.Duration{}, TargetLimits: map[string]admission.TargetLimit{},
	}
	for _, p := range cfg.Providers {
		if p.RPM > 0 || p.TPM > 0 {
			s.TargetLimits[p.Name] = admission.TargetLimit{RequestsPerMinute: p.RPM, TokensPerMinute: p.TPM}
		}
	}
	for _, rc := range cfg.Routes {
		if rc.CacheTTL != 0 {
			s.RouteCacheTTL[rc.Model] = rc.CacheTTL
		}
	}
	return s
}
