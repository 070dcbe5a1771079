package gemini

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// completion translates a whole GenerateContentResponse: candidates[i]
// becomes choices[i]. Thought summaries become the message's
// reasoning_content; a functionCall's thoughtSignature goes into its tool
// call's id (see signature.go).
func (p *Provider) completion(r *generateResponse, model, id string, created int64) (*openai.ChatCompletion, error) {
	if r.Error != nil {
		return nil, p.errorEvent(r.Error)
	}
	if len(r.Candidates) == 0 {
		if err := p.blocked(r); err != nil {
			return nil, err
		}
		return nil, provider.BadUpstreamBody(p.up.Name, errors.New("the response has no candidates"))
	}
	u := usage(r.UsageMetadata)
	cc := &openai.ChatCompletion{
		ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: make([]openai.Choice, 0, len(r.Candidates)), Usage: &u,
	}
	for i, c := range r.Candidates {
		var text, reasoning strings.Builder
		var calls []openai.ToolCall
		if c.Content != nil {
			for _, pt := range c.Content.Parts {
				switch {
				case pt.FunctionCall != nil:
					calls = append(calls, openai.ToolCall{
						ID: callID(len(calls), pt.ThoughtSignature), Type: "function",
						Function: openai.FunctionCall{Name: pt.FunctionCall.Name, Arguments: compactArgs(pt.FunctionCall.Args)},
					})
				case pt.Thought:
					reasoning.WriteString(pt.Text)
				default:
					text.WriteString(pt.Text)
				}
			}
		}
		m := openai.AssistantMessage(text.String(), calls)
		if reasoning.Len() > 0 {
			m.ReasoningContent = reasoning.String()
		}
		cc.Choices = append(cc.Choices, openai.Choice{Index: i, Message: m,
			FinishReason: finishReason(c.FinishReason, len(calls) > 0)})
	}
	return cc, nil
}

// blocked is the error for a prompt Gemini refused to answer.
func (p *Provider) blocked(r *generateResponse) *openai.Error {
	if r.PromptFeedback == nil || r.PromptFeedback.BlockReason == "" {
		return nil
	}
	msg := fmt.Sprintf("provider %s blocked the prompt (%s)", p.up.Name, r.PromptFeedback.BlockReason)
	if m := r.PromptFeedback.BlockReasonMessage; m != "" {
		msg += ": " + p.up.Secrets.Redact(m)
	}
	return &openai.Error{Code: openai.CodeContentFilter, Provider: p.up.Name, Message: msg}
}

// compactArgs renders functionCall.args as OpenAI's arguments string; args
// that are not JSON are no arguments.
func compactArgs(args json.RawMessage) string {
	s, _ := provider.CompactArguments(args)
	return s
}

// finishReason maps Gemini's FinishReason. A candidate that called functions
// and stopped normally finished with "tool_calls".
func finishReason(reason string, toolCalls bool) string {
	switch reason {
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY":
		return "content_filter"
	}
	if toolCalls {
		return "tool_calls"
	}
	return "stop"
}

// usage maps usageMetadata. Thinking tokens are billed as output, so they
// count as completion tokens (and are reported as reasoning tokens); tokens of
// tool-use prompts are prompt tokens.
func usage(m *usageMetadata) openai.Usage {
	if m == nil {
		return openai.Usage{}
	}
	u := openai.Usage{
		PromptTokens:     m.PromptTokenCount + m.ToolUsePromptTokenCount,
		CompletionTokens: m.CandidatesTokenCount + m.ThoughtsTokenCount,
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	if m.CachedContentTokenCount > 0 {
		u.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: m.CachedContentTokenCount}
	}
	if m.ThoughtsTokenCount > 0 {
		u.CompletionTokensDetails = &openai.CompletionTokensDetails{ReasoningTokens: m.ThoughtsTokenCount}
	}
	return u
}
