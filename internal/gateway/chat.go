package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/sse"
	"github.com/aigateway/gateway/internal/state"
)

var validRoles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}

// validateChat rejects requests no provider could serve, with the param named.
func validateChat(req *openai.ChatRequest) error {
	bad := func(param, format string, args ...any) error {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
	}
	if req.Model == "" {
		return bad("model", "you must provide a model parameter")
	}
	if len(req.Messages) == 0 {
		return bad("messages", "messages must contain at least one message")
	}
	for i, m := range req.Messages {
		if !validRoles[m.Role] {
			return bad(fmt.Sprintf("messages[%d].role", i), "invalid role %q: expected system, developer, user, assistant or tool", m.Role)
		}
		if m.Role == "tool" && m.ToolCallID == "" {
			return bad(fmt.Sprintf("messages[%d].tool_call_id", i), "a tool message needs tool_call_id")
		}
		for j, p := range m.Content.Parts {
			switch p.Type {
			case "text", "input_audio", "file", "refusal":
			case "image_url":
				if p.ImageURL == nil || p.ImageURL.URL == "" {
					return bad(fmt.Sprintf("messages[%d].content[%d].image_url", i, j), "image_url.url is required")
				}
				u := p.ImageURL.URL
				if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "data:") {
					return bad(fmt.Sprintf("messages[%d].content[%d].image_url.url", i, j), "image URL must be an http(s) or data: URL")
				}
			default:
				return bad(fmt.Sprintf("messages[%d].content[%d].type", i, j), "invalid content part type %q", p.Type)
			}
		}
	}
	if req.N != nil && (*req.N < 1 || *req.N > 128) {
		return bad("n", "n must be between 1 and 128")
	}
	if req.Temperature != nil && (*req.Temperature < 0 || *req.Temperature > 2) {
		return bad("temperature", "temperature must be between 0 and 2")
	}
	if req.TopP != nil && (*req.TopP < 0 || *req.TopP > 1) {
		return bad("top_p", "top_p must be between 0 and 1")
	}
	if req.MaxTokens != nil && *req.MaxTokens < 1 {
		return bad("max_tokens", "max_tokens must be at least 1")
	}
	if req.MaxCompletionTokens != nil && *req.MaxCompletionTokens < 1 {
		return bad("max_completion_tokens", "max_completion_tokens must be at least 1")
	}
	if len(req.Stop) > 4 {
		return bad("stop", "stop may hold at most 4 sequences")
	}
	for i, t := range req.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return bad(fmt.Sprintf("tools[%d]", i), "each tool needs type \"function\" and a function name")
		}
	}
	if req.StreamOptions != nil && !req.Stream {
		return bad("stream_options", "stream_options is only allowed when stream is true")
	}
	return nil
}

func (g *Gateway) handleChat(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	var req openai.ChatRequest
	if err := decodeJSON(body, &req); err != nil {
		g.fail(w, r, err)
		return
	}
	if err := validateChat(&req); err != nil {
		g.fail(w, r, err)
		return
	}
	ri := info(r.Context())
	ri.stream = req.Stream
	estimate := int64(pricing.EstimatePromptTokens(&req) + req.MaxOutputTokens())
	pr, ok := g.prepare(w, r, prepareRequest{model: req.Model, user: req.User, body: body, endpoint: "chat",
		estimate: estimate, cacheable: true, guard: func(profile string) ([]byte, error) {
			return g.guard.CheckChatBody(profile, &req, body)
		}})
	if !ok {
		return
	}
	body = pr.body
	if g.cfg.Server.LogPrompts && len(req.Messages) > 0 {
		ri.prompt = req.Messages[len(req.Messages)-1].Content.AllText()
	}
	if pr.adm.cached != nil {
		g.serveCachedChat(w, r, pr, &req)
		return
	}
	if req.Stream {
		g.streamChat(w, r, pr, &req, body)
		return
	}
	var resp *provider.Response
	res, err := g.router.Run(r.Context(), pr.plan, g.limited(pr, func(ctx context.Context, t *router.Target) error {
		var err error
		resp, err = t.Provider.Chat(ctx, &provider.ChatRequest{Model: t.Model, Body: &req, Raw: body})
		return err
	}))
	ri.setResult(pr.plan, res)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	res.Done(nil)
	g.finish(w, r, pr, res, resp, "application/json")
}

// finish sends a complete answer and settles its usage, cost and cache entry.
func (g *Gateway) finish(w http.ResponseWriter, r *http.Request, pr *prepared, res *router.Result, resp *provider.Response, cacheType string) {
	ri := info(r.Context())
	ri.usage = resp.Usage
	setUpstreamHeaders(w, res)
	micros := g.charge(w, ri, res.Target.Model, resp.Usage)
	writeBody(w, resp)
	var entry *state.CacheEntry
	if cacheType != "" {
		entry = &state.CacheEntry{Body: resp.Body, ContentType: cacheType, Provider: res.Target.Provider.Name(),
			Model: res.Target.Model, Created: g.now()}
	}
	g.settle(r.Context(), pr.adm, pr.held, resp.Usage, micros, entry)
}

func writeBody(w http.ResponseWriter, resp *provider.Response) {
	ct := resp.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	// A known length lets the client finish reading before settlement ends.
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp.Body)
}

// serveCachedChat answers from the cache: the stored completion as JSON, or
// replayed as SSE chunks for a stream request.
func (g *Gateway) serveCachedChat(w http.ResponseWriter, r *http.Request, pr *prepared, req *openai.ChatRequest) {
	ri := info(r.Context())
	ri.cached = true
	e := pr.adm.cached
	ri.provider, ri.model, ri.route = e.Provider, e.Model, pr.plan.Route
	w.Header().Set("X-Gateway-Provider", e.Provider)
	w.Header().Set("X-Gateway-Model", e.Model)
	w.Header().Set("X-Gateway-Cost-Usd", "0")
	defer g.settle(r.Context(), pr.adm, nil, openai.Usage{}, 0, nil)
	if !req.Stream {
		writeBody(w, &provider.Response{Body: e.Body, ContentType: e.ContentType})
		return
	}
	var cc openai.ChatCompletion
	if err := json.Unmarshal(e.Body, &cc); err != nil {
		g.fail(w, r, openai.Errorf(openai.CodeInternal, "cached answer unreadable"))
		return
	}
	sse.SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	out := sse.NewWriter(w)
	for _, c := range cc.Chunks(req.WantsUsageChunk()) {
		if out.Data(c) != nil {
			return
		}
	}
	_ = out.Done()
}

// errEmptyStream is a stream that ended before its first chunk.
var errEmptyStream = errors.New("upstream stream ended before its first chunk")

// streamChat relays a streamed completion. Until the first chunk reaches the
// client a failing target is replaced by the next one; after it, a failure
// ends the stream with an SSE error event and [DONE].
func (g *Gateway) streamChat(w http.ResponseWriter, r *http.Request, pr *prepared, req *openai.ChatRequest, body []byte) {
	ri := info(r.Context())
	var (
		stream provider.Stream
		first  provider.Chunk
	)
	res, err := g.router.Run(r.Context(), pr.plan, g.limited(pr, func(ctx context.Context, t *router.Target) error {
		s, err := t.Provider.ChatStream(ctx, &provider.ChatRequest{Model: t.Model, Body: req, Raw: body})
		if err != nil {
			return err
		}
		c, err := s.Next()
		if err != nil {
			s.Close()
			if err == io.EOF {
				return &openai.Error{Code: openai.CodeUpstreamError, Provider: t.Provider.Name(), Retryable: true, Message: errEmptyStream.Error()}
			}
			return err
		}
		stream, first = s, c
		return nil
	}))
	ri.setResult(pr.plan, res)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	defer stream.Close()
	setUpstreamHeaders(w, res)
	sse.SetHeaders(w.Header())
	w.Header().Set("Trailer", "X-Gateway-Cost-Usd")
	w.WriteHeader(http.StatusOK)
	out := sse.NewWriter(w)
	wantUsage := req.WantsUsageChunk()
	var acc *openai.Accumulator
	if pr.adm.cacheMode == "miss" {
		acc = openai.NewAccumulator()
	}
	var streamErr error
	complete := false
	c := first
	for {
		if c.Usage != nil {
			ri.usage = *c.Usage
		}
		if acc != nil {
			acc.Add(c.Data)
		}
		if c.Usage == nil || wantUsage {
			if err := out.Data(c.Data); err != nil {
				// The client went away: not the target's fault.
				ri.errMsg = "client disconnected"
				break
			}
		}
		var err error
		c, err = stream.Next()
		if err == io.EOF {
			complete = true
			break
		}
		if err != nil {
			if r.Context().Err() != nil {
				ri.errMsg = "client disconnected"
				break
			}
			streamErr = err
			e := openai.AsError(err)
			ri.errMsg = e.Error()
			_ = out.Data(e.JSON())
			break
		}
	}
	if r.Context().Err() == nil {
		_ = out.Done()
	}
	res.Done(streamErr)
	micros := g.charge(w, ri, res.Target.Model, ri.usage)
	var entry *state.CacheEntry
	if complete && acc != nil && acc.Valid {
		if b, err := json.Marshal(acc.Completion()); err == nil {
			entry = &state.CacheEntry{Body: b, ContentType: "application/json", Provider: res.Target.Provider.Name(),
				Model: res.Target.Model, Created: g.now()}
		}
	}
	// Usage is settled even when the client left: nothing accepted is lost.
	g.settle(r.Context(), pr.adm, pr.held, ri.usage, micros, entry)
}

// generateRequest is the first seed's POST /generate body.
type generateRequest struct {
	Prompt   string `json:"prompt"`
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

type generateResponse struct {
	Provider string `json:"provider"`
	Model    string `json:"model,omitempty"`
	Output   string `json:"output"`
	Cached   bool   `json:"cached"`
}

// displayNames are the provider names the first seed answered with.
var displayNames = map[string]string{
	"openai": "OpenAI", "gemini": "Gemini", "anthropic": "Anthropic", "azure": "Azure", "groq": "Groq",
	"mistral": "Mistral", "together": "Together", "perplexity": "Perplexity", "ollama": "Ollama",
	"deepseek": "DeepSeek", "xai": "xAI", "cohere": "Cohere", "bedrock": "Bedrock", "vertex": "Vertex", "mock": "Mock",
}

func displayName(p provider.Provider) string {
	if d, ok := displayNames[p.Name()]; ok {
		return d
	}
	return p.Name()
}

func (g *Gateway) handleGenerate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	var gr generateRequest
	if err := decodeJSON(body, &gr); err != nil {
		g.fail(w, r, err)
		return
	}
	if strings.TrimSpace(gr.Prompt) == "" {
		g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "prompt", Message: "prompt is required"})
		return
	}
	req := openai.ChatRequest{Messages: []openai.Message{{Role: "user", Content: openai.TextContent(gr.Prompt)}}}
	prq := prepareRequest{user: "", endpoint: "generate", cacheable: true}
	switch {
	case gr.Model != "":
		req.Model, prq.pin = gr.Model, gr.Provider
	case gr.Provider != "":
		p, ok := g.router.Provider(gr.Provider)
		if !ok {
			g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "provider",
				Message: fmt.Sprintf("unknown provider %q; configured: %s", gr.Provider, strings.Join(g.router.Providers(), ", "))})
			return
		}
		req.Model, prq.pin = g.firstModel[p.Name()], p.Name()
	default:
		prq.plan = &router.Plan{Route: "generate", Targets: g.generate, Retry: g.cfg.RetryPolicy(nil)}
	}
	prq.model = req.Model
	prq.body, _ = json.Marshal(&req)
	prq.estimate = int64(pricing.EstimatePromptTokens(&req))
	prq.guard = func(profile string) ([]byte, error) {
		p, err := g.guard.CheckPrompt(profile, gr.Prompt)
		if err != nil {
			return nil, err
		}
		req.Messages[0].Content.Text = p
		return json.Marshal(&req)
	}
	pr, ok := g.prepare(w, r, prq)
	if !ok {
		return
	}
	if e := pr.adm.cached; e != nil {
		info(r.Context()).cached = true
		g.settle(r.Context(), pr.adm, nil, openai.Usage{}, 0, nil)
		g.writeGenerate(w, r, e.Body, e.Provider, e.Model, true)
		return
	}
	var resp *provider.Response
	res, err := g.router.Run(r.Context(), pr.plan, g.limited(pr, func(ctx context.Context, t *router.Target) error {
		rq := req
		rq.Model = t.Model
		raw, err := json.Marshal(&rq)
		if err != nil {
			return err
		}
		resp, err = t.Provider.Chat(ctx, &provider.ChatRequest{Model: t.Model, Body: &rq, Raw: raw})
		return err
	}))
	info(r.Context()).setResult(pr.plan, res)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	res.Done(nil)
	ri := info(r.Context())
	ri.usage = resp.Usage
	setUpstreamHeaders(w, res)
	micros := g.charge(w, ri, res.Target.Model, resp.Usage)
	name := displayName(res.Target.Provider)
	g.writeGenerate(w, r, resp.Body, name, res.Target.Model, false)
	g.settle(r.Context(), pr.adm, pr.held, resp.Usage, micros, &state.CacheEntry{Body: resp.Body,
		ContentType: "application/json", Provider: name, Model: res.Target.Model, Created: g.now()})
}

func (g *Gateway) writeGenerate(w http.ResponseWriter, r *http.Request, completion []byte, providerName, model string, cached bool) {
	var cc openai.ChatCompletion
	if err := json.Unmarshal(completion, &cc); err != nil {
		g.fail(w, r, provider.BadUpstreamBody(providerName, err))
		return
	}
	out := generateResponse{Provider: providerName, Model: model, Cached: cached}
	if len(cc.Choices) > 0 && cc.Choices[0].Message.Content != nil {
		out.Output = *cc.Choices[0].Message.Content
	}
	writeJSON(w, http.StatusOK, out)
}
