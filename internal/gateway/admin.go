package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/auth"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/guardrails"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
)

// adminOK checks the admin key in constant time. Without a configured admin
// key the admin API is closed.
func (g *Gateway) adminOK(w http.ResponseWriter, r *http.Request) bool {
	want := g.cfg.Auth.AdminKey.Value()
	if want == "" {
		g.fail(w, r, &openai.Error{Code: openai.CodeForbidden, Message: "the admin API is disabled: set [auth] admin_key or GATEWAY_ADMIN_KEY"})
		return false
	}
	if got := auth.Credential(r.Header); got == "" || !auth.Equal(got, want) {
		g.fail(w, r, &openai.Error{Code: openai.CodeUnauthorized, Message: "a valid admin key is required"})
		return false
	}
	return true
}

// createKeyRequest is POST /admin/keys.
type createKeyRequest struct {
	Name             string            `json:"name"`
	Owner            string            `json:"owner"`
	Team             string            `json:"team"`
	ExpiresAt        *time.Time        `json:"expires_at"`
	ExpiresIn        string            `json:"expires_in"` // a Go duration, e.g. "720h"
	AllowedModels    []string          `json:"allowed_models"`
	AllowedProviders []string          `json:"allowed_providers"`
	Limits           state.KeyLimits   `json:"limits"`
	Budget           state.Budget      `json:"budget"`
	Metadata         map[string]string `json:"metadata"`
}

// createdKey is the only response that carries the secret.
type createdKey struct {
	*state.Key
	Secret string `json:"key"`
}

func (g *Gateway) handleAdmin(w http.ResponseWriter, r *http.Request) {
	if !g.adminOK(w, r) {
		return
	}
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/admin/"), "/")
	parts := strings.Split(path, "/")
	switch {
	case path == "keys" && r.Method == http.MethodPost:
		g.adminCreateKey(w, r)
	case path == "keys" && r.Method == http.MethodGet:
		keys, err := g.store.Keys.List(r.Context())
		if err != nil {
			g.fail(w, r, storeError(err))
			return
		}
		if keys == nil {
			keys = []*state.Key{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": keys})
	case len(parts) == 2 && parts[0] == "keys" && r.Method == http.MethodGet:
		k, err := g.store.Keys.ByID(r.Context(), parts[1])
		if err != nil {
			g.fail(w, r, storeError(err))
			return
		}
		writeJSON(w, http.StatusOK, k)
	case len(parts) == 2 && parts[0] == "keys" && r.Method == http.MethodDelete:
		g.adminChangeKey(w, r, parts[1], func(id string) error { return g.store.Keys.Delete(r.Context(), id) }, "deleted")
	case len(parts) == 3 && parts[0] == "keys" && r.Method == http.MethodPost && (parts[2] == "disable" || parts[2] == "enable"):
		on := parts[2] == "enable"
		g.adminChangeKey(w, r, parts[1], func(id string) error { return g.store.Keys.SetEnabled(r.Context(), id, on) }, parts[2]+"d")
	case path == "usage" && r.Method == http.MethodGet:
		g.adminUsage(w, r)
	case path == "providers" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": g.providerHealth()})
	case path == "circuit-breakers" && r.Method == http.MethodGet:
		var out []router.TargetStats
		for _, t := range g.router.Targets() {
			out = append(out, t.Stats())
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
	case path == "config" && r.Method == http.MethodGet:
		// Secrets are provider.Secret values, which marshal as [REDACTED];
		// guardrail word lists and patterns are shown as counts.
		writeJSON(w, http.StatusOK, adminConfig{Config: g.cfg, Guardrails: guardSummary(g.cfg.Guardrails)})
	default:
		g.fail(w, r, openai.Errorf(openai.CodeNotFound, "unknown admin route %s %s", r.Method, r.URL.Path))
	}
}

func storeError(err error) error {
	if errors.Is(err, state.ErrNotFound) {
		return &openai.Error{Code: openai.CodeNotFound, Message: "no such key"}
	}
	return &openai.Error{Code: openai.CodeUnavailable, Message: "the key store is unavailable right now"}
}

func (g *Gateway) adminCreateKey(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	var req createKeyRequest
	if len(body) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			g.fail(w, r, err)
			return
		}
	}
	if req.Limits.RequestsPerMinute < 0 || req.Limits.RequestsPerHour < 0 || req.Limits.TokensPerMinute < 0 {
		g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "limits", Message: "limits must not be negative"})
		return
	}
	if req.Budget.TotalUSD < 0 || req.Budget.DailyUSD < 0 || req.Budget.MonthlyUSD < 0 {
		g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "budget", Message: "budgets must not be negative"})
		return
	}
	secret, id, err := auth.NewKey()
	if err != nil {
		g.fail(w, r, err)
		return
	}
	now := g.now().UTC()
	k := &state.Key{ID: id, Hash: auth.Hash(secret), Name: req.Name, Owner: req.Owner, Team: req.Team, Enabled: true,
		CreatedAt: now, AllowedModels: req.AllowedModels, AllowedProviders: req.AllowedProviders,
		Limits: req.Limits, Budget: req.Budget, Metadata: req.Metadata}
	switch {
	case req.ExpiresAt != nil:
		k.ExpiresAt = req.ExpiresAt.UTC()
	case req.ExpiresIn != "":
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "expires_in", Message: "expires_in must be a positive duration such as 720h"})
			return
		}
		k.ExpiresAt = now.Add(d)
	}
	if err := g.store.Keys.Create(r.Context(), k); err != nil {
		g.fail(w, r, storeError(err))
		return
	}
	writeJSON(w, http.StatusCreated, createdKey{Key: k, Secret: secret})
}

func (g *Gateway) adminChangeKey(w http.ResponseWriter, r *http.Request, id string, change func(string) error, verb string) {
	k, err := g.store.Keys.ByID(r.Context(), id)
	if err != nil {
		g.fail(w, r, storeError(err))
		return
	}
	if err := change(id); err != nil {
		g.fail(w, r, storeError(err))
		return
	}
	g.keys.forget(k)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, verb: true})
}

// keyUsage is one key's line in GET /admin/usage.
type keyUsage struct {
	ID       string  `json:"id"`
	Name     string  `json:"name,omitempty"`
	TotalUSD float64 `json:"total_usd"`
	TodayUSD float64 `json:"today_usd"`
	MonthUSD float64 `json:"month_usd"`
}

func (g *Gateway) adminUsage(w http.ResponseWriter, r *http.Request) {
	keys, err := g.store.Keys.List(r.Context())
	if err != nil {
		g.fail(w, r, storeError(err))
		return
	}
	out := []keyUsage{}
	now := g.now()
	for _, k := range keys {
		s, err := g.store.Spend.Get(r.Context(), k.ID, now)
		if err != nil {
			g.fail(w, r, storeError(err))
			return
		}
		out = append(out, keyUsage{ID: k.ID, Name: k.Name, TotalUSD: float64(s.TotalMicros) / 1e6,
			TodayUSD: float64(s.DayMicros) / 1e6, MonthUSD: float64(s.MonthMicros) / 1e6})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
}

// handleToken is POST /auth/token: a valid virtual key gets a short-lived JWT.
func (g *Gateway) handleToken(w http.ResponseWriter, r *http.Request) {
	if !g.jwt.CanIssue() {
		g.fail(w, r, &openai.Error{Code: openai.CodeNotFound, Message: "token issuing is disabled: set [auth] jwt_hs256_secret or GATEWAY_JWT_SECRET"})
		return
	}
	cred := auth.Credential(r.Header)
	if cred == "" || auth.LooksLikeJWT(cred) {
		g.fail(w, r, &openai.Error{Code: openai.CodeUnauthorized, Message: "send a virtual key as `Authorization: Bearer <key>` to get a token"})
		return
	}
	k, err := g.store.Keys.ByHash(r.Context(), auth.Hash(cred))
	switch {
	case errors.Is(err, state.ErrNotFound):
		g.fail(w, r, &openai.Error{Code: openai.CodeUnauthorized, Message: "Incorrect API key provided"})
		return
	case err != nil:
		g.fail(w, r, &openai.Error{Code: openai.CodeUnavailable, Message: "the gateway cannot check API keys right now"})
		return
	case !k.Enabled || k.Expired(g.now()):
		g.fail(w, r, &openai.Error{Code: openai.CodeUnauthorized, Message: "This API key is disabled or expired"})
		return
	}
	tok, exp, err := g.jwt.Issue(k.ID, k.ExpiresAt)
	if err != nil {
		g.fail(w, r, fmt.Errorf("issue token: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "token_type": "Bearer", "expires_at": exp.UTC().Format(time.RFC3339),
		"expires_in": int(exp.Sub(g.now()).Seconds())})
}

// providerStatus is one provider in GET /admin/providers.
type providerStatus struct {
	Name    string               `json:"name"`
	Kind    string               `json:"kind"`
	Healthy bool                 `json:"healthy"`
	Targets []router.TargetStats `json:"targets"`
}

// providerHealth summarises each provider: healthy while none of its
// targets' breakers is open.
func (g *Gateway) providerHealth() []providerStatus {
	byName := map[string]*providerStatus{}
	var out []*providerStatus
	for _, name := range g.router.Providers() {
		p, _ := g.router.Provider(name)
		ps := &providerStatus{Name: name, Kind: p.Kind(), Healthy: true, Targets: []router.TargetStats{}}
		byName[name] = ps
		out = append(out, ps)
	}
	for _, t := range g.router.Targets() {
		ps := byName[t.Provider.Name()]
		st := t.Stats()
		if st.Breaker.State == router.Open.String() {
			ps.Healthy = false
		}
		ps.Targets = append(ps.Targets, st)
	}
	res := make([]providerStatus, len(out))
	for i, ps := range out {
		res[i] = *ps
	}
	return res
}

// adminConfig is GET /admin/config: the configuration plus a guardrails summary.
type adminConfig struct {
	*config.Config
	Guardrails map[string]ruleCounts `json:"guardrails"`
}

// ruleCounts describes one guardrails rule set without its contents.
type ruleCounts struct {
	BlockedWords      int  `json:"blocked_words"`
	BlockedPatterns   int  `json:"blocked_patterns"`
	MaxInputChars     int  `json:"max_input_chars"`
	RedactEmails      bool `json:"redact_emails"`
	RedactCardNumbers bool `json:"redact_card_numbers"`
}

func guardSummary(set guardrails.Set) map[string]ruleCounts {
	count := func(c guardrails.Config) ruleCounts {
		return ruleCounts{len(c.BlockedWords), len(c.BlockedPatterns), c.MaxInputChars, c.RedactEmails, c.RedactCardNumbers}
	}
	out := map[string]ruleCounts{"global": count(set.Global)}
	for name, c := range set.Profiles {
		out["profile:"+name] = count(c)
	}
	return out
}
