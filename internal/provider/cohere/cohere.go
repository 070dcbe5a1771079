// Package cohere is the provider for Cohere's API v2: chat (POST /v2/chat,
// whole or streamed) and embeddings (POST /v2/embed). It translates OpenAI
// chat and embeddings requests into Cohere's shapes, and Cohere's answers back
// into OpenAI's.
package cohere

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// DefaultBaseURL is Cohere's public API.
const DefaultBaseURL = "https://api.cohere.com"

// Provider is one configured Cohere upstream.
type Provider struct {
	up   provider.Upstream
	base string
	key  provider.Secret
	// extra are the configured extra headers.
	extra http.Header
	// now is the clock for "created"; tests fix it.
	now func() time.Time
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Embedder = (*Provider)(nil)
)

// New builds a provider from its config. BaseURL defaults to DefaultBaseURL;
// a nil deps.HTTP gets a client of its own.
func New(cfg provider.Config, deps provider.Deps) (*Provider, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if !provider.ValidBaseURL(base) {
		return nil, fmt.Errorf("cohere provider %q: base URL must be an http(s) URL", cfg.Name)
	}
	name := cfg.Name
	if name == "" {
		name = "cohere"
	}
	return &Provider{
		up:    provider.NewUpstream(name, cfg, deps),
		base:  base,
		key:   cfg.APIKey,
		extra: cfg.Header(),
		now:   time.Now,
	}, nil
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.up.Name }

// Kind implements provider.Provider.
func (p *Provider) Kind() string { return "cohere" }

// Chat implements provider.Provider.
func (p *Provider) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	body, err := p.chatBody(req, false)
	if err != nil {
		return nil, err
	}
	raw, err := p.up.DoJSON(ctx, http.MethodPost, p.base+"/v2/chat", p.header(), body, nil)
	if err != nil {
		return nil, err
	}
	out, usage, err := translateResponse(p.up.Name, req.Model, raw, p.now().Unix())
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: out, ContentType: "application/json", Usage: usage}, nil
}

// ChatStream implements provider.Provider. The stream always ends with the
// usage chunk, whether or not the client asked for it.
func (p *Provider) ChatStream(ctx context.Context, req *provider.ChatRequest) (provider.Stream, error) {
	body, err := p.chatBody(req, true)
	if err != nil {
		return nil, err
	}
	t := newStreamTranslator(p.up, req.Model, p.now().Unix())
	s, err := p.up.StreamJSON(ctx, http.MethodPost, p.base+"/v2/chat", p.header(), body, nil, t.translate)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (p *Provider) chatBody(req *provider.ChatRequest, stream bool) ([]byte, error) {
	if req == nil || req.Body == nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Provider: p.up.Name, Message: "empty chat request"}
	}
	cr, err := translateRequest(req.Model, req.Body)
	if err != nil {
		err.Provider = p.up.Name
		return nil, err
	}
	cr.Stream = stream
	return provider.Marshal(cr)
}

// header is the set of headers of every upstream request. The configured
// extra headers come first; the key always wins.
func (p *Provider) header() http.Header {
	h := p.extra.Clone()
	if p.key != "" {
		h.Set("Authorization", "Bearer "+p.key.Value())
	}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	return h
}

// invalid is the 400 for a client request Cohere cannot serve.
func invalid(param, format string, args ...any) *openai.Error {
	return &openai.Error{Code: openai.CodeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}
