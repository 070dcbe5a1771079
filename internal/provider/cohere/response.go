package cohere

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// chatResponse is the answer of a non-stream POST /v2/chat.
type chatResponse struct {
	ID           string `json:"id"`
	FinishReason string `json:"finish_reason"`
	Message      struct {
		Role    string `json:"role"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		ToolPlan  string     `json:"tool_plan"`
		ToolCalls []toolCall `json:"tool_calls"`
	} `json:"message"`
	Usage *usage `json:"usage"`
}

// usage is Cohere's usage object. Counts are numbers that may be written as
// floats.
type usage struct {
	BilledUnits *tokenCounts `json:"billed_units"`
	Tokens      *tokenCounts `json:"tokens"`
}

type tokenCounts struct {
	InputTokens  float64 `json:"input_tokens"`
	OutputTokens float64 `json:"output_tokens"`
}

// toOpenAI returns the usage in OpenAI's shape, preferring the model's token
// counts and falling back to the billed units.
func (u *usage) toOpenAI() openai.Usage {
	if u == nil {
		return openai.Usage{}
	}
	c := u.Tokens
	if c == nil {
		c = u.BilledUnits
	}
	if c == nil {
		return openai.Usage{}
	}
	in, out := count(c.InputTokens), count(c.OutputTokens)
	return openai.Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out}
}

// count turns a decoded count into an int, refusing nonsense.
func count(f float64) int {
	if f <= 0 || math.IsNaN(f) || f > 1e12 {
		return 0
	}
	return int(f)
}

// finishReason maps Cohere's finish_reason (ERROR is handled by the caller).
func finishReason(r string, calledTools bool) string {
	switch r {
	case "COMPLETE", "STOP_SEQUENCE":
		return "stop"
	case "MAX_TOKENS":
		return "length"
	case "TOOL_CALL":
		return "tool_calls"
	}
	if calledTools {
		return "tool_calls"
	}
	return "stop"
}

// generationError is the error for an answer Cohere ended with ERROR.
func generationError(providerName, detail string) *openai.Error {
	msg := fmt.Sprintf("provider %s ended the answer with an error", providerName)
	if detail != "" {
		msg += ": " + detail
	}
	return &openai.Error{Code: openai.CodeUpstreamError, Provider: providerName, Retryable: true, Message: msg}
}

// translateResponse turns a /v2/chat answer into an OpenAI chat.completion.
func translateResponse(providerName, model string, raw []byte, created int64) ([]byte, openai.Usage, error) {
	var r chatResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, openai.Usage{}, provider.BadUpstreamBody(providerName, err)
	}
	if r.FinishReason == "ERROR" {
		return nil, openai.Usage{}, generationError(providerName, "")
	}
	var text strings.Builder
	for _, c := range r.Message.Content {
		if c.Type == "text" || c.Type == "" {
			text.WriteString(c.Text)
		}
	}
	var calls []openai.ToolCall
	for i, tc := range r.Message.ToolCalls {
		calls = append(calls, openaiToolCall(i, tc))
	}
	content := text.String()
	if content == "" && len(calls) > 0 {
		// The plan Cohere writes before calling tools is the text that goes
		// with the calls, as OpenAI models write it in content.
		content = r.Message.ToolPlan
	}
	msg := openai.AssistantMessage(content, calls)
	u := r.Usage.toOpenAI()
	id := r.ID
	if id == "" {
		id = provider.NewCompletionID()
	}
	out := openai.ChatCompletion{
		ID:      id,
		Object:  "chat.completion",
		Created: created,
		Model:   model,
		Choices: []openai.Choice{{
			Index:        0,
			Message:      msg,
			FinishReason: finishReason(r.FinishReason, len(msg.ToolCalls) > 0),
		}},
		Usage: &u,
	}
	b, err := provider.Marshal(out)
	if err != nil {
		return nil, openai.Usage{}, err
	}
	return b, u, nil
}

// openaiToolCall maps one Cohere tool call; a missing id or arguments gets a
// usable default so clients can answer the call.
func openaiToolCall(i int, tc toolCall) openai.ToolCall {
	id := tc.ID
	if id == "" {
		id = fmt.Sprintf("call_%d", i)
	}
	args := tc.Function.Arguments
	if args == "" {
		args = "{}"
	}
	return openai.ToolCall{ID: id, Type: "function", Function: openai.FunctionCall{Name: tc.Function.Name, Arguments: args}}
}
