package anthropic

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// messagesResponse is a Messages answer (also the "message" of a stream's
// message_start event).
type messagesResponse struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Role       string          `json:"role"`
	Model      string          `json:"model"`
	Content    []responseBlock `json:"content"`
	StopReason string          `json:"stop_reason"`
	Usage      usage           `json:"usage"`
	Error      *errorDetail    `json:"error"`
}

// responseBlock is one content block of an answer. Blocks other than text
// and tool_use (thinking, server tools) are ignored.
type responseBlock struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// usage is Anthropic's token usage. The cache counts are pointers so a
// message_delta that omits them does not reset what message_start reported.
type usage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
}

// merge keeps the counts n reports over those already known.
func (u *usage) merge(n usage) {
	if n.InputTokens != nil {
		u.InputTokens = n.InputTokens
	}
	if n.OutputTokens != nil {
		u.OutputTokens = n.OutputTokens
	}
	if n.CacheCreationInputTokens != nil {
		u.CacheCreationInputTokens = n.CacheCreationInputTokens
	}
	if n.CacheReadInputTokens != nil {
		u.CacheReadInputTokens = n.CacheReadInputTokens
	}
}

// openAI maps the usage: every input token (cached, written to the cache or
// neither) counts as a prompt token; cache reads are the cached tokens.
func (u usage) openAI() openai.Usage {
	v := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	cached := v(u.CacheReadInputTokens)
	out := openai.Usage{
		PromptTokens:        v(u.InputTokens) + cached + v(u.CacheCreationInputTokens),
		CompletionTokens:    v(u.OutputTokens),
		PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: cached},
	}
	out.TotalTokens = out.PromptTokens + out.CompletionTokens
	return out
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// finishReason maps Anthropic's stop_reason to OpenAI's finish_reason.
func finishReason(stop string) string {
	switch stop {
	case "end_turn", "stop_sequence", "pause_turn":
		return "stop"
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	default:
		return "stop"
	}
}

// translateResponse turns a Messages answer of up into an OpenAI
// chat.completion body and its usage. created is the completion's timestamp.
func translateResponse(up provider.Upstream, body []byte, created int64) ([]byte, openai.Usage, error) {
	providerName := up.Name
	var r messagesResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, openai.Usage{}, provider.BadUpstreamBody(providerName, err)
	}
	switch r.Type {
	case "message":
	case "error":
		msg := ""
		if r.Error != nil {
			msg = r.Error.Message
		}
		return nil, openai.Usage{}, provider.BadUpstreamBody(providerName, fmt.Errorf("an error object: %s", up.Secrets.Redact(msg)))
	default:
		return nil, openai.Usage{}, provider.BadUpstreamBody(providerName, fmt.Errorf("type %q is not a message", r.Type))
	}

	var text strings.Builder
	var calls []openai.ToolCall
	for _, b := range r.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			args, err := provider.CompactArguments(b.Input)
			if err != nil {
				return nil, openai.Usage{}, provider.BadUpstreamBody(providerName, err)
			}
			calls = append(calls, openai.ToolCall{ID: b.ID, Type: "function",
				Function: openai.FunctionCall{Name: b.Name, Arguments: args}})
		}
	}
	u := r.Usage.openAI()
	out := openai.ChatCompletion{
		ID:      r.ID,
		Object:  "chat.completion",
		Created: created,
		Model:   r.Model,
		Choices: []openai.Choice{{Index: 0, Message: openai.AssistantMessage(text.String(), calls), FinishReason: finishReason(r.StopReason)}},
		Usage:   &u,
	}
	data, err := provider.Marshal(out)
	if err != nil {
		return nil, openai.Usage{}, err
	}
	return data, u, nil
}
