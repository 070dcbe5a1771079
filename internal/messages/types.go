// Package messages is the gateway's side of Anthropic's Messages API spoken to
// clients (the Anthropic SDKs, Claude Code): POST /v1/messages and
// POST /v1/messages/count_tokens.
//
// It is pure translation, with no I/O: Decode reads and validates a request
// body (keeping the raw bytes for a native pass-through to Anthropic, see
// PatchModel); ToChat turns it into the gateway's chat request for every other
// provider; FromChat turns a chat completion into a Messages answer; Stream
// turns chat completion chunks into Anthropic's SSE events; CountTokens
// estimates input tokens; Error renders every failure in Anthropic's shape;
// NativeUsage meters a pass-through's own answer.
package messages

import (
	"encoding/json"

	"github.com/aigateway/gateway/internal/openai"
)

// Request is a decoded POST /v1/messages (or count_tokens) body. String forms
// are normalised: a string system prompt is one text block, a string content
// one text block.
type Request struct {
	Model string `json:"model"`
	// MaxTokens is required by /v1/messages; 0 on count_tokens, which has none.
	MaxTokens     int            `json:"max_tokens,omitempty"`
	System        []TextBlock    `json:"system,omitempty"`
	Messages      []MessageParam `json:"messages"`
	Tools         []Tool         `json:"tools,omitempty"`
	ToolChoice    *ToolChoice    `json:"tool_choice,omitempty"`
	StopSequences []string       `json:"stop_sequences,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	TopK          *int           `json:"top_k,omitempty"`
	Thinking      *Thinking      `json:"thinking,omitempty"`
	Metadata      *Metadata      `json:"metadata,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	// Raw is the client's body as it was sent, for a native pass-through.
	Raw []byte `json:"-"`
}

// TextBlock is one block of a system prompt given as an array.
type TextBlock struct {
	Type         string        `json:"type"`
	Text         string        `json:"text"`
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// CacheControl is a prompt-caching breakpoint, {"type":"ephemeral","ttl":"5m"|"1h"}.
// It is kept on the native path and has no chat counterpart.
type CacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// MessageParam is one turn of the conversation.
type MessageParam struct {
	// Role is "user" or "assistant" (Anthropic's SDK also lists "system").
	Role    string  `json:"role"`
	Content []Block `json:"content"`
}

// The content block types the gateway translates. Other types are decoded
// with their Type and Raw only.
const (
	BlockText             = "text"
	BlockImage            = "image"
	BlockDocument         = "document"
	BlockToolUse          = "tool_use"
	BlockToolResult       = "tool_result"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
)

// Block is one content block of a request turn. Which fields are set depends
// on Type.
type Block struct {
	Type string `json:"type"`
	// text
	Text string `json:"text,omitempty"`
	// image, document
	Source *Source `json:"source,omitempty"`
	// tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// tool_result: Content is its content (a string content is one text
	// block), IsError marks a failed call.
	ToolUseID string  `json:"tool_use_id,omitempty"`
	Content   []Block `json:"content,omitempty"`
	IsError   bool    `json:"is_error,omitempty"`
	// thinking
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	// redacted_thinking
	Data string `json:"data,omitempty"`

	CacheControl *CacheControl `json:"cache_control,omitempty"`
	// Raw is the block as sent.
	Raw json.RawMessage `json:"-"`
}

// Source is the source of an image or document block: "base64" (MediaType,
// Data), "url" (URL), "text" (MediaType, Data: a plain-text document) or
// "file" (FileID).
type Source struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
	FileID    string `json:"file_id,omitempty"`
}

// Tool is one entry of "tools". Client tools have an empty Type (or
// "custom"), a Name and an InputSchema; Anthropic's server tools (web search,
// code execution, text editor…) have a versioned Type.
type Tool struct {
	Type         string          `json:"type,omitempty"`
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	CacheControl *CacheControl   `json:"cache_control,omitempty"`
	// Raw is the tool as sent.
	Raw json.RawMessage `json:"-"`
}

// IsClientTool reports whether t is a tool the client runs (as opposed to one
// of Anthropic's server tools).
func (t Tool) IsClientTool() bool { return t.Type == "" || t.Type == "custom" }

// ToolChoice is "tool_choice": Type "auto", "any", "tool" (with Name) or "none".
type ToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// Thinking is "thinking": Type "enabled" (with BudgetTokens), "disabled" or
// "adaptive".
type Thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
}

// Metadata is "metadata".
type Metadata struct {
	UserID string `json:"user_id,omitempty"`
}

// Message is a Messages answer: the body of a non-stream response, and the
// "message" of a stream's message_start event.
type Message struct {
	ID      string         `json:"id"`
	Type    string         `json:"type"`
	Role    string         `json:"role"`
	Model   string         `json:"model"`
	Content []ContentBlock `json:"content"`
	// StopReason is end_turn, max_tokens, stop_sequence, tool_use, pause_turn
	// or refusal; null in message_start.
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        Usage   `json:"usage"`
}

// The stop reasons the gateway reports.
const (
	StopEndTurn      = "end_turn"
	StopMaxTokens    = "max_tokens"
	StopStopSequence = "stop_sequence"
	StopToolUse      = "tool_use"
	StopRefusal      = "refusal"
)

// ContentBlock is one block of an answer: text, tool_use or thinking. It
// marshals with exactly the fields of its type, as Anthropic sends them.
type ContentBlock struct {
	Type string
	// text
	Text string
	// tool_use: Input is a JSON object.
	ID    string
	Name  string
	Input json.RawMessage
	// thinking
	Thinking  string
	Signature string
}

// MarshalJSON writes the fields of the block's type.
func (b ContentBlock) MarshalJSON() ([]byte, error) {
	switch b.Type {
	case BlockToolUse:
		input := b.Input
		if len(input) == 0 {
			input = json.RawMessage(`{}`)
		}
		return marshal(struct {
			Type  string          `json:"type"`
			ID    string          `json:"id"`
			Name  string          `json:"name"`
			Input json.RawMessage `json:"input"`
		}{b.Type, b.ID, b.Name, input})
	case BlockThinking:
		return marshal(struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
		}{b.Type, b.Thinking, b.Signature})
	default:
		return marshal(struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}{b.Type, b.Text})
	}
}

// UnmarshalJSON reads any of the block types MarshalJSON writes.
func (b *ContentBlock) UnmarshalJSON(data []byte) error {
	var w struct {
		Type      string          `json:"type"`
		Text      string          `json:"text"`
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
		Thinking  string          `json:"thinking"`
		Signature string          `json:"signature"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = ContentBlock{Type: w.Type, Text: w.Text, ID: w.ID, Name: w.Name, Input: w.Input,
		Thinking: w.Thinking, Signature: w.Signature}
	return nil
}

// Usage is Anthropic's token usage. InputTokens excludes the tokens read from
// or written to the prompt cache; the three together are the prompt.
// CacheCreation splits the writes by the lifetime of the entry, when known.
type Usage struct {
	InputTokens              int            `json:"input_tokens"`
	CacheCreationInputTokens int            `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int            `json:"cache_read_input_tokens"`
	CacheCreation            *CacheCreation `json:"cache_creation,omitempty"`
	OutputTokens             int            `json:"output_tokens"`
}

// CacheCreation is usage.cache_creation: the cache writes of each lifetime,
// the same object as chat usage's cache_creation_token_details.
type CacheCreation = openai.CacheCreationDetails

// TokenCount is the answer of /v1/messages/count_tokens.
type TokenCount struct {
	InputTokens int `json:"input_tokens"`
}

// JSON renders the message as the body of a non-stream answer (text as it
// was written: <, > and & unescaped).
func (m *Message) JSON() []byte { return mustMarshal(m) }
