package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/tidwall/gjson"

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

func (g *Gateway) chat(w http.ResponseWriter, r *http.Request, rec *record) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req openai.ChatRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if err := validateChat(&req); err != nil {
		return err
	}
	rec.stream = req.Stream
	ad, err := g.admit(w, r, rec, incoming{endpoint: admission.Chat, model: req.Model, user: req.User, body: body,
		prompt: int64(pricing.EstimatePromptTokens(&req)), maxOutput: int64(req.MaxOutputTokens()),
		guard: func(profile string) ([]byte, error) {
			return g.Guard.CheckChatBody(profile, &req, body)
		}})
	if err != nil {
		return err
	}
	defer ad.ticket.Settle(r.Context(), nil) // a request that failed gives its reservations back
	if g.Config.Server.LogPrompts && len(req.Messages) > 0 {
		rec.prompt = req.Messages[len(req.Messages)-1].Content.AllText()
	}
	if ad.ticket.Cached() != nil {
		return g.chatFromCache(w, r, rec, ad, &req)
	}
	if req.Stream {
		return g.streamChat(w, r, rec, ad, &req)
	}
	var resp *provider.Response
	res, err := g.Router.Run(r.Context(), ad.plan, ad.ticket.Wrap(func(ctx context.Context, t *router.Target) error {
		var err error
		resp, err = t.Provider.Chat(ctx, &provider.ChatRequest{Model: t.Model, Body: &req, Raw: ad.body})
		return err
	}))
	rec.routed(ad.plan, res)
	if err != nil {
		return err
	}
	res.Done(nil)
	g.finish(w, r, rec, ad, res, resp, "application/json")
	return nil
}

// finish sends a complete answer, then settles its usage, cost and, when
// cacheType is set, its cache entry.
func (g *Gateway) finish(w http.ResponseWriter, r *http.Request, rec *record, ad *admitted, res *router.Result, resp *provider.Response, cacheType string) {
	setResultHeaders(w, res)
	charge(w, rec, ad.ticket, res.Target.Model, resp.Usage)
	writeBody(w, resp.Body, resp.ContentType)
	var entry *state.CacheEntry
	if cacheType != "" {
		entry = g.cacheEntry(resp.Body, cacheType, res.Target.Provider.Name(), res.Target.Model)
	}
	ad.ticket.Settle(r.Context(), entry)
}

func (g *Gateway) cacheEntry(body []byte, contentType, providerName, model string) *state.CacheEntry {
	return &state.CacheEntry{Body: body, ContentType: contentType, Provider: providerName, Model: model, Created: g.Now()}
}

// chatFromCache answers from the cache: the stored completion as JSON, or
// replayed as SSE chunks for a stream request.
func (g *Gateway) chatFromCache(w http.ResponseWriter, r *http.Request, rec *record, ad *admitted, req *openai.ChatRequest) error {
	e := ad.ticket.Cached()
	servedFromCache(w, rec, ad)
	defer ad.ticket.Settle(r.Context(), nil)
	if !req.Stream {
		writeBody(w, e.Body, e.ContentType)
		return nil
	}
	var cc openai.ChatCompletion
	if err := json.Unmarshal(e.Body, &cc); err != nil {
		return openai.Errorf(openai.CodeInternal, "cached answer unreadable")
	}
	sse.SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	out := sse.NewWriter(w)
	for _, c := range cc.Chunks(req.WantsUsageChunk()) {
		if out.Data(c) != nil {
			return nil
		}
	}
	_ = out.Done()
	return nil
}

// errEmptyStream is a stream that ended before its first chunk.
var errEmptyStream = errors.New("upstream stream ended before its first chunk")

// streamChat relays a streamed completion. Until the first chunk reaches the
// client a failing target is replaced by the next one; after it, a failure
// ends the stream with an SSE error event and [DONE].
func (g *Gateway) streamChat(w http.ResponseWriter, r *http.Request, rec *record, ad *admitted, req *openai.ChatRequest) error {
	var (
		stream provider.Stream
		first  provider.Chunk
	)
	res, err := g.Router.Run(r.Context(), ad.plan, ad.ticket.Wrap(func(ctx context.Context, t *router.Target) error {
		s, err := t.Provider.ChatStream(ctx, &provider.ChatRequest{Model: t.Model, Body: req, Raw: ad.body})
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
	rec.routed(ad.plan, res)
	if err != nil {
		return err
	}
	defer res.Done(router.ErrAbandoned) // a panic below still frees the breaker's trial slot
	defer stream.Close()
	startStream(w, res)
	out := sse.NewWriter(w)
	wantUsage := req.WantsUsageChunk()
	var acc *openai.Accumulator
	if ad.ticket.CacheMode() == admission.CacheMiss {
		acc = openai.NewAccumulator()
	}
	var usage openai.Usage
	var streamErr error
	complete := false
	relayed := 0 // bytes of answer text and tool arguments the client was sent
	c := first
	for {
		if c.Usage != nil {
			usage = *c.Usage
		}
		relayed += deltaBytes(c.Data)
		if acc != nil {
			acc.Add(c.Data)
		}
		if c.Usage == nil || wantUsage {
			if err := out.Data(c.Data); err != nil {
				// The client went away: not the target's fault.
				rec.errMsg = "client disconnected"
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
			if clientLeft(r) {
				rec.errMsg = "client disconnected"
				break
			}
			streamErr = err
			rec.cut = true
			e := openai.AsError(err)
			rec.errMsg = e.Error()
			_ = out.Data(e.JSON())
			break
		}
	}
	res.Done(streamErr)
	if usage == (openai.Usage{}) {
		// The stream ended (or the client left) before the upstream reported
		// usage; the upstream still bills what it produced.
		usage = estimatedUsage(req, relayed)
	}
	chargeStream(w, rec, ad.ticket, res.Target.Model, usage)
	if !clientLeft(r) {
		_ = out.Done()
	}
	var entry *state.CacheEntry
	if complete && acc != nil && acc.Valid {
		if b, err := json.Marshal(acc.Completion()); err == nil {
			entry = g.cacheEntry(b, "application/json", res.Target.Provider.Name(), res.Target.Model)
		}
	}
	// Usage is settled even when the client left: nothing accepted is lost.
	ad.ticket.Settle(r.Context(), entry)
	return nil
}

// deltaBytes counts the answer text and tool-call arguments in one chunk.
func deltaBytes(chunk []byte) int {
	n := 0
	gjson.GetBytes(chunk, "choices").ForEach(func(_, ch gjson.Result) bool {
		d := ch.Get("delta")
		n += len(d.Get("content").Str) + len(d.Get("reasoning_content").Str)
		d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			n += len(tc.Get("function.arguments").Str) + len(tc.Get("function.name").Str)
			return true
		})
		return true
	})
	return n
}

// estimatedUsage is the usage of a stream that ended without the upstream's
// own figures: the prompt estimate, and the relayed text at about four bytes
// a token (at least one token once anything was relayed).
func estimatedUsage(req *openai.ChatRequest, relayed int) openai.Usage {
	u := openai.Usage{PromptTokens: pricing.EstimatePromptTokens(req), CompletionTokens: (relayed + 3) / 4}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}
