package cohere

import (
	"encoding/json"
	"fmt"

	"github.com/aigateway/gateway/internal/openai"
)

// chatRequest is the body of POST /v2/chat.
type chatRequest struct {
	Model            string          `json:"model"`
	Messages         []message       `json:"messages"`
	Tools            []tool          `json:"tools,omitempty"`
	ToolChoice       string          `json:"tool_choice,omitempty"`
	Temperature      *float64        `json:"temperature,omitempty"`
	P                *float64        `json:"p,omitempty"`
	MaxTokens        *int            `json:"max_tokens,omitempty"`
	StopSequences    []string        `json:"stop_sequences,omitempty"`
	Seed             *int64          `json:"seed,omitempty"`
	FrequencyPenalty *float64        `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64        `json:"presence_penalty,omitempty"`
	ResponseFormat   *responseFormat `json:"response_format,omitempty"`
	Stream           bool            `json:"stream,omitempty"`
}

// message is one v2 chat message. Content is a string or a []contentPart;
// nil leaves it out (an assistant turn that only calls tools).
type message struct {
	Role       string     `json:"role"`
	Content    any        `json:"content,omitempty"`
	ToolPlan   string     `json:"tool_plan,omitempty"`
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

type tool struct {
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

// toolCall is a tool call in a request, a response, or a stream event (where
// only some fields are set).
type toolCall struct {
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function toolCallFunc `json:"function"`
}

type toolCallFunc struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type responseFormat struct {
	Type       string          `json:"type"`
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

// emptyParameters is sent for a function declared without parameters.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// translateRequest maps an OpenAI chat request onto Cohere's v2 chat body.
// Fields Cohere has no equivalent for (logit_bias, logprobs, user, metadata,
// parallel_tool_calls, reasoning_effort) are dropped.
func translateRequest(model string, in *openai.ChatRequest) (*chatRequest, *openai.Error) {
	if in.N != nil && *in.N > 1 {
		return nil, invalid("n", "Cohere returns one choice per request: n must be 1")
	}
	out := &chatRequest{
		Model:            model,
		Temperature:      in.Temperature,
		P:                in.TopP,
		StopSequences:    in.Stop,
		Seed:             in.Seed,
		FrequencyPenalty: in.FrequencyPenalty,
		PresencePenalty:  in.PresencePenalty,
	}
	if n := in.MaxOutputTokens(); n > 0 {
		out.MaxTokens = &n
	}
	for i, m := range in.Messages {
		cm, err := translateMessage(i, m)
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, cm)
	}
	for i, t := range in.Tools {
		if t.Type != "" && t.Type != "function" {
			return nil, invalid(fmt.Sprintf("tools[%d].type", i), "Cohere supports only function tools, not %q", t.Type)
		}
		params := t.Function.Parameters
		if openai.IsNull(params) {
			params = emptyParameters
		}
		out.Tools = append(out.Tools, tool{Type: "function", Function: toolFunction{
			Name: t.Function.Name, Description: t.Function.Description, Parameters: params,
		}})
	}
	if err := applyToolChoice(out, in); err != nil {
		return nil, err
	}
	if rf := in.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object":
			out.ResponseFormat = &responseFormat{Type: "json_object"}
		case "json_schema":
			out.ResponseFormat = &responseFormat{Type: "json_object"}
			if rf.JSONSchema != nil && len(rf.JSONSchema.Schema) > 0 {
				out.ResponseFormat.JSONSchema = rf.JSONSchema.Schema
			}
		default:
			return nil, invalid("response_format.type", "unknown response_format type %q", rf.Type)
		}
	}
	return out, nil
}

func translateMessage(i int, m openai.Message) (message, *openai.Error) {
	param := fmt.Sprintf("messages[%d]", i)
	switch m.Role {
	case "system", "developer":
		text, err := textOnly(param, m.Content)
		if err != nil {
			return message{}, err
		}
		return message{Role: "system", Content: text}, nil
	case "user":
		if !m.Content.IsParts {
			return message{Role: "user", Content: m.Content.Text}, nil
		}
		parts := make([]contentPart, 0, len(m.Content.Parts))
		for j, p := range m.Content.Parts {
			switch p.Type {
			case "text":
				if p.Text != "" {
					parts = append(parts, contentPart{Type: "text", Text: p.Text})
				}
			case "image_url":
				if p.ImageURL == nil || p.ImageURL.URL == "" {
					return message{}, invalid(fmt.Sprintf("%s.content[%d].image_url", param, j), "image_url part without a url")
				}
				parts = append(parts, contentPart{Type: "image_url", ImageURL: &imageURL{URL: p.ImageURL.URL, Detail: p.ImageURL.Detail}})
			default:
				return message{}, invalid(fmt.Sprintf("%s.content[%d].type", param, j), "Cohere does not accept %q content parts", p.Type)
			}
		}
		return message{Role: "user", Content: parts}, nil
	case "assistant":
		text, err := textOnly(param, m.Content)
		if err != nil {
			return message{}, err
		}
		if len(m.ToolCalls) == 0 {
			return message{Role: "assistant", Content: text}, nil
		}
		// Cohere keeps the text that goes with tool calls as the tool plan.
		out := message{Role: "assistant", ToolPlan: text}
		for j, tc := range m.ToolCalls {
			if tc.ID == "" || tc.Function.Name == "" {
				return message{}, invalid(fmt.Sprintf("%s.tool_calls[%d]", param, j), "a tool call needs an id and a function name")
			}
			args := tc.Function.Arguments
			if args == "" {
				args = "{}"
			}
			out.ToolCalls = append(out.ToolCalls, toolCall{ID: tc.ID, Type: "function",
				Function: toolCallFunc{Name: tc.Function.Name, Arguments: args}})
		}
		return out, nil
	case "tool":
		if m.ToolCallID == "" {
			return message{}, invalid(param+".tool_call_id", "a tool message needs tool_call_id")
		}
		text, err := textOnly(param, m.Content)
		if err != nil {
			return message{}, err
		}
		return message{Role: "tool", ToolCallID: m.ToolCallID, Content: text}, nil
	default:
		return message{}, invalid(param+".role", "Cohere does not accept messages with role %q", m.Role)
	}
}

// textOnly returns the text of a message that may only carry text.
func textOnly(param string, c openai.Content) (string, *openai.Error) {
	for j, p := range c.Parts {
		if p.Type != "text" {
			return "", invalid(fmt.Sprintf("%s.content[%d].type", param, j), "only text content is accepted in this message, not %q", p.Type)
		}
	}
	return c.AllText(), nil
}

// applyToolChoice maps tool_choice. Cohere has REQUIRED and NONE (auto is
// its default); a named function becomes REQUIRED with that one tool offered.
func applyToolChoice(out *chatRequest, in *openai.ChatRequest) *openai.Error {
	tc, err := in.ParseToolChoice()
	if err != nil {
		return err
	}
	switch tc.Mode {
	case "required":
		if len(out.Tools) == 0 {
			return invalid("tool_choice", `tool_choice "required" needs tools`)
		}
		out.ToolChoice = "REQUIRED"
	case "none":
		if len(out.Tools) > 0 {
			out.ToolChoice = "NONE"
		}
	case "function":
		for _, t := range out.Tools {
			if t.Function.Name == tc.Function {
				out.Tools = []tool{t}
				out.ToolChoice = "REQUIRED"
				return nil
			}
		}
		return invalid("tool_choice", "tool_choice names function %q, which is not in tools", tc.Function)
	}
	return nil
}
