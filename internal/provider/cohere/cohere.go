// Package cohere is the provider for Cohere's API v2: chat (POST /v2/chat,
// whole or streamed) and embeddings (POST /v2/embed). It translates OpenAI
// chat and embeddings requests into Cohere's shapes, and Cohere's answers back
// into OpenAI's.
package cohere

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// DefaultBaseURL is Cohere's public API.
const DefaultBaseURL = "https://api.cohere.com"

// Provider is one configured Cohere upstream.
type Provider struct {
	name    string
	base    string
	key     provider.Secret
	headers map[string]provider.Secret
	client  *http.Client
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
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cohere provider %q: base URL must be an http(s) URL", cfg.Name)
	}
	client := deps.HTTP
	if client == nil {
		client = provider.NewHTTPClient()
	}
	name := cfg.Name
	if name == "" {
		name = "cohere"
	}
	return &Provider{
		name:    name,
		base:    base,
		key:     cfg.APIKey,
		headers: cfg.Headers,
		client:  client,
		now:     time.Now,
	}, nil
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.name }

// Kind implements provider.Provider.
func (p *Provider) Kind() string { return "cohere" }

// Chat implements provider.Provider.
func (p *Provider) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	body, err := p.chatBody(req, false)
	if err != nil {
		return nil, err
	}
	raw, err := provider.DoJSON(ctx, p.client, p.name, http.MethodPost, p.base+"/v2/chat", p.header(), body, nil)
	if err != nil {
		return nil, p.redact(err)
	}
	out, usage, err := translateResponse(p.name, req.Model, raw, p.now().Unix())
	if err != nil {
		return nil, p.redact(err)
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
	hreq, err := provider.NewJSONRequest(ctx, http.MethodPost, p.base+"/v2/chat", p.header(), body)
	if err != nil {
		return nil, err
	}
	t := newStreamTranslator(p.name, req.Model, p.now().Unix(), p.redactString)
	s, err := provider.StreamRequest(p.client, hreq, p.name, nil, t.translate)
	if err != nil {
		return nil, p.redact(err)
	}
	return s, nil
}

func (p *Provider) chatBody(req *provider.ChatRequest, stream bool) ([]byte, error) {
	if req == nil || req.Body == nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Provider: p.name, Message: "empty chat request"}
	}
	cr, err := translateRequest(req.Model, req.Body)
	if err != nil {
		err.Provider = p.name
		return nil, err
	}
	cr.Stream = stream
	return marshal(cr)
}

// header is the set of headers of every upstream request. The configured
// extra headers come first; the key always wins.
func (p *Provider) header() http.Header {
	h := make(http.Header, len(p.headers)+3)
	for k, v := range p.headers {
		h.Set(k, v.Value())
	}
	if p.key != "" {
		h.Set("Authorization", "Bearer "+p.key.Value())
	}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	return h
}

// redact removes the API key from an error's message, in case the upstream
// echoed it.
func (p *Provider) redact(err error) error {
	var e *openai.Error
	if errors.As(err, &e) {
		e.Message = p.redactString(e.Message)
	}
	return err
}

func (p *Provider) redactString(s string) string {
	if k := p.key.Value(); k != "" {
		s = strings.ReplaceAll(s, k, p.key.String())
	}
	return s
}

// invalid is the 400 for a client request Cohere cannot serve.
func invalid(param, format string, args ...any) *openai.Error {
	return &openai.Error{Code: openai.CodeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

// marshal encodes v without escaping <, > and & so prompts reach the
// upstream as written.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Message: "could not encode the upstream request"}
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
