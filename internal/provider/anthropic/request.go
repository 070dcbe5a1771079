package anthropic

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// messagesRequest is the body of POST /v1/messages.
type messagesRequest struct {
	Model         string          `json:"model"`
	MaxTokens     int             `json:"max_tokens"`
	System        systemPrompt    `json:"system,omitzero"`
	Messages      []message       `json:"messages"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Metadata      *metadata       `json:"metadata,omitempty"`
	Tools         []tool          `json:"tools,omitempty"`
	ToolChoice    *toolChoice     `json:"tool_choice,omitempty"`
	Thinking      json.RawMessage `json:"thinking,omitempty"`
	OutputConfig  *outputConfig   `json:"output_config,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
}

// outputConfig is output_config: the effort adaptive thinking works to.
type outputConfig struct {
	Effort string `json:"effort,omitempty"`
}

// systemPrompt is "system": a string, or text blocks when one of them is a
// cache breakpoint (only blocks carry cache_control).
type systemPrompt []block

func (s systemPrompt) IsZero() bool { return len(s) == 0 }

// MarshalJSON writes the blocks' texts joined by blank lines, or the blocks
// when one has cache_control.
func (s systemPrompt) MarshalJSON() ([]byte, error) {
	texts := make([]string, 0, len(s))
	for _, b := range s {
		if b.CacheControl != nil {
			return json.Marshal([]block(s))
		}
		texts = append(texts, b.Text)
	}
	return json.Marshal(strings.Join(texts, "\n\n"))
}

type metadata struct {
	UserID string `json:"user_id"`
}

// message is one turn. Content is always an array of blocks.
type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is one content block of a request: text, image, tool_use,
// tool_result, thinking or redacted_thinking.
type block struct {
	Type   string       `json:"type"`
	Text   string       `json:"text,omitempty"`
	Source *imageSource `json:"source,omitempty"`
	// tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// tool_result: Content is a string or an array of text and image blocks.
	ToolUseID string `json:"tool_use_id,omitempty"`
	Content   any    `json:"content,omitempty"`
	// thinking: the text and its signature; redacted_thinking: Data.
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`

	CacheControl *openai.CacheControl `json:"cache_control,omitempty"`
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	Name         string               `json:"name"`
	Description  string               `json:"description,omitempty"`
	InputSchema  json.RawMessage      `json:"input_schema"`
	CacheControl *openai.CacheControl `json:"cache_control,omitempty"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// translateRequest builds the Messages request for model from the client's
// OpenAI request. A request Anthropic cannot express is a 400 naming the
// parameter.
//
// Prompt-cache breakpoints are kept where the client put them (see
// openai.CacheControl): a content part's cache_control on its block, a
// message's on the message's last block (a tool message's on its
// tool_result), a tool's on the tool. An assistant message's thinking_blocks
// go back as its first blocks, as Anthropic requires when thinking is on;
// reasoning_content alone is dropped, as a thinking block without its
// signature is refused. thinking is passed on as it is; without it,
// reasoning_effort becomes the model's thinking (see reasoningEffort).
//
// Parameters without a Messages counterpart (presence and frequency
// penalties, seed, logit_bias, logprobs) are dropped.
func translateRequest(model string, r *openai.ChatRequest) (*messagesRequest, error) {
	if r.N != nil && *r.N > 1 {
		return nil, invalid("n", "n must be 1: Anthropic returns a single choice")
	}
	out := &messagesRequest{
		Model:         model,
		MaxTokens:     r.MaxOutputTokens(),
		Temperature:   r.Temperature,
		TopP:          r.TopP,
		StopSequences: r.Stop,
	}
	if !openai.IsNull(r.Thinking) {
		out.Thinking = bytes.TrimSpace(r.Thinking)
	}
	if out.MaxTokens == 0 {
		// max_tokens must exceed a thinking budget.
		out.MaxTokens = DefaultMaxTokens + thinkingBudget(out.Thinking)
	}
	if r.User != "" {
		out.Metadata = &metadata{UserID: r.User}
	}

	var system []block
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer":
			system = append(system, markLast(systemBlocks(m.Content), m.CacheControl)...)
		case "user":
			blocks, err := partsToBlocks(m.Content, fmt.Sprintf("messages[%d].content", i))
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, "user", markLast(blocks, m.CacheControl))
		case "assistant":
			blocks, err := assistantBlocks(m, i)
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, "assistant", markLast(blocks, m.CacheControl))
		case "tool":
			b, err := toolResult(m, i)
			if err != nil {
				return nil, err
			}
			if m.CacheControl != nil {
				b.CacheControl = m.CacheControl
			}
			out.Messages = appendTurn(out.Messages, "user", []block{b})
		default:
			return nil, invalid(fmt.Sprintf("messages[%d].role", i),
				fmt.Sprintf("role %q is not supported by Anthropic", m.Role))
		}
	}
	if out.Messages == nil {
		out.Messages = []message{}
	}

	// response_format has no Messages counterpart: JSON output is asked for
	// with an instruction appended to the system prompt (with the schema
	// when one is given). The answer is not validated against it.
	if rf := r.ResponseFormat; rf != nil {
		instruct := func(s string) { system = append(system, block{Type: "text", Text: s}) }
		switch rf.Type {
		case "json_object":
			instruct("Respond only with a valid JSON object, without any text around it.")
		case "json_schema":
			if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
				instruct("Respond only with a valid JSON object, without any text around it.")
			} else {
				var schema bytes.Buffer
				if err := json.Compact(&schema, rf.JSONSchema.Schema); err != nil {
					return nil, invalid("response_format.json_schema.schema", "schema is not valid JSON")
				}
				instruct("Respond only with a JSON value that conforms to this JSON schema, without any text around it: " + schema.String())
			}
		case "", "text":
		default:
			return nil, invalid("response_format.type", fmt.Sprintf("response_format type %q is not supported", rf.Type))
		}
	}
	out.System = system

	for i, t := range r.Tools {
		if t.Type != "" && t.Type != "function" {
			return nil, invalid(fmt.Sprintf("tools[%d].type", i), fmt.Sprintf("tool type %q is not supported", t.Type))
		}
		if t.Function.Name == "" {
			return nil, invalid(fmt.Sprintf("tools[%d].function.name", i), "a tool needs a name")
		}
		schema := json.RawMessage(`{"type":"object"}`)
		if !openai.IsNull(t.Function.Parameters) {
			schema = bytes.TrimSpace(t.Function.Parameters)
		}
		out.Tools = append(out.Tools, tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema,
			CacheControl: t.ToolCacheControl()})
	}

	tc, err := translateToolChoice(r)
	if err != nil {
		return nil, err
	}
	if r.ParallelToolCalls != nil && !*r.ParallelToolCalls {
		if tc == nil {
			tc = &toolChoice{Type: "auto"}
		}
		if tc.Type != "none" {
			tc.DisableParallelToolUse = true
		}
	}
	// Anthropic rejects tool_choice without tools; OpenAI clients sometimes
	// send "none" or "auto" with an empty list.
	if len(out.Tools) > 0 {
		out.ToolChoice = tc
	}
	if err := out.reasoningEffort(r); err != nil {
		return nil, err
	}
	return out, nil
}

// reasoningEffort turns reasoning_effort into thinking when the client sent
// no thinking of its own (see provider.ClaudeReasoning for the models and
// budgets). Anthropic refuses, with thinking on, a budget not below
// max_tokens, a temperature other than 1, a top_p below 0.95 and a forced
// tool: max_tokens is raised to the budget plus the client's own limit (the
// client's limit stays the room for the answer), temperature and top_p are
// dropped (the client asked for reasoning, which is what OpenAI's
// reasoning models do with them too), and a forced tool wins over the
// effort, which is then dropped.
func (m *messagesRequest) reasoningEffort(r *openai.ChatRequest) error {
	if len(m.Thinking) > 0 {
		return nil
	}
	t, on, err := provider.ClaudeReasoning(m.Model, r.ReasoningEffort)
	if err != nil {
		return err
	}
	if !on || m.ToolChoice != nil && (m.ToolChoice.Type == "any" || m.ToolChoice.Type == "tool") {
		return nil
	}
	m.Thinking = t.Thinking()
	if t.Adaptive {
		m.OutputConfig = &outputConfig{Effort: t.Effort}
	}
	switch {
	case r.MaxOutputTokens() == 0:
		m.MaxTokens = DefaultMaxTokens + t.Budget
	case !t.Adaptive && m.MaxTokens <= t.Budget:
		m.MaxTokens += t.Budget
	}
	if m.Temperature != nil && *m.Temperature != 1 {
		m.Temperature = nil
	}
	if m.TopP != nil && *m.TopP < 0.95 {
		m.TopP = nil
	}
	return nil
}

// systemBlocks are the text blocks of a system message: its text, or, when
// a part is a cache breakpoint, its text parts with their cache_control.
// Empty text is skipped.
func systemBlocks(c openai.Content) []block {
	marked := false
	for _, p := range c.Parts {
		marked = marked || p.CacheControl != nil
	}
	if !marked {
		if s := c.AllText(); s != "" {
			return []block{{Type: "text", Text: s}}
		}
		return nil
	}
	var out []block
	for _, p := range c.Parts {
		if p.Type == "text" && p.Text != "" {
			out = append(out, block{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
		}
	}
	return out
}

// markLast puts a message's cache_control on its last block.
func markLast(blocks []block, cc *openai.CacheControl) []block {
	if cc != nil && len(blocks) > 0 {
		blocks[len(blocks)-1].CacheControl = cc
	}
	return blocks
}

// thinkingBudget is the budget_tokens of a thinking setting; 0 when it has none.
func thinkingBudget(thinking json.RawMessage) int {
	var t struct {
		BudgetTokens int `json:"budget_tokens"`
	}
	if len(thinking) == 0 || json.Unmarshal(thinking, &t) != nil || t.BudgetTokens < 0 {
		return 0
	}
	return t.BudgetTokens
}

// appendTurn adds blocks as a turn of role, merging them into the previous
// turn when it has the same role (consecutive tool results become one user
// message; a user message after tool results joins them). Empty turns are
// dropped.
func appendTurn(msgs []message, role string, blocks []block) []message {
	if len(blocks) == 0 {
		return msgs
	}
	if n := len(msgs); n > 0 && msgs[n-1].Role == role {
		msgs[n-1].Content = append(msgs[n-1].Content, blocks...)
		return msgs
	}
	return append(msgs, message{Role: role, Content: blocks})
}

// partsToBlocks converts user (or tool) content: text and images. Empty text
// is skipped (Anthropic rejects empty text blocks).
func partsToBlocks(c openai.Content, param string) ([]block, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []block{{Type: "text", Text: c.Text}}, nil
	}
	var out []block
	for j, p := range c.Parts {
		pp := fmt.Sprintf("%s[%d]", param, j)
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, block{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, invalid(pp+".image_url", "image_url part without an image_url")
			}
			src, err := imageFromURL(p.ImageURL.URL, pp+".image_url.url")
			if err != nil {
				return nil, err
			}
			out = append(out, block{Type: "image", Source: src, CacheControl: p.CacheControl})
		default:
			return nil, invalid(pp+".type", fmt.Sprintf("content part type %q is not supported by Anthropic", p.Type))
		}
	}
	return out, nil
}

// imageFromURL accepts a base64 data: URL or an http(s) URL.
func imageFromURL(u, param string) (*imageSource, error) {
	if mediaType, data, isData, ok := openai.ParseDataURL(u); isData {
		if !ok {
			return nil, invalid(param, "image data URL must look like data:<media type>;base64,<data>")
		}
		if _, err := base64.StdEncoding.DecodeString(data); err != nil {
			return nil, invalid(param, "image data URL is not valid base64")
		}
		return &imageSource{Type: "base64", MediaType: mediaType, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &imageSource{Type: "url", URL: u}, nil
	}
	return nil, invalid(param, "image URL must be an http(s) URL or a base64 data URL")
}

// assistantBlocks converts an assistant message: its thinking blocks, its
// text, then a tool_use block per tool call.
func assistantBlocks(m openai.Message, i int) ([]block, error) {
	var out []block
	for j, tb := range m.ThinkingBlocks {
		switch {
		case tb.Type == openai.ThinkingTypeThinking && tb.Signature != "":
			out = append(out, block{Type: "thinking", Thinking: tb.Thinking, Signature: tb.Signature})
		case tb.Type == openai.ThinkingTypeRedacted && tb.Data != "":
			out = append(out, block{Type: "redacted_thinking", Data: tb.Data})
		case tb.Type == openai.ThinkingTypeThinking:
			// Without its signature Anthropic refuses the block: the
			// model reasons afresh.
		default:
			return nil, invalid(fmt.Sprintf("messages[%d].thinking_blocks[%d].type", i, j),
				fmt.Sprintf("thinking block type %q is not supported", tb.Type))
		}
	}
	if m.Content.IsParts {
		for j, p := range m.Content.Parts {
			switch p.Type {
			case "text":
				if p.Text != "" {
					out = append(out, block{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
				}
			case "refusal":
				// A refused turn carries no text worth replaying.
			default:
				return nil, invalid(fmt.Sprintf("messages[%d].content[%d].type", i, j),
					fmt.Sprintf("content part type %q is not supported in assistant messages", p.Type))
			}
		}
	} else if m.Content.Text != "" {
		out = append(out, block{Type: "text", Text: m.Content.Text})
	}
	for j, tc := range m.ToolCalls {
		param := fmt.Sprintf("messages[%d].tool_calls[%d]", i, j)
		if tc.ID == "" {
			return nil, invalid(param+".id", "a tool call needs an id")
		}
		if tc.Function.Name == "" {
			return nil, invalid(param+".function.name", "a tool call needs a function name")
		}
		input, err := provider.ArgumentsObject(tc.Function.Arguments)
		if err != nil {
			return nil, invalid(param+".function.arguments", err.Error())
		}
		out = append(out, block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
	}
	return out, nil
}

// toolResult converts a role "tool" message into a tool_result block.
func toolResult(m openai.Message, i int) (block, error) {
	if m.ToolCallID == "" {
		return block{}, invalid(fmt.Sprintf("messages[%d].tool_call_id", i), "a tool message needs a tool_call_id")
	}
	b := block{Type: "tool_result", ToolUseID: m.ToolCallID}
	if !m.Content.IsParts {
		if m.Content.Text != "" {
			b.Content = m.Content.Text
		}
		return b, nil
	}
	parts, err := partsToBlocks(m.Content, fmt.Sprintf("messages[%d].content", i))
	if err != nil {
		return block{}, err
	}
	if len(parts) > 0 {
		b.Content = parts
	}
	return b, nil
}

// translateToolChoice maps OpenAI's tool_choice; nil when absent.
func translateToolChoice(r *openai.ChatRequest) (*toolChoice, error) {
	tc, err := r.ParseToolChoice()
	if err != nil {
		return nil, err
	}
	switch tc.Mode {
	case "auto", "none":
		return &toolChoice{Type: tc.Mode}, nil
	case "required":
		return &toolChoice{Type: "any"}, nil
	case "function":
		return &toolChoice{Type: "tool", Name: tc.Function}, nil
	}
	return nil, nil
}

func invalid(param, msg string) *openai.Error {
	return &openai.Error{Code: openai.CodeInvalidRequest, Param: param, Message: msg}
}
