package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/tidwall/sjson"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/sse"
)

// ServesResponses reports whether the upstream serves OpenAI's Responses API
// itself: OpenAI and Azure OpenAI. Other kinds get it translated to chat.
func (p *Provider) ServesResponses() bool { return p.kind == "openai" || p.kind == "azure" }

// responsesTarget is the URL of POST /responses and the model to send it:
// Azure serves the Responses API on its v1 surface, <base>/openai/v1/responses,
// with the deployment in the body's model rather than in the path.
func (p *Provider) responsesTarget(model string) (url, upstreamModel string) {
	if p.kind != "azure" {
		return p.base + "/responses", model
	}
	if d, ok := p.deployments[model]; ok {
		model = d
	}
	return p.base + "/openai/v1/responses", model
}

// Responses sends a Responses API request as it is (req.Body with "model"
// set to req.Model, or its Azure deployment, and "stream" false when it was
// set) and returns the response object with its usage.
func (p *Provider) Responses(ctx context.Context, req *provider.RawRequest) (*provider.Response, error) {
	url, model := p.responsesTarget(req.Model)
	body, err := patchModel(req.Body, model)
	if err == nil {
		body, err = shortenResponsesCallIDs(body)
	}
	if err == nil && bytes.Contains(body, []byte(`"stream"`)) {
		if body, err = sjson.SetBytes(body, "stream", false); err != nil {
			err = &openai.Error{Code: openai.CodeInvalidJSON, Message: "request body is not valid JSON"}
		}
	}
	if err != nil {
		return nil, err
	}
	out, err := p.up.DoJSON(ctx, http.MethodPost, url, p.headers, body, nil)
	if err != nil {
		return nil, err
	}
	var v struct {
		Usage *responsesUsage `json:"usage"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, provider.BadUpstreamBody(p.up.Name, err)
	}
	return &provider.Response{Body: out, Usage: v.Usage.chat()}, nil
}

// ResponsesStream sends a Responses API request with "stream": true and
// relays its events: each Chunk's Data is one event's JSON, as the upstream
// sent it. The stream ends cleanly after response.completed,
// response.incomplete or response.failed (whose Chunk carries the usage), or
// [DONE]; an error event ends it with an error.
func (p *Provider) ResponsesStream(ctx context.Context, req *provider.RawRequest) (provider.Stream, error) {
	url, model := p.responsesTarget(req.Model)
	body, err := patchModel(req.Body, model)
	if err == nil {
		body, err = shortenResponsesCallIDs(body)
	}
	if err == nil {
		if body, err = sjson.SetBytes(body, "stream", true); err != nil {
			err = &openai.Error{Code: openai.CodeInvalidJSON, Message: "request body is not valid JSON"}
		}
	}
	if err != nil {
		return nil, err
	}
	return p.up.StreamJSON(ctx, http.MethodPost, url, p.headers, body, nil, p.translateResponsesEvent)
}

func (p *Provider) translateResponsesEvent(ev sse.Event) ([]provider.Chunk, bool, error) {
	if sse.IsDone(ev.Data) {
		return nil, true, nil
	}
	var v struct {
		Type     string `json:"type"`
		Message  string `json:"message"`
		Response *struct {
			Usage *responsesUsage `json:"usage"`
		} `json:"response"`
	}
	if err := json.Unmarshal(ev.Data, &v); err != nil {
		return nil, false, provider.BadUpstreamBody(p.up.Name, err)
	}
	if ev.Event == "error" || v.Type == "error" {
		msg := v.Message
		if msg == "" {
			msg = provider.GenericMessage(ev.Data)
		}
		return nil, false, p.up.ErrorEvent(msg)
	}
	c := provider.Chunk{Data: ev.Data}
	switch v.Type {
	case "response.completed", "response.incomplete", "response.failed":
		if v.Response != nil && v.Response.Usage != nil {
			u := v.Response.Usage.chat()
			c.Usage = &u
		}
		return []provider.Chunk{c}, true, nil
	}
	return []provider.Chunk{c}, false, nil
}

// responsesUsage is the Responses API's usage object.
type responsesUsage struct {
	InputTokens        int `json:"input_tokens"`
	OutputTokens       int `json:"output_tokens"`
	TotalTokens        int `json:"total_tokens"`
	InputTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

// chat is the usage in the chat shape the gateway prices (zero for nil).
func (u *responsesUsage) chat() openai.Usage {
	if u == nil {
		return openai.Usage{}
	}
	out := openai.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.TotalTokens}
	if out.TotalTokens == 0 {
		out.TotalTokens = u.InputTokens + u.OutputTokens
	}
	if d := u.InputTokensDetails; d != nil && d.CachedTokens > 0 {
		out.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: d.CachedTokens}
	}
	if d := u.OutputTokensDetails; d != nil && d.ReasoningTokens > 0 {
		out.CompletionTokensDetails = &openai.CompletionTokensDetails{ReasoningTokens: d.ReasoningTokens}
	}
	return out
}
