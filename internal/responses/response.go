package responses

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/openai"
)

// Response is the response object ("object":"response"), as POST
// /v1/responses returns it, as the stream's lifecycle events carry it, and
// as it is stored for GET /v1/responses/{id} and previous_response_id.
// Nullable fields are pointers and are written as null, as the API does.
type Response struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	CompletedAt        *int64             `json:"completed_at"`
	Error              *ResponseError     `json:"error"`
	IncompleteDetails  *IncompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	MaxToolCalls       *int               `json:"max_tool_calls"`
	Model              string             `json:"model"`
	Output             []Item             `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          ResponseReasoning  `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        float64            `json:"temperature"`
	Text               TextConfig         `json:"text"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              []Tool             `json:"tools"`
	TopLogprobs        int                `json:"top_logprobs"`
	TopP               float64            `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *Usage             `json:"usage"`
	User               *string            `json:"user"`
	Metadata           map[string]string  `json:"metadata"`
}

// ResponseError is a failed response's error.
type ResponseError struct {
	// Code is one of the API's ResponseErrorCode values ("server_error",
	// "rate_limit_exceeded", ...).
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IncompleteDetails says why a response is incomplete: "max_output_tokens"
// or "content_filter".
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// ResponseReasoning echoes the request's reasoning settings.
type ResponseReasoning struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

// Usage is the response's token usage (ResponseUsage).
type Usage struct {
	InputTokens         int                 `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int                 `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int                 `json:"total_tokens"`
}

// InputTokensDetails breaks input tokens down.
type InputTokensDetails struct {
	CachedTokens     int `json:"cached_tokens"`
	CacheWriteTokens int `json:"cache_write_tokens"`
}

// OutputTokensDetails breaks output tokens down.
type OutputTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// UsageFromChat maps a chat completion's usage; nil stays nil.
func UsageFromChat(u *openai.Usage) *Usage {
	if u == nil {
		return nil
	}
	out := &Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	if out.TotalTokens == 0 {
		out.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	out.InputTokensDetails.CachedTokens = u.CachedTokens()
	if u.CompletionTokensDetails != nil {
		out.OutputTokensDetails.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	}
	return out
}

// Chat is the usage in the chat shape the gateway prices and logs.
func (u *Usage) Chat() openai.Usage {
	if u == nil {
		return openai.Usage{}
	}
	out := openai.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.TotalTokens}
	if u.InputTokensDetails.CachedTokens > 0 {
		out.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: u.InputTokensDetails.CachedTokens}
	}
	if u.OutputTokensDetails.ReasoningTokens > 0 {
		out.CompletionTokensDetails = &openai.CompletionTokensDetails{ReasoningTokens: u.OutputTokensDetails.ReasoningTokens}
	}
	return out
}

// JSON renders the response as the API sends it (no HTML escaping).
func (r *Response) JSON() []byte {
	b, err := marshal(r)
	if err != nil {
		// Every field is plain data or JSON kept from a decoded body.
		return []byte(`{"error":{"message":"could not encode the response","type":"api_error","param":null,"code":"internal_error"}}`)
	}
	return b
}

// OutputText joins the text of every output_text part of the output's
// messages, as the SDKs' output_text convenience does.
func (r *Response) OutputText() string {
	var b strings.Builder
	for _, it := range r.Output {
		if it.Type != TypeMessage {
			continue
		}
		for _, p := range it.Content.Parts {
			if p.Type == PartOutputText {
				b.WriteString(p.Text)
			}
		}
	}
	return b.String()
}

// NextHistory is the history a follow-up turn continues from when it names
// resp as its previous_response_id: the earlier history, this turn's input
// and this turn's output. Instructions are not carried over, as the API
// specifies.
func NextHistory(history []Item, req *Request, resp *Response) []Item {
	out := make([]Item, 0, len(history)+len(req.Input.Items)+1+len(resp.Output))
	out = append(out, history...)
	out = append(out, req.Items()...)
	return append(out, resp.Output...)
}

// Meta is what a translated response takes from the gateway rather than
// from the upstream.
type Meta struct {
	// ID is the response id; a new "resp_…" id when empty.
	ID string
	// Model is the model the response reports; when empty, the upstream's
	// model, else the request's.
	Model string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// NewID makes item ids ("msg", "fc", "call" prefixes); NewID when nil.
	NewID func(prefix string) string
}

func (m Meta) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m Meta) newID(prefix string) string {
	if m.NewID != nil {
		return m.NewID(prefix)
	}
	return NewID(prefix)
}

// NewID returns prefix + "_" + 48 random hex digits, the form of the API's
// ids (resp_…, msg_…, fc_…).
func NewID(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// newResponse is the in_progress response for req: the request's settings
// echoed with the API's defaults, no output, no usage.
func newResponse(req *Request, meta Meta, model string) *Response {
	id := meta.ID
	if id == "" {
		id = NewID("resp")
	}
	if meta.Model != "" {
		model = meta.Model
	}
	if model == "" {
		model = req.Model
	}
	r := &Response{
		ID: id, Object: "response", CreatedAt: meta.now().Unix(), Status: StatusInProgress,
		Instructions: req.Instructions, MaxOutputTokens: req.MaxOutputTokens, Model: model,
		Output: []Item{}, ParallelToolCalls: true, Store: true, Temperature: 1, TopP: 1,
		Text:       TextConfig{Format: &TextFormat{Type: "text"}},
		ToolChoice: json.RawMessage(`"auto"`), Tools: []Tool{}, Truncation: "disabled",
		Metadata: map[string]string{},
	}
	if req.Background != nil {
		r.Background = *req.Background
	}
	if req.ParallelToolCalls != nil {
		r.ParallelToolCalls = *req.ParallelToolCalls
	}
	if req.PreviousResponseID != "" {
		r.PreviousResponseID = &req.PreviousResponseID
	}
	if req.Reasoning != nil {
		if req.Reasoning.Effort != "" {
			r.Reasoning.Effort = &req.Reasoning.Effort
		}
		if req.Reasoning.Summary != "" {
			r.Reasoning.Summary = &req.Reasoning.Summary
		}
	}
	if req.Store != nil {
		r.Store = *req.Store
	}
	if req.Temperature != nil {
		r.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		r.TopP = *req.TopP
	}
	if req.TopLogprobs != nil {
		r.TopLogprobs = *req.TopLogprobs
	}
	if req.Text != nil {
		r.Text.Verbosity = req.Text.Verbosity
		if req.Text.Format != nil {
			r.Text.Format = req.Text.Format
		}
	}
	if !openai.IsNull(req.ToolChoice) {
		r.ToolChoice = req.ToolChoice
	}
	if req.Tools != nil {
		r.Tools = req.Tools
	}
	if req.User != "" {
		r.User = &req.User
	}
	for k, v := range req.Metadata {
		r.Metadata[k] = v
	}
	return r
}

// finishStatus maps a chat finish_reason to the response's status and, for
// an incomplete response, the reason.
func finishStatus(reason string) (string, *IncompleteDetails) {
	switch reason {
	case "length":
		return StatusIncomplete, &IncompleteDetails{Reason: "max_output_tokens"}
	case "content_filter":
		return StatusIncomplete, &IncompleteDetails{Reason: "content_filter"}
	}
	return StatusCompleted, nil
}

// settle gives the response its final status, details and usage.
func settle(r *Response, reason string, usage *openai.Usage, now time.Time) {
	r.Status, r.IncompleteDetails = finishStatus(reason)
	r.Usage = UsageFromChat(usage)
	if r.Status == StatusCompleted {
		t := now.Unix()
		r.CompletedAt = &t
	}
}

// errorCode maps a gateway error to the API's ResponseErrorCode.
func errorCode(e *openai.Error) string {
	if e.Code == openai.CodeRateLimited || e.HTTPStatus() == http.StatusTooManyRequests {
		return "rate_limit_exceeded"
	}
	return "server_error"
}

// FromChatBody is FromChat of a chat completion's JSON, whose reasoning may
// also be named "reasoning" (vLLM, OpenRouter, Ollama).
func FromChatBody(req *Request, body []byte, meta Meta) (*Response, error) {
	var c openai.ChatCompletion
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, err
	}
	alias := openai.MessageReasoning(body)
	for i := range c.Choices {
		if m := &c.Choices[i].Message; m.ReasoningContent == "" {
			m.ReasoningContent = alias[c.Choices[i].Index]
		}
	}
	return FromChat(req, &c, meta), nil
}

// FromChat turns a chat completion answering req into the response object.
// The first choice becomes the output: its reasoning a reasoning item (see
// reasoning.go), its text (and refusal) one message item, each tool call a
// function_call item. finish_reason "length" makes the
// response incomplete for max_output_tokens, "content_filter" for
// content_filter; the last output item is then incomplete too.
func FromChat(req *Request, c *openai.ChatCompletion, meta Meta) *Response {
	r := newResponse(req, meta, c.Model)
	reason := ""
	if len(c.Choices) > 0 {
		ch := c.Choices[0]
		for _, cand := range c.Choices {
			if cand.Index == 0 {
				ch = cand
				break
			}
		}
		reason = ch.FinishReason
		msg := ch.Message
		if rtext, blocks := reasoningOf(msg); rtext != "" || len(blocks) > 0 {
			r.Output = append(r.Output, newReasoningItem(meta.newID("rs"), StatusCompleted, rtext, blocks))
		}
		text := ""
		if msg.Content != nil {
			text = *msg.Content
		}
		var parts []Part
		if text != "" || (msg.Content != nil && msg.Refusal == nil && len(msg.ToolCalls) == 0) {
			parts = append(parts, Part{Type: PartOutputText, Text: text})
		}
		if msg.Refusal != nil {
			parts = append(parts, Part{Type: PartRefusal, Refusal: *msg.Refusal})
		}
		if len(parts) > 0 {
			r.Output = append(r.Output, Item{Type: TypeMessage, ID: meta.newID("msg"), Status: StatusCompleted,
				Role: "assistant", Content: Content{List: true, Parts: parts}})
		}
		for _, tc := range msg.ToolCalls {
			callID := tc.ID
			if callID == "" {
				callID = meta.newID("call")
			}
			r.Output = append(r.Output, Item{Type: TypeFunctionCall, ID: meta.newID("fc"), Status: StatusCompleted,
				CallID: callID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
	}
	settle(r, reason, c.Usage, meta.now())
	if r.Status == StatusIncomplete && len(r.Output) > 0 {
		it := &r.Output[len(r.Output)-1]
		if it.Type == TypeReasoning {
			text, blocks, _ := translatedReasoning(*it)
			*it = newReasoningItem(it.ID, StatusIncomplete, text, blocks)
		}
		it.Status = StatusIncomplete
	}
	return r
}
