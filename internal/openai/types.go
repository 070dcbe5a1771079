// Package openai holds the client-facing wire types of the OpenAI API that the
// gateway speaks, and its one error type.
//
// Request types are decoded from the client's body for the fields the gateway
// needs to route and translate; the raw body is kept beside them so unknown
// fields survive when the upstream speaks the OpenAI protocol.
package openai

import (
	"bytes"
	"encoding/json"
	"errors"
)

// ChatRequest is POST /v1/chat/completions.
type ChatRequest struct {
	Model               string             `json:"model"`
	Messages            []Message          `json:"messages"`
	Stream              bool               `json:"stream,omitempty"`
	StreamOptions       *StreamOptions     `json:"stream_options,omitempty"`
	Temperature         *float64           `json:"temperature,omitempty"`
	TopP                *float64           `json:"top_p,omitempty"`
	N                   *int               `json:"n,omitempty"`
	Stop                Stop               `json:"stop,omitempty"`
	MaxTokens           *int               `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int               `json:"max_completion_tokens,omitempty"`
	PresencePenalty     *float64           `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64           `json:"frequency_penalty,omitempty"`
	Seed                *int64             `json:"seed,omitempty"`
	User                string             `json:"user,omitempty"`
	Tools               []Tool             `json:"tools,omitempty"`
	ToolChoice          json.RawMessage    `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool              `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat    `json:"response_format,omitempty"`
	LogitBias           map[string]float64 `json:"logit_bias,omitempty"`
	Logprobs            *bool              `json:"logprobs,omitempty"`
	TopLogprobs         *int               `json:"top_logprobs,omitempty"`
	ReasoningEffort     string             `json:"reasoning_effort,omitempty"`
	Metadata            map[string]string  `json:"metadata,omitempty"`
	// Thinking is Anthropic's extended-thinking setting
	// ({"type":"enabled","budget_tokens":N}, "adaptive" or "disabled"), as
	// LiteLLM accepts it on chat requests: passed on as it is to Claude
	// models (directly or on Bedrock), ignored by other providers.
	Thinking json.RawMessage `json:"thinking,omitempty"`
}

// MaxOutputTokens returns max_completion_tokens, else max_tokens, else 0.
func (r *ChatRequest) MaxOutputTokens() int {
	if r.MaxCompletionTokens != nil {
		return *r.MaxCompletionTokens
	}
	if r.MaxTokens != nil {
		return *r.MaxTokens
	}
	return 0
}

// WantsUsageChunk reports whether a streaming client asked for the final usage chunk.
func (r *ChatRequest) WantsUsageChunk() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// StreamOptions is stream_options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage,omitempty"`
}

// ResponseFormat is response_format: {"type":"text"|"json_object"|"json_schema", "json_schema":{...}}.
type ResponseFormat struct {
	Type       string          `json:"type"`
	JSONSchema *JSONSchemaSpec `json:"json_schema,omitempty"`
}

// JSONSchemaSpec is response_format.json_schema.
type JSONSchemaSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Stop is "stop": a string or an array of strings. It always decodes to a slice.
type Stop []string

// UnmarshalJSON accepts a string, an array of strings, or null.
func (s *Stop) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Stop{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// Message is one chat message.
type Message struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Refusal    string     `json:"refusal,omitempty"`
	// ReasoningContent and ThinkingBlocks are an assistant turn's reasoning
	// as the gateway returned it (see ResponseMessage), sent back in the
	// history; providers that replay reasoning read ThinkingBlocks, which
	// carry the signatures.
	ReasoningContent string          `json:"reasoning_content,omitempty"`
	ThinkingBlocks   []ThinkingBlock `json:"thinking_blocks,omitempty"`
	// CacheControl marks the end of the message as a prompt-cache
	// breakpoint (its last content part; see CacheControl).
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// CacheControl is a prompt-caching breakpoint, {"type":"ephemeral"} with an
// optional "ttl" ("5m" or "1h"), as Anthropic defines it. Chat clients set it
// as LiteLLM and OpenRouter document: on a content part, on a message (its
// last part, or its tool result), or on a tool. Providers with explicit
// prompt caching (Anthropic, Bedrock) place a breakpoint there; others
// ignore it.
type CacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// ThinkingBlock is one block of a model's reasoning, as Anthropic (directly
// or on Bedrock) returns it: Type "thinking" with the text and the signature
// that lets it be sent back, or "redacted_thinking" with opaque Data. The
// shape is LiteLLM's "thinking_blocks", so clients that already round-trip
// them work unchanged.
type ThinkingBlock struct {
	Type      string `json:"type"`
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`
}

// Thinking block types.
const (
	ThinkingTypeThinking = "thinking"
	ThinkingTypeRedacted = "redacted_thinking"
)

// Content is a message's content: a plain string, an array of parts, or null.
type Content struct {
	Text  string
	Parts []ContentPart
	// IsParts records that the client sent an array (even a one-element one).
	IsParts bool
	// IsNull records an explicit or missing null content (assistant messages with tool calls).
	IsNull bool
}

// TextContent builds string content.
func TextContent(s string) Content { return Content{Text: s} }

// UnmarshalJSON accepts a string, an array of content parts, or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*c = Content{IsNull: true}
	case len(b) > 0 && b[0] == '"':
		*c = Content{}
		return json.Unmarshal(b, &c.Text)
	case len(b) > 0 && b[0] == '[':
		*c = Content{IsParts: true}
		return json.Unmarshal(b, &c.Parts)
	default:
		return errors.New("content must be a string, an array of content parts, or null")
	}
	return nil
}

// MarshalJSON writes the form the content was given in.
func (c Content) MarshalJSON() ([]byte, error) {
	switch {
	case c.IsParts:
		if c.Parts == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(c.Parts)
	case c.IsNull && c.Text == "":
		return []byte("null"), nil
	default:
		return json.Marshal(c.Text)
	}
}

// AllText joins the text of every text part (or returns the string content).
func (c Content) AllText() string {
	if !c.IsParts {
		return c.Text
	}
	var buf bytes.Buffer
	for _, p := range c.Parts {
		if p.Type == "text" {
			buf.WriteString(p.Text)
		}
	}
	return buf.String()
}

// ContentPart is one element of an array content.
type ContentPart struct {
	Type         string        `json:"type"`
	Text         string        `json:"text,omitempty"`
	ImageURL     *ImageURL     `json:"image_url,omitempty"`
	InputAudio   *InputAudio   `json:"input_audio,omitempty"`
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// ImageURL is an image_url part: an https URL or a data: URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// InputAudio is an input_audio part.
type InputAudio struct {
	Data   string `json:"data"`
	Format string `json:"format"`
}

// Tool is one entry of "tools". CacheControl marks the tool as a
// prompt-cache breakpoint (the tool definitions up to it are cached).
type Tool struct {
	Type         string        `json:"type"`
	Function     FunctionSpec  `json:"function"`
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// ToolCacheControl is the tool's cache_control, on the tool or (as LiteLLM
// also accepts) on its function; nil when neither has one.
func (t Tool) ToolCacheControl() *CacheControl {
	if t.CacheControl != nil {
		return t.CacheControl
	}
	return t.Function.CacheControl
}

// FunctionSpec describes a callable function.
type FunctionSpec struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	Parameters   json.RawMessage `json:"parameters,omitempty"`
	Strict       *bool           `json:"strict,omitempty"`
	CacheControl *CacheControl   `json:"cache_control,omitempty"`
}

// ToolCall is an assistant's call of a tool.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall is the function part of a tool call; Arguments is a JSON string.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// ChatCompletion is the non-stream response.
type ChatCompletion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
}

// Choice is one choice of a ChatCompletion.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

// ResponseMessage is the assistant message of a choice. Content is a pointer so a
// tool-call-only answer carries "content": null as OpenAI does.
//
// ReasoningContent is the model's reasoning (thinking) text, for providers
// that return one. OpenAI's own API has no such field; "reasoning_content" is
// the name DeepSeek gave it, which vLLM and many OpenAI-compatible clients
// read, and which the gateway's Messages translator turns into a thinking
// block. Absent when the provider sent no reasoning.
type ResponseMessage struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	Refusal   *string    `json:"refusal,omitempty"`
	// ReasoningContent is the model's reasoning text, the field DeepSeek,
	// vLLM and LiteLLM use; ThinkingBlocks are the same reasoning as the
	// provider's blocks with their signatures, for clients to send back.
	ReasoningContent string          `json:"reasoning_content,omitempty"`
	ThinkingBlocks   []ThinkingBlock `json:"thinking_blocks,omitempty"`
}

// AssistantMessage is the message of a choice with text as content and the
// tool calls: content is null when there are tool calls and no text, "" when
// there is neither.
func AssistantMessage(text string, calls []ToolCall) ResponseMessage {
	m := ResponseMessage{Role: "assistant", ToolCalls: calls}
	if text != "" || len(calls) == 0 {
		m.Content = Ptr(text)
	}
	return m
}

// Usage is token usage.
type Usage struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// PromptTokensDetails breaks prompt tokens down. CachedTokens (OpenAI's
// field) are the prompt tokens read from the provider's prompt cache. The
// others are written to it, for providers that bill cache writes
// (Anthropic, Bedrock), in LiteLLM's names: CacheCreationTokens in all, of
// which CacheCreationTokenDetails says how many at each lifetime.
type PromptTokensDetails struct {
	CachedTokens              int                   `json:"cached_tokens"`
	CacheCreationTokens       int                   `json:"cache_creation_tokens,omitempty"`
	CacheCreationTokenDetails *CacheCreationDetails `json:"cache_creation_token_details,omitempty"`
}

// CacheCreationDetails splits the tokens written to the prompt cache by the
// lifetime of the entry, as Anthropic's usage.cache_creation does.
type CacheCreationDetails struct {
	Ephemeral5mInputTokens int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1hInputTokens int `json:"ephemeral_1h_input_tokens"`
}

// CompletionTokensDetails breaks completion tokens down.
type CompletionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// CachedTokens returns prompt_tokens_details.cached_tokens or 0.
func (u *Usage) CachedTokens() int {
	if u == nil || u.PromptTokensDetails == nil {
		return 0
	}
	return u.PromptTokensDetails.CachedTokens
}

// CacheWriteTokens returns the prompt tokens written to the prompt cache, in
// all and with a one-hour lifetime (the rest have five minutes); 0, 0 when
// none were.
func (u *Usage) CacheWriteTokens() (all, oneHour int) {
	if u == nil || u.PromptTokensDetails == nil {
		return 0, 0
	}
	d := u.PromptTokensDetails
	if d.CacheCreationTokenDetails != nil {
		oneHour = d.CacheCreationTokenDetails.Ephemeral1hInputTokens
	}
	return d.CacheCreationTokens, oneHour
}

// ChatCompletionChunk is one streamed event.
type ChatCompletionChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             *Usage        `json:"usage,omitempty"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
}

// ChunkChoice is one choice of a chunk. FinishReason is null until the last chunk.
type ChunkChoice struct {
	Index        int             `json:"index"`
	Delta        Delta           `json:"delta"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

// Delta is the incremental message of a chunk.
type Delta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	ToolCalls []ToolCallDelta `json:"tool_calls,omitempty"`
	Refusal   *string         `json:"refusal,omitempty"`
	// ReasoningContent is a piece of the reasoning text. ThinkingBlocks
	// carries what the text alone does not: a thinking block's signature
	// (with empty thinking) when it arrives, a redacted block whole.
	ReasoningContent string          `json:"reasoning_content,omitempty"`
	ThinkingBlocks   []ThinkingBlock `json:"thinking_blocks,omitempty"`
}

// ToolCallDelta is a streamed piece of a tool call; Index ties the pieces together.
type ToolCallDelta struct {
	Index    int                `json:"index"`
	ID       string             `json:"id,omitempty"`
	Type     string             `json:"type,omitempty"`
	Function *FunctionCallDelta `json:"function,omitempty"`
}

// FunctionCallDelta is a streamed piece of a function call.
type FunctionCallDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// EmbeddingsRequest is POST /v1/embeddings.
type EmbeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format,omitempty"`
	Dimensions     *int            `json:"dimensions,omitempty"`
	User           string          `json:"user,omitempty"`
}

// InputStrings returns the input as a list of strings when it is a string or an
// array of strings; ok is false for token arrays.
func (r *EmbeddingsRequest) InputStrings() (in []string, ok bool) {
	var one string
	if err := json.Unmarshal(r.Input, &one); err == nil {
		return []string{one}, true
	}
	if err := json.Unmarshal(r.Input, &in); err == nil {
		return in, true
	}
	return nil, false
}

// EmbeddingsResponse is the embeddings answer.
type EmbeddingsResponse struct {
	Object string      `json:"object"`
	Data   []Embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  Usage       `json:"usage"`
}

// Embedding is one vector. It is sent as an array of numbers, or, when Base64
// is set, as OpenAI sends it for encoding_format "base64": a base64 string of
// the vector's little-endian float32s (see MarshalJSON).
type Embedding struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float64 `json:"embedding"`
	// Base64 selects the base64 form on the wire; decoding that form sets it.
	Base64 bool `json:"-"`
}

// Model is one entry of GET /v1/models.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelList is GET /v1/models.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}

// Ptr returns a pointer to v.
func Ptr[T any](v T) *T { return &v }
