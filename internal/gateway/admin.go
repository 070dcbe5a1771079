package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aigateway/gateway/internal/auth"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/guardrails"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
)

// checkAdmin checks the admin key in constant time. Without a configured
// admin key the admin API is closed.
func (g *Gateway) checkAdmin(r *http.Request) error {
	want := g.Config.Auth.AdminKey.Value()
	if want == "" {
		return &openai.Error{Code: openai.CodeForbidden, Message: "the admin API is disabled: set [auth] admin_key or GATEWAY_ADMIN_KEY"}
	}
	if got := auth.Credential(r.Header); got == "" || !auth.Equal(got, want) {
		return &openai.Error{Code: openai.CodeUnauthorized, Message: "a valid admin key is required"}
	}
	return nil
}

// admin guards an admin endpoint with the admin key.
func (g *Gateway) admin(h handlerFunc) http.Handler {
	return g.endpoint(func(w http.ResponseWriter, r *http.Request, rec *record) error {
		if err := g.checkAdmin(r); err != nil {
			return err
		}
		return h(w, r, rec)
	})
}

// registerAdmin registers /admin/*: every route needs the admin key, an
// unknown one is a 404 (after the key check).
func (g *Gateway) registerAdmin() {
	for pattern, h := range map[string]handlerFunc{
		"POST /admin/keys":              g.adminCreateKey,
		"GET /admin/keys":               g.adminListKeys,
		"GET /admin/keys/{id}":          g.adminGetKey,
		"DELETE /admin/keys/{id}":       g.adminDeleteKey,
		"POST /admin/keys/{id}/disable": g.adminSetEnabled(false),
		"POST /admin/keys/{id}/enable":  g.adminSetEnabled(true),
		"GET /admin/usage":              g.adminUsage,
		"GET /admin/providers":          g.adminProviders,
		"GET /admin/circuit-breakers":   g.adminBreakers,
		"GET /admin/config":             g.adminConfig,
		"/admin/":                       g.adminUnknown,
	} {
		g.mux.Handle(pattern, g.admin(h))
	}
}

func (g *Gateway) adminUnknown(w http.ResponseWriter, r *http.Request, _ *record) error {
	return openai.Errorf(openai.CodeNotFound, "unknown admin route %s %s", r.Method, r.URL.Path)
}

func (g *Gateway) adminListKeys(w http.ResponseWriter, r *http.Request, _ *record) error {
	keys, err := g.store().Keys.List(r.Context())
	if err != nil {
		return storeError(err)
	}
	if keys == nil {
		keys = []*state.Key{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": keys})
}

func (g *Gateway) adminGetKey(w http.ResponseWriter, r *http.Request, _ *record) error {
	k, err := g.store().Keys.ByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeError(err)
	}
	return writeJSON(w, http.StatusOK, k)
}

func (g *Gateway) adminDeleteKey(w http.ResponseWriter, r *http.Request, _ *record) error {
	return g.adminChangeKey(w, r, func(id string) error { return g.store().Keys.Delete(r.Context(), id) }, "deleted")
}

func (g *Gateway) adminSetEnabled(on bool) handlerFunc {
	verb := "disabled"
	if on {
		verb = "enabled"
	}
	return func(w http.ResponseWriter, r *http.Request, _ *record) error {
		return g.adminChangeKey(w, r, func(id string) error { return g.store().Keys.SetEnabled(r.Context(), id, on) }, verb)
	}
}

func (g *Gateway) adminProviders(w http.ResponseWriter, r *http.Request, _ *record) error {
	return writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": g.providerHealth()})
}

func (g *Gateway) adminBreakers(w http.ResponseWriter, r *http.Request, _ *record) error {
	var out []router.TargetStats
	for _, t := range g.Router.Targets() {
		out = append(out, t.Stats())
	}
	return writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
}

// adminConfig shows the configuration: secrets are provider.Secret values,
// which marshal as [REDACTED]; guardrail word lists and patterns are counts.
func (g *Gateway) adminConfig(w http.ResponseWriter, r *http.Request, _ *record) error {
	return writeJSON(w, http.StatusOK, adminConfigView{Config: g.Config, Guardrails: guardSummary(g.Config.Guardrails)})
}

func (g *Gateway) store() *state.Store { return g.Admission.Store() }

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

func storeError(err error) error {
	if errors.Is(err, state.ErrNotFound) {
		return &openai.Error{Code: openai.CodeNotFound, Message: "no such key"}
	}
	return &openai.Error{Code: openai.CodeUnavailable, Message: "the key store is unavailable right now"}
}

func (g *Gateway) adminCreateKey(w http.ResponseWriter, r *http.Request, _ *record) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req createKeyRequest
	if len(body) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			return err
		}
	}
	if req.Limits.RequestsPerMinute < 0 || req.Limits.RequestsPerHour < 0 || req.Limits.TokensPerMinute < 0 {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "limits", Message: "limits must not be negative"}
	}
	if req.Budget.TotalUSD < 0 || req.Budget.DailyUSD < 0 || req.Budget.MonthlyUSD < 0 {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "budget", Message: "budgets must not be negative"}
	}
	if n := req.Limits.Shards; n < 0 || n > state.MaxKeyShards {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "limits.shards",
			Message: fmt.Sprintf("limits.shards must be from 0 to %d", state.MaxKeyShards)}
	}
	for _, l := range []struct {
		name string
		v    int64
	}{{"rpm", req.Limits.RequestsPerMinute}, {"rph", req.Limits.RequestsPerHour}, {"tpm", req.Limits.TokensPerMinute}} {
		name, v := l.name, l.v
		if n := req.Limits.Shards; n > 1 && v > 0 && v < n {
			return &openai.Error{Code: openai.CodeInvalidRequest, Param: "limits.shards",
				Message: fmt.Sprintf("limits.shards (%d) must not exceed limits.%s (%d): each shard holds 1/%d of every limit", n, name, v, n)}
		}
	}
	if p := req.Metadata[guardrails.MetadataKey]; p != "" && !g.Guard.HasProfile(p) {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "metadata." + guardrails.MetadataKey,
			Message: "no guardrails profile of that name is configured (see [guardrails.profiles.<name>])"}
	}
	secret, id, err := auth.NewKey()
	if err != nil {
		return err
	}
	now := g.Now().UTC()
	k := &state.Key{ID: id, Hash: auth.Hash(secret), Name: req.Name, Owner: req.Owner, Team: req.Team, Enabled: true,
		CreatedAt: now, AllowedModels: req.AllowedModels, AllowedProviders: req.AllowedProviders,
		Limits: req.Limits, Budget: req.Budget, Metadata: req.Metadata}
	switch {
	case req.ExpiresAt != nil:
		k.ExpiresAt = req.ExpiresAt.UTC()
	case req.ExpiresIn != "":
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return &openai.Error{Code: openai.CodeInvalidRequest, Param: "expires_in", Message: "expires_in must be a positive duration such as 720h"}
		}
		k.ExpiresAt = now.Add(d)
	}
	if err := g.store().Keys.Create(r.Context(), k); err != nil {
		return storeError(err)
	}
	return writeJSON(w, http.StatusCreated, createdKey{Key: k, Secret: secret})
}

func (g *Gateway) adminChangeKey(w http.ResponseWriter, r *http.Request, change func(string) error, verb string) error {
	id := r.PathValue("id")
	k, err := g.store().Keys.ByID(r.Context(), id)
	if err != nil {
		return storeError(err)
	}
	if err := change(id); err != nil {
		return storeError(err)
	}
	g.Admission.Forget(k)
	return writeJSON(w, http.StatusOK, map[string]any{"id": id, verb: true})
}

// keyUsage is one key's line in GET /admin/usage.
type keyUsage struct {
	ID       string  `json:"id"`
	Name     string  `json:"name,omitempty"`
	TotalUSD float64 `json:"total_usd"`
	TodayUSD float64 `json:"today_usd"`
	MonthUSD float64 `json:"month_usd"`
}

func (g *Gateway) adminUsage(w http.ResponseWriter, r *http.Request, _ *record) error {
	keys, err := g.store().Keys.List(r.Context())
	if err != nil {
		return storeError(err)
	}
	out := []keyUsage{}
	now := g.Now()
	for _, k := range keys {
		s, err := g.Admission.Spent(r.Context(), k, now)
		if err != nil {
			return storeError(err)
		}
		out = append(out, keyUsage{ID: k.ID, Name: k.Name, TotalUSD: float64(s.TotalMicros) / 1e6,
			TodayUSD: float64(s.DayMicros) / 1e6, MonthUSD: float64(s.MonthMicros) / 1e6})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
}

// handleToken is POST /auth/token: a valid virtual key gets a short-lived JWT.
func (g *Gateway) token(w http.ResponseWriter, r *http.Request, _ *record) error {
	tok, exp, err := g.Admission.IssueToken(r.Context(), r.Header)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"token": tok, "token_type": "Bearer", "expires_at": exp.UTC().Format(time.RFC3339),
		"expires_in": int(exp.Sub(g.Now()).Seconds())})
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
	for _, name := range g.Router.Providers() {
		p, _ := g.Router.Provider(name)
		ps := &providerStatus{Name: name, Kind: p.Kind(), Healthy: true, Targets: []router.TargetStats{}}
		byName[name] = ps
		out = append(out, ps)
	}
	for _, t := range g.Router.Targets() {
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

// adminConfigView is GET /admin/config: the configuration plus a guardrails summary.
type adminConfigView struct {
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
