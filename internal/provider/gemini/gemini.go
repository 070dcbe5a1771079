// Package gemini serves Google's Gemini models through two kinds:
//   - "gemini": Google AI Studio (generativelanguage.googleapis.com, v1beta),
//     API key in the x-goog-api-key header;
//   - "vertex": Vertex AI (publishers/google models of a project and
//     location, v1), with OAuth access tokens made from Google credentials
//     and renewed before they expire, or a static token (see auth.go).
//
// Both speak the same GenerateContent wire format, so one translator serves
// both; only URLs, authentication and embeddings differ.
package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/aigateway/gateway/internal/openai"
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
	// tokens makes Vertex AI access tokens; nil with a static token.
	tokens oauth2.TokenSource
	// secrets are the configured secret values; a request's access token
	// joins them for redaction, in tokenUp: the upstream of the last token
	// (rebuilt when the token changes, about once an hour).
	secrets []provider.Secret
	tokenMu sync.Mutex
	tokenUp struct {
		token string
		up    provider.Upstream
	}
	logger *slog.Logger
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
		up:     provider.NewUpstream(name, cfg, deps),
		kind:   cfg.Kind,
		key:    cfg.APIKey,
		extra:  cfg.Header(),
		logger: deps.Logger,
		now:    time.Now,
		newID:  provider.NewCompletionID,
	}
	p.secrets = cfg.SecretValues()
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
		static := cfg.APIKey != "" || p.hasHeader("authorization")
		switch {
		case static && cfg.CredentialsFile != "":
			return nil, fmt.Errorf("provider %s (vertex): set credentials_file or a static access token (api_key, an Authorization header), not both", p.up.Name)
		case !static:
			ts, err := googleTokens(cfg.CredentialsFile, p.up.Client)
			if err != nil {
				return nil, fmt.Errorf("provider %s (vertex): %w", p.up.Name, err)
			}
			p.tokens = ts
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

// upstreamFor is p's upstream with token among the secrets it redacts.
func (p *Provider) upstreamFor(token string) provider.Upstream {
	p.tokenMu.Lock()
	defer p.tokenMu.Unlock()
	if p.tokenUp.token != token || token == "" {
		up := p.up
		up.Secrets = provider.NewSecrets(append(slices.Clip(p.secrets), provider.Secret(token))...)
		p.tokenUp.token, p.tokenUp.up = token, up
	}
	return p.tokenUp.up
}

// request is what one upstream request is sent with: the headers (the
// configured extras, then the credential) and the upstream whose secrets
// are redacted from what it answers, the access token included.
func (p *Provider) request() (http.Header, provider.Upstream, error) {
	h := p.extra.Clone()
	up := p.up
	if p.tokens != nil {
		tok, err := p.tokens.Token()
		if err != nil {
			return nil, up, p.tokenError(err)
		}
		h.Set("Authorization", "Bearer "+tok.AccessToken)
		return h, p.upstreamFor(tok.AccessToken), nil
	}
	if k := p.key.Value(); k != "" {
		if p.kind == KindVertex {
			h.Set("Authorization", "Bearer "+k)
		} else {
			h.Set("x-goog-api-key", k)
		}
	}
	return h, up, nil
}

// tokenError is the error of a request that got no access token: the
// gateway's credentials failed, so another target may still serve it. The
// token endpoint's error code (invalid_grant, ...) is kept; its description
// goes to the log only.
func (p *Provider) tokenError(err error) *openai.Error {
	msg := fmt.Sprintf("provider %s could not get a Google access token", p.up.Name)
	if code := oauthErrorCode(err); code != "" {
		msg += " (" + code + ")"
	}
	if p.logger != nil {
		p.logger.Warn("vertex access token", "provider", p.up.Name, "error", p.up.Secrets.Redact(err.Error()))
	}
	return &openai.Error{Code: openai.CodeUpstreamAuth, Provider: p.up.Name, Retryable: true, Message: msg}
}

// post sends a JSON body and returns the 2xx answer.
func (p *Provider) post(ctx context.Context, u string, body any) ([]byte, error) {
	b, err := provider.Marshal(body)
	if err != nil {
		return nil, err
	}
	h, up, err := p.request()
	if err != nil {
		return nil, err
	}
	ue := &upstreamErrors{up: up}
	out, err := up.DoJSON(ctx, http.MethodPost, u, h, b, ue.message)
	if err != nil {
		return nil, ue.fix(err)
	}
	return out, nil
}

// Chat implements provider.Provider.
func (p *Provider) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	gr, err := translateRequest(req.Model, req.Body)
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
	gr, err := translateRequest(req.Model, req.Body)
	if err != nil {
		return nil, err
	}
	b, err := provider.Marshal(gr)
	if err != nil {
		return nil, err
	}
	t := p.newTranslator(req.Model)
	h, up, err := p.request()
	if err != nil {
		return nil, err
	}
	ue := &upstreamErrors{up: up}
	inner, err := up.StreamJSON(ctx, http.MethodPost, p.modelURL(req.Model, "streamGenerateContent")+"?alt=sse", h, b, ue.message, t.translate)
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
