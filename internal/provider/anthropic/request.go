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
	Model         string      `json:"model"`
	MaxTokens     int         `json:"max_tokens"`
	System        string      `json:"system,omitempty"`
	Messages      []message   `json:"messages"`
	Temperature   *float64    `json:"temperature,omitempty"`
	TopP          *float64    `json:"top_p,omitempty"`
	StopSequences []string    `json:"stop_sequences,omitempty"`
	Metadata      *metadata   `json:"metadata,omitempty"`
	Tools         []tool      `json:"tools,omitempty"`
	ToolChoice    *toolChoice `json:"tool_choice,omitempty"`
	Stream        bool        `json:"stream,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

// message is one turn. Content is always an array of blocks.
type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is one content block of a request: text, image, tool_use or tool_result.
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
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
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
// Parameters without a Messages counterpart (presence and frequency
// penalties, seed, logit_bias, logprobs, reasoning_effort) are dropped.
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
	if out.MaxTokens == 0 {
		out.MaxTokens = DefaultMaxTokens
	}
	if r.User != "" {
		out.Metadata = &metadata{UserID: r.User}
	}

	var system []string
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer":
			if s := m.Content.AllText(); s != "" {
				system = append(system, s)
			}
		case "user":
			blocks, err := partsToBlocks(m.Content, fmt.Sprintf("messages[%d].content", i))
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, "user", blocks)
		case "assistant":
			blocks, err := assistantBlocks(m, i)
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, "assistant", blocks)
		case "tool":
			b, err := toolResult(m, i)
			if err != nil {
				return nil, err
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
		switch rf.Type {
		case "json_object":
			system = append(system, "Respond only with a valid JSON object, without any text around it.")
		case "json_schema":
			if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
				system = append(system, "Respond only with a valid JSON object, without any text around it.")
			} else {
				var schema bytes.Buffer
				if err := json.Compact(&schema, rf.JSONSchema.Schema); err != nil {
					return nil, invalid("response_format.json_schema.schema", "schema is not valid JSON")
				}
				system = append(system, "Respond only with a JSON value that conforms to this JSON schema, without any text around it: "+schema.String())
			}
		case "", "text":
		default:
			return nil, invalid("response_format.type", fmt.Sprintf("response_format type %q is not supported", rf.Type))
		}
	}
	out.System = strings.Join(system, "\n\n")

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
		out.Tools = append(out.Tools, tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
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
	return out, nil
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
				out = append(out, block{Type: "text", Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, invalid(pp+".image_url", "image_url part without an image_url")
			}
			src, err := imageFromURL(p.ImageURL.URL, pp+".image_url.url")
			if err != nil {
				return nil, err
			}
			out = append(out, block{Type: "image", Source: src})
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

// assistantBlocks converts an assistant message: its text, then a tool_use
// block per tool call.
func assistantBlocks(m openai.Message, i int) ([]block, error) {
	var out []block
	if m.Content.IsParts {
		for j, p := range m.Content.Parts {
			switch p.Type {
			case "text":
				if p.Text != "" {
					out = append(out, block{Type: "text", Text: p.Text})
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
