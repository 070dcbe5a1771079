// Package gemini serves Google's Gemini models through two kinds:
//   - "gemini": Google AI Studio (generativelanguage.googleapis.com, v1beta),
//     API key in the x-goog-api-key header;
//   - "vertex": Vertex AI (publishers/google models of a project and
//     location, v1), Config.APIKey sent as a bearer access token.
//
// Both speak the same GenerateContent wire format, so one translator serves
// both; only URLs, authentication and embeddings differ.
package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/provider"
)

// The kinds this package serves.
const (
	KindGemini = "gemini"
	KindVertex = "vertex"
)

const defaultGeminiBase = "https://generativelanguage.googleapis.com"

// Provider is one configured Gemini or Vertex AI upstream.
type Provider struct {
	up   provider.Upstream
	kind string
	base string
	key  provider.Secret
	// extra are the configured extra headers.
	extra    http.Header
	project  string
	location string
	// now and newID are replaced by tests for stable output.
	now   func() time.Time
	newID func() string
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Embedder = (*Provider)(nil)
)

// locationRe bounds a Vertex location, which becomes part of a host name.
var locationRe = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// New builds a provider of kind "gemini" or "vertex". Vertex needs Project
// and Location. Without BaseURL the public Google endpoint is used.
func New(cfg provider.Config, deps provider.Deps) (*Provider, error) {
	name := cfg.Name
	if name == "" {
		name = cfg.Kind
	}
	p := &Provider{
		up:    provider.NewUpstream(name, cfg, deps),
		kind:  cfg.Kind,
		key:   cfg.APIKey,
		extra: cfg.Header(),
		now:   time.Now,
		newID: provider.NewCompletionID,
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	switch cfg.Kind {
	case KindGemini:
		if base == "" {
			base = defaultGeminiBase
		}
		if cfg.APIKey == "" && !p.hasHeader("x-goog-api-key") {
			return nil, fmt.Errorf("provider %s (gemini): api_key is required", p.up.Name)
		}
	case KindVertex:
		p.project, p.location = cfg.Project, cfg.Location
		if p.project == "" {
			return nil, fmt.Errorf("provider %s (vertex): project is required", p.up.Name)
		}
		if p.location == "" {
			return nil, fmt.Errorf("provider %s (vertex): location is required", p.up.Name)
		}
		if !locationRe.MatchString(p.location) {
			return nil, fmt.Errorf("provider %s (vertex): location %q is not a Vertex AI location", p.up.Name, p.location)
		}
		if cfg.APIKey == "" && !p.hasHeader("authorization") {
			return nil, fmt.Errorf("provider %s (vertex): api_key (an access token) is required", p.up.Name)
		}
		if base == "" {
			base = vertexBase(p.location)
		}
	default:
		return nil, fmt.Errorf("provider %s: kind %q is not served by the gemini package", p.up.Name, cfg.Kind)
	}
	if !provider.ValidBaseURL(base) {
		return nil, fmt.Errorf("provider %s: base_url %q is not an http(s) URL", p.up.Name, base)
	}
	p.base = base
	return p, nil
}

func vertexBase(location string) string {
	if location == "global" {
		return "https://aiplatform.googleapis.com"
	}
	return "https://" + location + "-aiplatform.googleapis.com"
}

func (p *Provider) hasHeader(name string) bool {
	return len(p.extra.Values(name)) > 0
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.up.Name }

// Kind implements provider.Provider.
func (p *Provider) Kind() string { return p.kind }

// modelURL is the URL of method (generateContent, streamGenerateContent,
// batchEmbedContents, predict) on model.
func (p *Provider) modelURL(model, method string) string {
	if p.kind == KindVertex {
		return fmt.Sprintf("%s/v1/projects/%s/locations/%s/publishers/google/models/%s:%s",
			p.base, url.PathEscape(p.project), p.location, url.PathEscape(model), method)
	}
	return p.base + "/v1beta/" + geminiModelPath(model) + ":" + method
}

// geminiModelPath is the resource name of an AI Studio model: "models/x", or
// a tuned model's "tunedModels/x" as given.
func geminiModelPath(model string) string {
	for _, prefix := range []string{"models/", "tunedModels/"} {
		if rest, ok := strings.CutPrefix(model, prefix); ok {
			return prefix + url.PathEscape(rest)
		}
	}
	return "models/" + url.PathEscape(model)
}

// header is the headers of every upstream request: the configured extras,
// then the credential.
func (p *Provider) header() http.Header {
	h := p.extra.Clone()
	if k := p.key.Value(); k != "" {
		if p.kind == KindVertex {
			h.Set("Authorization", "Bearer "+k)
		} else {
			h.Set("x-goog-api-key", k)
		}
	}
	return h
}

// post sends a JSON body and returns the 2xx answer.
func (p *Provider) post(ctx context.Context, u string, body any) ([]byte, error) {
	b, err := provider.Marshal(body)
	if err != nil {
		return nil, err
	}
	ue := &upstreamErrors{p: p}
	out, err := p.up.DoJSON(ctx, http.MethodPost, u, p.header(), b, ue.message)
	if err != nil {
		return nil, ue.fix(err)
	}
	return out, nil
}

// Chat implements provider.Provider.
func (p *Provider) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	gr, err := translateRequest(req.Body)
	if err != nil {
		return nil, err
	}
	body, err := p.post(ctx, p.modelURL(req.Model, "generateContent"), gr)
	if err != nil {
		return nil, err
	}
	var resp generateResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, provider.BadUpstreamBody(p.up.Name, err)
	}
	cc, err := p.completion(&resp, req.Model, p.newID(), p.now().Unix())
	if err != nil {
		return nil, err
	}
	out, err := provider.Marshal(cc)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: out, ContentType: "application/json", Usage: *cc.Usage}, nil
}

// ChatStream implements provider.Provider. It reads up to the first chunk
// before returning, so an upstream that fails before producing anything (a
// blocked prompt, an error event, an empty body) is reported here, where the
// router may still fail over.
func (p *Provider) ChatStream(ctx context.Context, req *provider.ChatRequest) (provider.Stream, error) {
	gr, err := translateRequest(req.Body)
	if err != nil {
		return nil, err
	}
	b, err := provider.Marshal(gr)
	if err != nil {
		return nil, err
	}
	t := p.newTranslator(req.Model)
	ue := &upstreamErrors{p: p}
	inner, err := p.up.StreamJSON(ctx, http.MethodPost, p.modelURL(req.Model, "streamGenerateContent")+"?alt=sse", p.header(), b, ue.message, t.translate)
	if err != nil {
		return nil, ue.fix(err)
	}
	// Gemini has no end marker: the body just ends after the chunk with
	// finishReason. The wrapper checks that one was seen.
	inner.EndWithoutMarkerIsClean = true
	s := &stream{inner: inner, t: t}
	first, err := s.Next()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.peeked = &first
	return s, nil
}
