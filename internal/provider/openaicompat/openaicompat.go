// Package openaicompat talks to every upstream that speaks the OpenAI protocol:
// OpenAI itself, Groq, Mistral, Together, Perplexity, Ollama, DeepSeek, xAI,
// OpenRouter, Fireworks, Azure OpenAI and any custom OpenAI-compatible URL
// (the kinds of family openaicompat in provider.Kinds).
//
// Requests are forwarded as the client sent them with only `model` (and, for
// streams, `stream_options.include_usage`; and tool call ids over OpenAI's
// length limit, see toolids.go) patched in the raw bytes, so new OpenAI
// parameters pass through untouched.
package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidwall/sjson"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/sse"
)

// lookupKind returns kind when this package serves it (provider.Kinds holds
// each kind's default base URL and stream_options quirk).
func lookupKind(kind string) (provider.Kind, bool) {
	k, ok := provider.LookupKind(kind)
	return k, ok && k.Family == provider.FamilyOpenAICompat
}

// IsKind reports whether kind is served by this package.
func IsKind(kind string) bool {
	_, ok := lookupKind(kind)
	return ok
}

// DefaultAzureAPIVersion is used when an Azure provider names none.
const DefaultAzureAPIVersion = "2024-10-21"

// Provider is one OpenAI-protocol upstream.
type Provider struct {
	up          provider.Upstream
	kind        string
	base        string
	headers     http.Header
	apiVersion  string
	deployments map[string]string
	streamOpts  bool
}

// New builds a provider of one of this package's kinds.
func New(cfg provider.Config, deps provider.Deps) (*Provider, error) {
	kind, ok := lookupKind(cfg.Kind)
	if !ok {
		return nil, fmt.Errorf("provider %q: kind %q is not an OpenAI-protocol kind", cfg.Name, cfg.Kind)
	}
	base := cfg.BaseURL
	if base == "" {
		base = kind.DefaultURL
	}
	if base == "" {
		return nil, fmt.Errorf("provider %q: base_url is required for kind %q", cfg.Name, cfg.Kind)
	}
	if !provider.ValidBaseURL(base) {
		return nil, fmt.Errorf("provider %q: base_url %q is not an http(s) URL", cfg.Name, base)
	}
	p := &Provider{
		up:          provider.NewUpstream(cfg.Name, cfg, deps),
		kind:        cfg.Kind,
		base:        strings.TrimRight(base, "/"),
		headers:     cfg.Header(),
		apiVersion:  cfg.APIVersion,
		deployments: cfg.Deployments,
		streamOpts:  !kind.OmitStreamOptions,
	}
	// Configured headers win over the key's (a custom Authorization, say).
	if cfg.Kind == "azure" {
		if p.apiVersion == "" {
			p.apiVersion = DefaultAzureAPIVersion
		}
		if cfg.APIKey != "" && len(p.headers.Values("api-key")) == 0 {
			p.headers.Set("api-key", cfg.APIKey.Value())
		}
	} else if cfg.APIKey != "" && len(p.headers.Values("Authorization")) == 0 {
		p.headers.Set("Authorization", "Bearer "+cfg.APIKey.Value())
	}
	return p, nil
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.up.Name }

// Kind implements provider.Provider.
func (p *Provider) Kind() string { return p.kind }

// endpoint builds the upstream URL of an API path ("chat/completions").
// Azure puts the deployment in the path and the API version in the query.
func (p *Provider) endpoint(path, model string) string {
	if p.kind != "azure" {
		return p.base + "/" + path
	}
	dep := model
	if d, ok := p.deployments[model]; ok {
		dep = d
	}
	return p.base + "/openai/deployments/" + url.PathEscape(dep) + "/" + path + "?api-version=" + url.QueryEscape(p.apiVersion)
}

// Chat implements provider.Provider.
func (p *Provider) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	body, err := patchModel(req.Raw, req.Model)
	if err == nil {
		body, err = shortenChatToolCallIDs(body)
	}
	if err != nil {
		return nil, err
	}
	if bytes.Contains(body, []byte(`"stream"`)) {
		if body, err = sjson.DeleteBytes(body, "stream_options"); err == nil {
			body, err = sjson.SetBytes(body, "stream", false)
		}
		if err != nil {
			return nil, &openai.Error{Code: openai.CodeInvalidJSON, Message: "request body is not valid JSON"}
		}
	}
	out, err := p.up.DoJSON(ctx, http.MethodPost, p.endpoint("chat/completions", req.Model), p.headers, body, nil)
	if err != nil {
		return nil, err
	}
	return withUsage(p.up.Name, out)
}

// ChatStream implements provider.Provider.
func (p *Provider) ChatStream(ctx context.Context, req *provider.ChatRequest) (provider.Stream, error) {
	body, err := patchModel(req.Raw, req.Model)
	if err == nil {
		body, err = shortenChatToolCallIDs(body)
	}
	if err == nil {
		body, err = sjson.SetBytes(body, "stream", true)
	}
	if err == nil && p.streamOpts {
		body, err = sjson.SetBytes(body, "stream_options.include_usage", true)
	}
	if err != nil {
		return nil, &openai.Error{Code: openai.CodeInvalidJSON, Message: "request body is not valid JSON"}
	}
	t := &streamTranslator{up: p.up}
	s, err := p.up.StreamJSON(ctx, http.MethodPost, p.endpoint("chat/completions", req.Model), p.headers, body, nil, t.translate)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Embeddings implements provider.Embedder.
func (p *Provider) Embeddings(ctx context.Context, req *provider.EmbeddingsRequest) (*provider.Response, error) {
	body, err := patchModel(req.Raw, req.Model)
	if err != nil {
		return nil, err
	}
	out, err := p.up.DoJSON(ctx, http.MethodPost, p.endpoint("embeddings", req.Model), p.headers, body, nil)
	if err != nil {
		return nil, err
	}
	return withUsage(p.up.Name, out)
}

// ImageGenerations implements provider.ImageGenerator.
func (p *Provider) ImageGenerations(ctx context.Context, req *provider.RawRequest) (*provider.Response, error) {
	body, err := patchModel(req.Body, req.Model)
	if err != nil {
		return nil, err
	}
	out, err := p.up.DoJSON(ctx, http.MethodPost, p.endpoint("images/generations", req.Model), p.headers, body, nil)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: out}, nil
}

// AudioTranscriptions implements provider.Transcriber: the multipart form is
// forwarded with its model field replaced.
func (p *Provider) AudioTranscriptions(ctx context.Context, req *provider.RawRequest) (*provider.Response, error) {
	body, ctype, err := ReplaceMultipartField(req.Body, req.ContentType, "model", req.Model)
	if err != nil {
		return nil, err
	}
	h := p.headers.Clone()
	h.Set("Content-Type", ctype)
	hr, err := provider.NewJSONRequest(ctx, http.MethodPost, p.endpoint("audio/transcriptions", req.Model), h, body)
	if err != nil {
		return nil, err
	}
	resp, err := p.up.Do(hr, nil)
	if err != nil {
		return nil, err
	}
	out, err := provider.ReadBody(ctx, p.up.Name, resp)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: out, ContentType: resp.Header.Get("Content-Type")}, nil
}

// patchModel sets "model" in a raw JSON body.
func patchModel(raw []byte, model string) ([]byte, error) {
	out, err := sjson.SetBytes(raw, "model", model)
	if err != nil {
		return nil, &openai.Error{Code: openai.CodeInvalidJSON, Message: "request body is not valid JSON"}
	}
	return out, nil
}

// withUsage reads the usage object out of a complete answer.
func withUsage(providerName string, body []byte) (*provider.Response, error) {
	var v struct {
		Usage *openai.Usage `json:"usage"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, provider.BadUpstreamBody(providerName, err)
	}
	r := &provider.Response{Body: body}
	if v.Usage != nil {
		r.Usage = *v.Usage
	}
	return r, nil
}

// streamTranslator passes OpenAI chunks through and makes sure the stream ends
// with exactly one usage-only chunk: the upstream's own when it sent one, or
// one built from usage it attached to its last content chunk.
type streamTranslator struct {
	up        provider.Upstream
	usage     *openai.Usage
	sentUsage bool
	id, model string
	created   int64
}

var usageKey = []byte(`"usage"`)

func (t *streamTranslator) translate(ev sse.Event) ([]provider.Chunk, bool, error) {
	if sse.IsDone(ev.Data) {
		if t.sentUsage {
			return nil, true, nil
		}
		b := provider.ChunkBuilder{ID: t.id, Model: t.model, Created: t.created}
		var u openai.Usage
		if t.usage != nil {
			u = *t.usage
		}
		c := b.Usage(u)
		return []provider.Chunk{c}, true, nil
	}
	if ev.Event == "error" || bytes.HasPrefix(bytes.TrimSpace(ev.Data), []byte(`{"error"`)) {
		return nil, false, t.up.ErrorEvent(provider.GenericMessage(ev.Data))
	}
	if t.id == "" || bytes.Contains(ev.Data, usageKey) {
		var v struct {
			ID      string            `json:"id"`
			Model   string            `json:"model"`
			Created int64             `json:"created"`
			Choices []json.RawMessage `json:"choices"`
			Usage   *openai.Usage     `json:"usage"`
		}
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			return nil, false, provider.BadUpstreamBody(t.up.Name, err)
		}
		if t.id == "" {
			t.id, t.model, t.created = v.ID, v.Model, v.Created
		}
		if v.Usage != nil {
			t.usage = v.Usage
			if len(v.Choices) == 0 {
				t.sentUsage = true
				return []provider.Chunk{{Data: ev.Data, Usage: v.Usage}}, false, nil
			}
		}
	}
	return []provider.Chunk{{Data: ev.Data}}, false, nil
}
