package messages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
)

// The reasoning_effort a thinking budget maps to: below LowEffortBudget is
// "low", below HighEffortBudget "medium", else "high". Claude Code's "think"
// (4,000 tokens) is low, "think harder" (10,000) medium, "ultrathink"
// (31,999) high.
const (
	LowEffortBudget  = 4096
	HighEffortBudget = 16384
)

// ToChat translates a Messages request into the gateway's chat request, for
// providers that are not Anthropic. The model is the client's model name.
//
//   - system (string or blocks) becomes one system message, its blocks joined
//     by blank lines;
//   - a user turn's text and image blocks become content parts (a lone text
//     block a string); an image is an image_url, a base64 source as a data:
//     URL; a plain-text document becomes text;
//   - a user turn's tool_result blocks become tool messages, in order, ahead
//     of a user message with the turn's other blocks (chat needs the tool
//     messages right after the assistant's calls). A tool result's images
//     join that user message; an is_error result's text starts "Error: ";
//   - an assistant turn's text blocks become its content (joined by blank
//     lines) and its tool_use blocks its tool_calls, input as the arguments
//     string; thinking and redacted_thinking blocks are dropped (their
//     signatures mean something only to Anthropic);
//   - tools become function tools; tool_choice auto/any/tool/none becomes
//     "auto"/"required"/the named function/"none", and
//     disable_parallel_tool_use parallel_tool_calls false (both only with
//     tools, as chat requires);
//   - stop_sequences become stop, max_tokens max_tokens, metadata.user_id
//     user; stream asks for the usage chunk;
//   - thinking enabled becomes reasoning_effort by budget (see
//     LowEffortBudget); disabled and adaptive set none.
//
// top_k has no chat counterpart and is dropped, as is cache_control: the
// chat form has one (openai.CacheControl), but the chat request also goes,
// as it is, to OpenAI-protocol providers, which refuse fields they do not
// know; the providers that cache on a breakpoint get the Messages request
// natively. Dropped lists what a request loses. Blocks and tools chat cannot express (PDF and
// file documents, server tools, server tool results) are a 400 naming them.
func ToChat(r *Request) (*openai.ChatRequest, error) {
	out := &openai.ChatRequest{
		Model:       r.Model,
		Temperature: r.Temperature,
		TopP:        r.TopP,
		Stream:      r.Stream,
	}
	if r.MaxTokens > 0 {
		out.MaxTokens = openai.Ptr(r.MaxTokens)
	}
	if r.Stream {
		out.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	if len(r.StopSequences) > 0 {
		out.Stop = openai.Stop(append([]string(nil), r.StopSequences...))
	}
	if r.Metadata != nil {
		out.User = r.Metadata.UserID
	}
	if r.Thinking != nil && r.Thinking.Type == "enabled" {
		out.ReasoningEffort = effort(r.Thinking.BudgetTokens)
	}

	system := make([]string, 0, len(r.System))
	for _, b := range r.System {
		system = append(system, b.Text)
	}
	if s := join(system, "\n\n"); s != "" {
		out.Messages = append(out.Messages, openai.Message{Role: "system", Content: openai.TextContent(s)})
	}
	for i, m := range r.Messages {
		path := fmt.Sprintf("messages.%d", i)
		var msgs []openai.Message
		var err *Error
		switch m.Role {
		case "assistant":
			msgs, err = assistantMessage(m.Content, path)
		case "system":
			msgs, err = systemMessage(m.Content, path)
		default:
			msgs, err = userMessages(m.Content, path)
		}
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, msgs...)
	}

	for i, t := range r.Tools {
		if !t.IsClientTool() {
			return nil, invalidf("tools.%d: tool type %q is one of Anthropic's server tools, which only Anthropic models run", i, t.Type)
		}
		out.Tools = append(out.Tools, openai.Tool{Type: "function", Function: openai.FunctionSpec{
			Name: t.Name, Description: t.Description, Parameters: t.InputSchema,
		}})
	}
	if tc := r.ToolChoice; tc != nil && len(out.Tools) > 0 {
		switch tc.Type {
		case "auto":
			out.ToolChoice = json.RawMessage(`"auto"`)
		case "any":
			out.ToolChoice = json.RawMessage(`"required"`)
		case "none":
			out.ToolChoice = json.RawMessage(`"none"`)
		case "tool":
			out.ToolChoice = mustMarshal(map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}})
		}
		if tc.DisableParallelToolUse && tc.Type != "none" {
			out.ParallelToolCalls = openai.Ptr(false)
		}
	}
	return out, nil
}

// effort maps a thinking budget to a reasoning effort.
func effort(budget int) string {
	switch {
	case budget < LowEffortBudget:
		return "low"
	case budget < HighEffortBudget:
		return "medium"
	default:
		return "high"
	}
}

// userMessages translates a user turn: its tool results as tool messages,
// then a user message with everything else.
func userMessages(blocks []Block, path string) ([]openai.Message, *Error) {
	var tools []openai.Message
	var parts []openai.ContentPart
	for j, b := range blocks {
		bp := fmt.Sprintf("%s.content.%d", path, j)
		switch b.Type {
		case BlockToolResult:
			text, images, err := toolResultContent(b, bp)
			if err != nil {
				return nil, err
			}
			tools = append(tools, openai.Message{Role: "tool", ToolCallID: b.ToolUseID, Content: openai.TextContent(text)})
			parts = append(parts, images...)
		case BlockThinking, BlockRedactedThinking:
			// Only assistant turns carry thinking; nothing to send.
		default:
			p, ok, err := contentPart(b, bp)
			if err != nil {
				return nil, err
			}
			if ok {
				parts = append(parts, p)
			}
		}
	}
	out := tools
	switch {
	case len(parts) == 1 && parts[0].Type == "text":
		out = append(out, openai.Message{Role: "user", Content: openai.TextContent(parts[0].Text)})
	case len(parts) > 0:
		out = append(out, openai.Message{Role: "user", Content: openai.Content{Parts: parts, IsParts: true}})
	case len(tools) == 0:
		// An empty user turn stays a turn: dropping it could join two
		// assistant turns.
		out = append(out, openai.Message{Role: "user", Content: openai.TextContent("")})
	}
	return out, nil
}

// contentPart translates a text, image or plain-text document block; ok is
// false for an empty text block, which chat providers refuse.
func contentPart(b Block, path string) (openai.ContentPart, bool, *Error) {
	switch b.Type {
	case BlockText:
		return openai.ContentPart{Type: "text", Text: b.Text}, b.Text != "", nil
	case BlockImage:
		u, err := imageURL(b.Source, path)
		if err != nil {
			return openai.ContentPart{}, false, err
		}
		return openai.ContentPart{Type: "image_url", ImageURL: &openai.ImageURL{URL: u}}, true, nil
	case BlockDocument:
		if b.Source.Type == "text" {
			return openai.ContentPart{Type: "text", Text: b.Source.Data}, b.Source.Data != "", nil
		}
		return openai.ContentPart{}, false, invalidf("%s.source.type: a %q document can only be sent to Anthropic models; send plain-text documents (source type \"text\") to others", path, b.Source.Type)
	}
	return openai.ContentPart{}, false, invalidf("%s.type: content block type %q can only be sent to Anthropic models", path, b.Type)
}

// imageURL is the image_url of an image source.
func imageURL(s *Source, path string) (string, *Error) {
	switch s.Type {
	case "base64":
		return "data:" + s.MediaType + ";base64," + s.Data, nil
	case "url":
		return s.URL, nil
	}
	return "", invalidf("%s.source.type: image source type %q can only be sent to Anthropic models; use \"base64\" or \"url\"", path, s.Type)
}

// toolResultContent splits a tool result's content into the tool message's
// text and the images that must travel in a user message.
func toolResultContent(b Block, path string) (string, []openai.ContentPart, *Error) {
	var texts []string
	var images []openai.ContentPart
	for k, c := range b.Content {
		cp := fmt.Sprintf("%s.content.%d", path, k)
		p, ok, err := contentPart(c, cp)
		if err != nil {
			return "", nil, err
		}
		switch {
		case !ok:
		case p.Type == "text":
			texts = append(texts, p.Text)
		default:
			images = append(images, p)
		}
	}
	text := join(texts, "\n\n")
	if len(images) > 0 {
		note := fmt.Sprintf("(The tool result's %d image(s) follow in the next user message.)", len(images))
		text = join([]string{text, note}, "\n\n")
	}
	if b.IsError {
		text = strings.TrimSpace("Error: " + text)
	}
	return text, images, nil
}

// assistantMessage translates an assistant turn into one message.
func assistantMessage(blocks []Block, path string) ([]openai.Message, *Error) {
	var texts []string
	var calls []openai.ToolCall
	for j, b := range blocks {
		bp := fmt.Sprintf("%s.content.%d", path, j)
		switch b.Type {
		case BlockText:
			texts = append(texts, b.Text)
		case BlockToolUse:
			var args bytes.Buffer
			if err := json.Compact(&args, b.Input); err != nil {
				return nil, invalidf("%s.input: Input should be a valid dictionary", bp)
			}
			calls = append(calls, openai.ToolCall{ID: b.ID, Type: "function",
				Function: openai.FunctionCall{Name: b.Name, Arguments: args.String()}})
		case BlockThinking, BlockRedactedThinking:
			// Dropped: see ToChat.
		default:
			return nil, invalidf("%s.type: content block type %q in an assistant turn can only be sent to Anthropic models", bp, b.Type)
		}
	}
	m := openai.Message{Role: "assistant", Content: openai.TextContent(join(texts, "\n\n")), ToolCalls: calls}
	if len(calls) > 0 && m.Content.Text == "" {
		m.Content = openai.Content{IsNull: true}
	}
	return []openai.Message{m}, nil
}

// systemMessage translates a "system" turn inside messages.
func systemMessage(blocks []Block, path string) ([]openai.Message, *Error) {
	var texts []string
	for j, b := range blocks {
		if b.Type != BlockText {
			return nil, invalidf("%s.content.%d.type: a system turn holds only text blocks", path, j)
		}
		texts = append(texts, b.Text)
	}
	return []openai.Message{{Role: "system", Content: openai.TextContent(join(texts, "\n\n"))}}, nil
}

// Dropped lists the parameters of r that ToChat cannot carry to a chat
// provider and leaves out: "top_k", "cache_control", "thinking_blocks"
// (thinking and redacted_thinking blocks in the turns). The gateway reports
// them in a response header and the log line, so the names are tokens.
func Dropped(r *Request) []string {
	var out []string
	if r.TopK != nil {
		out = append(out, "top_k")
	}
	cache, thinking := false, false
	for _, b := range r.System {
		cache = cache || b.CacheControl != nil
	}
	for _, t := range r.Tools {
		cache = cache || t.CacheControl != nil
	}
	var visit func(bs []Block)
	visit = func(bs []Block) {
		for _, b := range bs {
			cache = cache || b.CacheControl != nil
			thinking = thinking || b.Type == BlockThinking || b.Type == BlockRedactedThinking
			visit(b.Content)
		}
	}
	for _, m := range r.Messages {
		visit(m.Content)
	}
	if cache {
		out = append(out, "cache_control")
	}
	if thinking {
		out = append(out, "thinking_blocks")
	}
	return out
}

// join joins the non-empty strings of parts with sep.
func join(parts []string, sep string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}
