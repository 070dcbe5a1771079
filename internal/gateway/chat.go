package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/sse"
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
	if g.cfg.Server.LogPrompts && len(req.Messages) > 0 {
		ri.prompt = req.Messages[len(req.Messages)-1].Content.AllText()
	}
	plan, err := g.router.Resolve(routeRequest(r, req.Model, req.User, body), pin(r))
	if err != nil {
		g.fail(w, r, err)
		return
	}
	if req.Stream {
		g.streamChat(w, r, plan, &req, body)
		return
	}
	var resp *provider.Response
	res, err := g.router.Run(r.Context(), plan, func(ctx context.Context, t *router.Target) error {
		var err error
		resp, err = t.Provider.Chat(ctx, &provider.ChatRequest{Model: t.Model, Body: &req, Raw: body})
		return err
	})
	ri.setResult(plan, res)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	res.Done(nil)
	ri.usage = resp.Usage
	setUpstreamHeaders(w, res)
	writeBody(w, resp)
}

func writeBody(w http.ResponseWriter, resp *provider.Response) {
	ct := resp.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp.Body)
}

// errEmptyStream is a stream that ended before its first chunk.
var errEmptyStream = errors.New("upstream stream ended before its first chunk")

// streamChat relays a streamed completion. Until the first chunk reaches the
// client a failing target is replaced by the next one; after it, a failure
// ends the stream with an SSE error event and [DONE].
func (g *Gateway) streamChat(w http.ResponseWriter, r *http.Request, plan *router.Plan, req *openai.ChatRequest, body []byte) {
	ri := info(r.Context())
	var (
		stream provider.Stream
		first  provider.Chunk
	)
	res, err := g.router.Run(r.Context(), plan, func(ctx context.Context, t *router.Target) error {
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
	})
	ri.setResult(plan, res)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	defer stream.Close()
	setUpstreamHeaders(w, res)
	sse.SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	out := sse.NewWriter(w)
	wantUsage := req.WantsUsageChunk()
	var streamErr error
	c := first
	for {
		if c.Usage != nil {
			ri.usage = *c.Usage
		}
		if c.Usage == nil || wantUsage {
			if err := out.Data(c.Data); err != nil {
				// The client went away: not the target's fault.
				ri.errMsg = "client disconnected"
				res.Done(nil)
				return
			}
		}
		var err error
		c, err = stream.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if r.Context().Err() != nil {
				ri.errMsg = "client disconnected"
				res.Done(nil)
				return
			}
			streamErr = err
			e := openai.AsError(err)
			ri.errMsg = e.Error()
			_ = out.Data(e.JSON())
			break
		}
	}
	_ = out.Done()
	res.Done(streamErr)
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
	var plan *router.Plan
	switch {
	case gr.Model != "":
		req.Model = gr.Model
		plan, err = g.router.Resolve(routeRequest(r, gr.Model, "", nil), gr.Provider)
	case gr.Provider != "":
		p, ok := g.router.Provider(gr.Provider)
		if !ok {
			g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "provider",
				Message: fmt.Sprintf("unknown provider %q; configured: %s", gr.Provider, strings.Join(g.router.Providers(), ", "))})
			return
		}
		req.Model = g.firstModel[p.Name()]
		plan, err = g.router.Resolve(routeRequest(r, req.Model, "", nil), p.Name())
	default:
		plan = &router.Plan{Route: "generate", Targets: g.generate, Retry: g.cfg.RetryPolicy(nil)}
	}
	if err != nil {
		g.fail(w, r, err)
		return
	}
	var resp *provider.Response
	res, err := g.router.Run(r.Context(), plan, func(ctx context.Context, t *router.Target) error {
		rq := req
		rq.Model = t.Model
		raw, err := json.Marshal(&rq)
		if err != nil {
			return err
		}
		resp, err = t.Provider.Chat(ctx, &provider.ChatRequest{Model: t.Model, Body: &rq, Raw: raw})
		return err
	})
	info(r.Context()).setResult(plan, res)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	res.Done(nil)
	info(r.Context()).usage = resp.Usage
	var cc openai.ChatCompletion
	if err := json.Unmarshal(resp.Body, &cc); err != nil {
		g.fail(w, r, provider.BadUpstreamBody(res.Target.Provider.Name(), err))
		return
	}
	out := generateResponse{Provider: displayName(res.Target.Provider), Model: res.Target.Model}
	if len(cc.Choices) > 0 && cc.Choices[0].Message.Content != nil {
		out.Output = *cc.Choices[0].Message.Content
	}
	setUpstreamHeaders(w, res)
	writeJSON(w, http.StatusOK, out)
}
