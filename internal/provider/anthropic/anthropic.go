// Package anthropic is the provider for Anthropic's Messages API
// (POST /v1/messages). It translates OpenAI chat requests into Messages
// requests, and Messages answers, streamed or whole, back into OpenAI's shapes.
// Anthropic has no embeddings API, so the provider does not implement
// provider.Embedder.
package anthropic

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
	name    string
	url     string
	key     provider.Secret
	version string
	headers map[string]provider.Secret
	client  *http.Client
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
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("anthropic provider %q: base URL must be an http(s) URL", cfg.Name)
	}
	version := cfg.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	client := deps.HTTP
	if client == nil {
		client = provider.NewHTTPClient()
	}
	name := cfg.Name
	if name == "" {
		name = "anthropic"
	}
	return &Provider{
		name:    name,
		url:     base + "/v1/messages",
		key:     cfg.APIKey,
		version: version,
		headers: cfg.Headers,
		client:  client,
		now:     time.Now,
	}, nil
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.name }

// Kind implements provider.Provider.
func (p *Provider) Kind() string { return "anthropic" }

// Chat implements provider.Provider.
func (p *Provider) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	body, err := p.requestBody(req, false)
	if err != nil {
		return nil, err
	}
	raw, err := provider.DoJSON(ctx, p.client, p.name, http.MethodPost, p.url, p.header(), body, errorMessage)
	if err != nil {
		return nil, p.redact(err)
	}
	out, usage, err := translateResponse(p.name, raw, p.now().Unix())
	if err != nil {
		return nil, p.redact(err)
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
	hreq, err := provider.NewJSONRequest(ctx, http.MethodPost, p.url, p.header(), body)
	if err != nil {
		return nil, err
	}
	t := newStreamTranslator(p.name, req.Model, p.now, p.redactString)
	s, err := provider.StreamRequest(p.client, hreq, p.name, errorMessage, t.translate)
	if err != nil {
		return nil, p.redact(err)
	}
	return s, nil
}

func (p *Provider) requestBody(req *provider.ChatRequest, stream bool) ([]byte, error) {
	if req == nil || req.Body == nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Provider: p.name, Message: "empty chat request"}
	}
	mr, err := translateRequest(req.Model, req.Body)
	if err != nil {
		return nil, err
	}
	mr.Stream = stream
	return marshal(mr)
}

// header is the set of headers of every upstream request. The configured
// extra headers (anthropic-beta, for example) come first; the key and version
// always win.
func (p *Provider) header() http.Header {
	h := make(http.Header, len(p.headers)+3)
	for k, v := range p.headers {
		h.Set(k, v.Value())
	}
	if p.key != "" {
		h.Set("x-api-key", p.key.Value())
	}
	h.Set("anthropic-version", p.version)
	h.Set("Content-Type", "application/json")
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

// errorMessage extracts the message of Anthropic's error body
// {"type":"error","error":{"type":"...","message":"..."}}, falling back to the
// common shapes. An empty result lets provider.StatusError use the raw text.
func errorMessage(body []byte) string {
	var v struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil && v.Error.Message != "" {
		return v.Error.Message
	}
	return provider.GenericMessage(body)
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
