package messages

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
)

// FromChat translates a chat completion into a Messages answer for the
// client that asked for requestedModel (the completion's own model when
// empty). Only the first choice is read.
//
//   - the id is "msg_" and the completion's id without its "chatcmpl-"
//     prefix (an id that already starts "msg_" is kept), so a replayed answer
//     keeps its id;
//   - content is a text block (when there is text; a refusal's text
//     otherwise) then a tool_use block per tool call, its arguments parsed
//     into the input object (arguments that are not a JSON object, as a
//     length-cut call leaves them, become {});
//   - finish_reason stop is end_turn, length max_tokens, tool_calls (or any
//     finish with tool calls) tool_use, content_filter (or a refusal)
//     refusal. Chat does not say which stop sequence ended an answer, so
//     stop_sequence stays null;
//   - usage is prompt tokens less cached and cache-written ones as
//     input_tokens, the cached ones as cache_read_input_tokens, the written
//     ones (cache_creation_tokens, with their 5m/1h split) as
//     cache_creation_input_tokens, completion tokens as output_tokens.
func FromChat(c *openai.ChatCompletion, requestedModel string) *Message {
	return fromChat(c, "", requestedModel)
}

// FromChatBody decodes a chat completion body and translates it as FromChat
// does; a reasoning text beside the message ("reasoning_content" or
// "reasoning", as DeepSeek, vLLM, OpenRouter and Ollama send it) becomes a
// thinking block ahead of the text, or, when the message has
// thinking_blocks (Claude on Bedrock), one thinking block for each with its
// signature (redacted ones are left out: a Message has no such block).
func FromChatBody(body []byte, requestedModel string) (*Message, error) {
	var c openai.ChatCompletion
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, &Error{Status: 502, Type: TypeAPI, Message: "the provider's answer is not a chat completion"}
	}
	var extra struct {
		Choices []struct {
			Message reasoningFields `json:"message"`
		} `json:"choices"`
	}
	_ = json.Unmarshal(body, &extra) // decoded above
	reasoning := ""
	if len(extra.Choices) > 0 {
		reasoning = extra.Choices[0].Message.text()
	}
	return fromChat(&c, reasoning, requestedModel), nil
}

// reasoningFields are the non-standard reasoning fields of OpenAI-protocol
// providers, on a message or a delta.
type reasoningFields struct {
	ReasoningContent *string `json:"reasoning_content"`
	Reasoning        *string `json:"reasoning"`
}

func (r reasoningFields) text() string {
	switch {
	case r.ReasoningContent != nil:
		return *r.ReasoningContent
	case r.Reasoning != nil:
		return *r.Reasoning
	}
	return ""
}

func fromChat(c *openai.ChatCompletion, reasoning, requestedModel string) *Message {
	m := &Message{
		ID:      MessageID(c.ID),
		Type:    "message",
		Role:    "assistant",
		Model:   requestedModel,
		Content: []ContentBlock{},
		Usage:   usageFromChat(c.Usage),
	}
	if m.Model == "" {
		m.Model = c.Model
	}
	signed := false
	if len(c.Choices) > 0 {
		for _, tb := range c.Choices[0].Message.ThinkingBlocks {
			if tb.Type == openai.ThinkingTypeThinking {
				m.Content = append(m.Content, ContentBlock{Type: BlockThinking, Thinking: tb.Thinking, Signature: tb.Signature})
				signed = true
			}
		}
	}
	if reasoning != "" && !signed {
		m.Content = append(m.Content, ContentBlock{Type: BlockThinking, Thinking: reasoning})
	}
	finish := ""
	var calls []openai.ToolCall
	refused := false
	if len(c.Choices) > 0 {
		ch := c.Choices[0]
		finish = ch.FinishReason
		text := ""
		if ch.Message.Content != nil {
			text = *ch.Message.Content
		}
		if text == "" && ch.Message.Refusal != nil && *ch.Message.Refusal != "" {
			text, refused = *ch.Message.Refusal, true
		}
		if text != "" {
			m.Content = append(m.Content, ContentBlock{Type: BlockText, Text: text})
		}
		calls = ch.Message.ToolCalls
		for _, tc := range calls {
			m.Content = append(m.Content, ContentBlock{Type: BlockToolUse, ID: toolUseID(tc.ID),
				Name: tc.Function.Name, Input: inputObject(tc.Function.Arguments)})
		}
	}
	stop := stopReason(finish, len(calls) > 0)
	if refused {
		stop = StopRefusal
	}
	m.StopReason = &stop
	return m
}

// stopReason maps a chat finish_reason to a Messages stop_reason.
func stopReason(finish string, toolCalls bool) string {
	switch {
	case finish == "length":
		return StopMaxTokens
	case toolCalls || finish == "tool_calls" || finish == "function_call":
		return StopToolUse
	case finish == "content_filter":
		return StopRefusal
	default:
		return StopEndTurn
	}
}

// usageFromChat maps chat usage; nil is all zeros.
func usageFromChat(u *openai.Usage) Usage {
	if u == nil {
		return Usage{}
	}
	cached := u.CachedTokens()
	written, oneHour := u.CacheWriteTokens()
	input := max(u.PromptTokens-cached-written, 0)
	out := Usage{InputTokens: input, CacheReadInputTokens: cached, CacheCreationInputTokens: written, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil && d.CacheCreationTokenDetails != nil && written > 0 {
		out.CacheCreation = &CacheCreation{Ephemeral5mInputTokens: d.CacheCreationTokenDetails.Ephemeral5mInputTokens, Ephemeral1hInputTokens: oneHour}
	}
	return out
}

// inputObject parses tool call arguments into a JSON object: compact, {}
// when they are empty or not an object.
func inputObject(args string) json.RawMessage {
	b := bytes.TrimSpace([]byte(args))
	var buf bytes.Buffer
	if len(b) == 0 || b[0] != '{' || json.Compact(&buf, b) != nil {
		return json.RawMessage(`{}`)
	}
	return buf.Bytes()
}

// MessageID is the Messages id of a chat completion id: "msg_" and the id
// without its "chatcmpl-" prefix; an id that starts "msg_" is kept, an empty
// one is random.
func MessageID(chatID string) string {
	switch {
	case strings.HasPrefix(chatID, "msg_"):
		return chatID
	case chatID == "":
		return "msg_" + randomHex()
	}
	return "msg_" + strings.TrimPrefix(chatID, "chatcmpl-")
}

// toolUseID keeps a tool call's id (clients send it back as tool_use_id,
// which ToChat passes on as it is); a missing one is made up.
func toolUseID(id string) string {
	if id == "" {
		return "toolu_" + randomHex()
	}
	return id
}

func randomHex() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
