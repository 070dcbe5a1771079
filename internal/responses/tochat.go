package responses

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
)

// unsupported is the 400 for what only a native Responses upstream serves.
func unsupported(param, what string) *openai.Error {
	return invalid(param, "%s is not supported for this model: it is served through the gateway's translation to Chat Completions, which carries messages, images, function tools and structured output (only models served by OpenAI or Azure get the full Responses API).", what)
}

// ToChat translates a Responses request into a Chat Completions request.
// history holds the items of the earlier turns when the request names a
// previous_response_id (NextHistory builds it); they come before the
// request's own input. Instructions become the first (system) message;
// function_call items become assistant tool_calls (consecutive calls share one
// assistant message), function_call_output items tool messages, input_image
// parts image_url parts. A reasoning item the translation made gives the
// next assistant message its signed thinking blocks, which Anthropic and
// Bedrock need to continue a thinking turn (its text alone is not sent:
// providers such as DeepSeek refuse reasoning_content in the history); other
// reasoning items (OpenAI's, opaque) are dropped. Its error is an
// *openai.Error (400) for what chat cannot carry: built-in tools, file
// inputs, item references, background, conversation and prompt.
func ToChat(req *Request, history []Item) (*openai.ChatRequest, error) {
	switch {
	case req.Background != nil && *req.Background:
		return nil, unsupported("background", "background mode")
	case !openai.IsNull(req.Conversation):
		return nil, unsupported("conversation", "conversation")
	case !openai.IsNull(req.Prompt):
		return nil, unsupported("prompt", "a stored prompt")
	}
	out := &openai.ChatRequest{
		Model: req.Model, Temperature: req.Temperature, TopP: req.TopP, User: req.User,
		ParallelToolCalls: req.ParallelToolCalls, Stream: req.Stream,
		// max_tokens rather than max_completion_tokens: every chat provider
		// the translation reaches reads it.
		MaxTokens: req.MaxOutputTokens,
	}
	if req.Stream {
		out.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	if req.Reasoning != nil {
		out.ReasoningEffort = req.Reasoning.Effort
	}
	if req.Instructions != nil && *req.Instructions != "" {
		out.Messages = append(out.Messages, openai.Message{Role: "system", Content: openai.TextContent(*req.Instructions)})
	}
	b := messageBuilder{msgs: out.Messages}
	for i, it := range history {
		if err := b.add(it, "previous_response_id", fmt.Sprintf("the previous response's item %d", i)); err != nil {
			return nil, err
		}
	}
	for i, it := range req.Items() {
		param := fmt.Sprintf("input[%d]", i)
		if !req.Input.List {
			param = "input"
		}
		if err := b.add(it, param, param); err != nil {
			return nil, err
		}
	}
	out.Messages = b.msgs
	if len(out.Messages) == 0 {
		return nil, invalid("input", "Invalid 'input': there is no message to answer.")
	}
	if err := chatTools(req, out); err != nil {
		return nil, err
	}
	if err := chatFormat(req, out); err != nil {
		return nil, err
	}
	return out, nil
}

// messageBuilder folds items into chat messages.
type messageBuilder struct {
	msgs []openai.Message
	// callsOpen marks that the last message is an assistant message that
	// function_call items may join.
	callsOpen bool
	// thinking holds the thinking blocks of translated reasoning items, for
	// the next assistant message.
	thinking []openai.ThinkingBlock
}

// assistant gives the assistant message m the reasoning that came before it.
func (b *messageBuilder) assistant(m *openai.Message) {
	if len(b.thinking) > 0 {
		m.ThinkingBlocks, b.thinking = b.thinking, nil
	}
}

// add folds one item in; param names it in errors, what in messages.
func (b *messageBuilder) add(it Item, param, what string) *openai.Error {
	switch it.Type {
	case TypeMessage:
		m, err := chatMessage(it, param)
		if err != nil {
			return err
		}
		if m.Role == "assistant" {
			b.assistant(&m)
		}
		b.msgs = append(b.msgs, m)
		b.callsOpen = m.Role == "assistant"
	case TypeFunctionCall:
		call := openai.ToolCall{ID: it.CallID, Type: "function",
			Function: openai.FunctionCall{Name: it.Name, Arguments: it.Arguments}}
		if b.callsOpen {
			last := &b.msgs[len(b.msgs)-1]
			last.ToolCalls = append(last.ToolCalls, call)
			return nil
		}
		m := openai.Message{Role: "assistant", Content: openai.Content{IsNull: true}, ToolCalls: []openai.ToolCall{call}}
		b.assistant(&m)
		b.msgs = append(b.msgs, m)
		b.callsOpen = true
	case TypeFunctionCallOutput:
		content, err := toolOutput(it.Output, param+".output")
		if err != nil {
			return err
		}
		b.msgs = append(b.msgs, openai.Message{Role: "tool", ToolCallID: it.CallID, Content: content})
		b.callsOpen = false
	case TypeReasoning:
		// OpenAI's reasoning items mean nothing to another provider: the
		// model reasons afresh. The translation's own carry the thinking.
		if _, blocks, ok := translatedReasoning(it); ok && len(blocks) > 0 {
			b.thinking = append(b.thinking, blocks...)
			b.callsOpen = false
		}
	case TypeItemReference:
		return unsupported(param, fmt.Sprintf("%s is an item_reference, which", what))
	default:
		return unsupported(param, fmt.Sprintf("%s is a %q item, which", what, it.Type))
	}
	return nil
}

// chatMessage translates a message item.
func chatMessage(it Item, param string) (openai.Message, *openai.Error) {
	m := openai.Message{Role: it.Role}
	if !it.Content.List {
		m.Content = openai.TextContent(it.Content.Text)
		return m, nil
	}
	if it.Role == "assistant" {
		// History: the text of output_text parts, and any refusal.
		var text, refusal strings.Builder
		for _, p := range it.Content.Parts {
			switch p.Type {
			case PartOutputText, PartInputText:
				text.WriteString(p.Text)
			case PartRefusal:
				refusal.WriteString(p.Refusal)
			}
		}
		m.Content = openai.TextContent(text.String())
		m.Refusal = refusal.String()
		return m, nil
	}
	parts := make([]openai.ContentPart, 0, len(it.Content.Parts))
	allText := true
	for j, p := range it.Content.Parts {
		cp, err := chatPart(p, fmt.Sprintf("%s.content[%d]", param, j))
		if err != nil {
			return m, err
		}
		allText = allText && cp.Type == "text"
		parts = append(parts, cp)
	}
	switch {
	case allText && (len(parts) == 1 || m.Role != "user"):
		// A string is what every provider takes, and the only form many take
		// for system messages.
		texts := make([]string, len(parts))
		for i, p := range parts {
			texts[i] = p.Text
		}
		m.Content = openai.TextContent(strings.Join(texts, "\n\n"))
	default:
		m.Content = openai.Content{IsParts: true, Parts: parts}
	}
	return m, nil
}

// chatPart translates one input part.
func chatPart(p Part, param string) (openai.ContentPart, *openai.Error) {
	switch p.Type {
	case PartInputText, PartOutputText:
		return openai.ContentPart{Type: "text", Text: p.Text}, nil
	case PartInputImage:
		if p.ImageURL == "" {
			return openai.ContentPart{}, unsupported(param+".file_id", "An input_image given by file_id (send image_url, an https or data: URL)")
		}
		return openai.ContentPart{Type: "image_url", ImageURL: &openai.ImageURL{URL: p.ImageURL, Detail: chatDetail(p.Detail)}}, nil
	case PartInputFile:
		return openai.ContentPart{}, unsupported(param, "An input_file part")
	}
	return openai.ContentPart{}, unsupported(param+".type", fmt.Sprintf("A %q content part", p.Type))
}

// chatDetail maps the image detail: chat knows auto, low and high.
func chatDetail(d string) string {
	switch d {
	case "low", "high":
		return d
	case "original":
		return "high"
	}
	return ""
}

// toolOutput translates a function_call_output's output: a string, or text
// parts (chat tool messages carry no images).
func toolOutput(c Content, param string) (openai.Content, *openai.Error) {
	if !c.List {
		return openai.TextContent(c.Text), nil
	}
	var text strings.Builder
	for j, p := range c.Parts {
		if p.Type != PartInputText {
			return openai.Content{}, unsupported(fmt.Sprintf("%s[%d].type", param, j), fmt.Sprintf("A %q part in a function_call_output", p.Type))
		}
		text.WriteString(p.Text)
	}
	return openai.TextContent(text.String()), nil
}

// chatTools maps tools, tool_choice (allowed_tools by narrowing the tools)
// and refuses built-in tools.
func chatTools(req *Request, out *openai.ChatRequest) *openai.Error {
	names := map[string]bool{}
	for i, t := range req.Tools {
		if t.Type != "function" {
			return unsupported(fmt.Sprintf("tools[%d].type", i), fmt.Sprintf("The built-in tool %q", t.Type))
		}
		names[t.Name] = true
		out.Tools = append(out.Tools, openai.Tool{Type: "function", Function: openai.FunctionSpec{
			Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict}})
	}
	tc, err := ParseToolChoice(req.ToolChoice)
	if err != nil {
		return err
	}
	switch tc.Type {
	case "":
		if tc.Mode != "" {
			out.ToolChoice = json.RawMessage(`"` + tc.Mode + `"`)
		}
	case "function":
		if !names[tc.Name] {
			return invalid("tool_choice.name", "Invalid 'tool_choice.name': no function named %q is in tools.", tc.Name)
		}
		out.ToolChoice, _ = marshal(chatToolChoice{Type: "function", Function: chatFunctionName{Name: tc.Name}})
	case "allowed_tools":
		allowed := map[string]bool{}
		for j, raw := range tc.Allowed {
			var a struct {
				Type string `json:"type"`
				Name string `json:"name"`
			}
			_ = json.Unmarshal(raw, &a)
			if a.Type != "function" {
				return unsupported(fmt.Sprintf("tool_choice.tools[%d]", j), fmt.Sprintf("The built-in tool %q", a.Type))
			}
			allowed[a.Name] = true
		}
		kept := out.Tools[:0]
		for _, t := range out.Tools {
			if allowed[t.Function.Name] {
				kept = append(kept, t)
			}
		}
		out.Tools = kept
		out.ToolChoice = json.RawMessage(`"` + tc.Mode + `"`)
	default:
		return unsupported("tool_choice.type", fmt.Sprintf("A tool_choice of the built-in tool %q", tc.Type))
	}
	if len(out.Tools) == 0 {
		// The Responses API takes these without tools; chat refuses them.
		out.ToolChoice, out.ParallelToolCalls = nil, nil
	}
	return nil
}

// chatToolChoice is chat's {"type":"function","function":{"name":...}}.
type chatToolChoice struct {
	Type     string           `json:"type"`
	Function chatFunctionName `json:"function"`
}

type chatFunctionName struct {
	Name string `json:"name"`
}

// chatFormat maps text.format to response_format.
func chatFormat(req *Request, out *openai.ChatRequest) *openai.Error {
	if req.Text == nil || req.Text.Format == nil {
		return nil
	}
	f := req.Text.Format
	switch f.Type {
	case "json_object":
		out.ResponseFormat = &openai.ResponseFormat{Type: "json_object"}
	case "json_schema":
		out.ResponseFormat = &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.JSONSchemaSpec{
			Name: f.Name, Description: f.Description, Schema: f.Schema, Strict: f.Strict}}
	}
	return nil
}
