// Package anthropic is the provider for Anthropic's Messages API
// (POST /v1/messages). It translates OpenAI chat requests into Messages
// requests, and Messages answers, streamed or whole, back into OpenAI's shapes.
// Anthropic has no embeddings API, so the provider does not implement
// provider.Embedder.
package anthropic

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

const (
	// DefaultBaseURL is Anthropic's public API.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultAPIVersion is the anthropic-version header sent unless the
	// config overrides it.
	DefaultAPIVersion = "2023-06-01"
	// DefaultMaxTokens is sent when the client set no output limit: Anthropic
	// requires max_tokens.
	DefaultMaxTokens = 4096
)

// Provider is one configured Anthropic upstream.
type Provider struct {
	up  provider.Upstream
	url string
	// models is GET /v1/models (see ListModels).
	models  string
	key     provider.Secret
	version string
	// extra are the configured extra headers.
	extra http.Header
	// now is the clock for "created"; tests fix it.
	now func() time.Time
}

// New builds a provider from its config. BaseURL defaults to
// DefaultBaseURL and APIVersion to DefaultAPIVersion; a nil deps.HTTP gets a
// client of its own.
func New(cfg provider.Config, deps provider.Deps) (*Provider, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if !provider.ValidBaseURL(base) {
		return nil, fmt.Errorf("anthropic provider %q: base URL must be an http(s) URL", cfg.Name)
	}
	version := cfg.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	name := cfg.Name
	if name == "" {
		name = "anthropic"
	}
	return &Provider{
		up:      provider.NewUpstream(name, cfg, deps),
		url:     base + "/v1/messages",
		models:  base + "/v1/models",
		key:     cfg.APIKey,
		version: version,
		extra:   cfg.Header(),
		now:     time.Now,
	}, nil
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.up.Name }

// Kind implements provider.Provider.
func (p *Provider) Kind() string { return "anthropic" }

// Chat implements provider.Provider.
func (p *Provider) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	body, err := p.requestBody(req, false)
	if err != nil {
		return nil, err
	}
	raw, err := p.up.DoJSON(ctx, http.MethodPost, p.url, p.header(), body, nil)
	if err != nil {
		return nil, err
	}
	out, usage, err := translateResponse(p.up, raw, p.now().Unix())
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: out, ContentType: "application/json", Usage: usage}, nil
}

// ChatStream implements provider.Provider. The stream always ends with the
// usage chunk, whether or not the client asked for it.
func (p *Provider) ChatStream(ctx context.Context, req *provider.ChatRequest) (provider.Stream, error) {
	body, err := p.requestBody(req, true)
	if err != nil {
		return nil, err
	}
	t := newStreamTranslator(p.up, req.Model, p.now)
	s, err := p.up.StreamJSON(ctx, http.MethodPost, p.url, p.header(), body, nil, t.translate)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (p *Provider) requestBody(req *provider.ChatRequest, stream bool) ([]byte, error) {
	if req == nil || req.Body == nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Provider: p.up.Name, Message: "empty chat request"}
	}
	mr, err := translateRequest(req.Model, req.Body)
	if err != nil {
		return nil, err
	}
	mr.Stream = stream
	return provider.Marshal(mr)
}

// header is the set of headers of every upstream request. The configured
// extra headers (anthropic-beta, for example) come first; the key and version
// always win.
func (p *Provider) header() http.Header {
	h := p.extra.Clone()
	if p.key != "" {
		h.Set("x-api-key", p.key.Value())
	}
	h.Set("anthropic-version", p.version)
	h.Set("Content-Type", "application/json")
	return h
}
