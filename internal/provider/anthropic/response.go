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

// responseBlock is one content block of an answer. Blocks other than text,
// tool_use, thinking and redacted_thinking (server tools) are ignored.
type responseBlock struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
	// thinking; redacted_thinking has Data
	Thinking  string `json:"thinking"`
	Signature string `json:"signature"`
	Data      string `json:"data"`
}

// usage is Anthropic's token usage. The counts are pointers so a
// message_delta that omits them does not reset what message_start reported.
// CacheCreation splits the cache writes by lifetime.
type usage struct {
	InputTokens              *int           `json:"input_tokens"`
	OutputTokens             *int           `json:"output_tokens"`
	CacheCreationInputTokens *int           `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int           `json:"cache_read_input_tokens"`
	CacheCreation            *cacheCreation `json:"cache_creation"`
}

type cacheCreation struct {
	Ephemeral5mInputTokens int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1hInputTokens int `json:"ephemeral_1h_input_tokens"`
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
	if n.CacheCreation != nil {
		u.CacheCreation = n.CacheCreation
	}
}

// openAI maps the usage: every input token (cached, written to the cache or
// neither) counts as a prompt token; cache reads are the cached tokens, cache
// writes the cache_creation_tokens, with their split by lifetime when
// Anthropic gave one.
func (u usage) openAI() openai.Usage {
	v := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	cached, written := v(u.CacheReadInputTokens), v(u.CacheCreationInputTokens)
	out := openai.Usage{
		PromptTokens:        v(u.InputTokens) + cached + written,
		CompletionTokens:    v(u.OutputTokens),
		PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: cached, CacheCreationTokens: written},
	}
	if c := u.CacheCreation; c != nil && written > 0 && c.Ephemeral5mInputTokens+c.Ephemeral1hInputTokens > 0 {
		out.PromptTokensDetails.CacheCreationTokenDetails = &openai.CacheCreationDetails{
			Ephemeral5mInputTokens: c.Ephemeral5mInputTokens, Ephemeral1hInputTokens: c.Ephemeral1hInputTokens}
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
// Thinking blocks become the message's reasoning_content (their texts) and
// thinking_blocks (every thinking and redacted_thinking block with its
// signature or data, for the client to send back).
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

	var text, reasoning strings.Builder
	var calls []openai.ToolCall
	var thinking []openai.ThinkingBlock
	for _, b := range r.Content {
		switch b.Type {
		case "thinking":
			reasoning.WriteString(b.Thinking)
			thinking = append(thinking, openai.ThinkingBlock{Type: openai.ThinkingTypeThinking, Thinking: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			thinking = append(thinking, openai.ThinkingBlock{Type: openai.ThinkingTypeRedacted, Data: b.Data})
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
	msg := openai.AssistantMessage(text.String(), calls)
	msg.ReasoningContent, msg.ThinkingBlocks = reasoning.String(), thinking
	out := openai.ChatCompletion{
		ID:      r.ID,
		Object:  "chat.completion",
		Created: created,
		Model:   r.Model,
		Choices: []openai.Choice{{Index: 0, Message: msg, FinishReason: finishReason(r.StopReason)}},
		Usage:   &u,
	}
	data, err := provider.Marshal(out)
	if err != nil {
		return nil, openai.Usage{}, err
	}
	return data, u, nil
}
