package bedrock

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	smithydocument "github.com/aws/smithy-go/document"
	smithydocumentjson "github.com/aws/smithy-go/document/json"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// converseRequest holds the fields Converse and ConverseStream share.
type converseRequest struct {
	modelID   string
	system    []types.SystemContentBlock
	messages  []types.Message
	inference *types.InferenceConfiguration
	tools     *types.ToolConfiguration
	// additional are the model's own request fields (Claude's thinking).
	additional document.Interface
	// jsonTool is the name of the tool that carries a response_format
	// answer ("" when there is none): its input is the answer's content.
	jsonTool string
	// thinkingOn records that Claude's thinking is on, which refuses a
	// forced tool.
	thinkingOn bool
}

func (c *converseRequest) converseInput() *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{
		ModelId:                      aws.String(c.modelID),
		System:                       c.system,
		Messages:                     c.messages,
		InferenceConfig:              c.inference,
		ToolConfig:                   c.tools,
		AdditionalModelRequestFields: c.additional,
	}
}

func (c *converseRequest) converseStreamInput() *bedrockruntime.ConverseStreamInput {
	return &bedrockruntime.ConverseStreamInput{
		ModelId:                      aws.String(c.modelID),
		System:                       c.system,
		Messages:                     c.messages,
		InferenceConfig:              c.inference,
		ToolConfig:                   c.tools,
		AdditionalModelRequestFields: c.additional,
	}
}

// JSONTool is the tool a response_format becomes: the model is made to call
// it, and its input is the answer.
const JSONTool = "json_response"

// invalid is the 400 for a request Bedrock cannot be given.
func invalid(param, format string, args ...any) *openai.Error {
	return &openai.Error{Code: openai.CodeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

// translateRequest turns an OpenAI chat request into the fields of a Converse
// call for the upstream model.
//
// Prompt-cache breakpoints (openai.CacheControl) become cache points, each
// right after what the client marked: a system text or content part, a
// message (after its last block; a tool message's after its tool result), a
// tool definition. A one-hour ttl is kept.
//
// An assistant message's thinking_blocks go back as its first reasoning
// blocks (signed text, or redacted data given as base64), and the request's
// thinking reaches Claude models as their own request field. response_format
// is a forced tool (see responseFormat). Converse has no tool_choice "none"
// and refuses tool blocks in a request without tools (see toolsAsText).
// Tool call ids over Converse's 64 characters (Gemini's, which carry its
// thought signature) go as provider.ShortToolCallID's stand-ins.
func translateRequest(model string, body *openai.ChatRequest) (*converseRequest, error) {
	if body == nil {
		return nil, invalid("", "the request has no body")
	}
	if body.N != nil && *body.N > 1 {
		return nil, invalid("n", "provider bedrock returns one choice; n must be 1")
	}
	out := &converseRequest{modelID: model}

	for i, m := range body.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "developer":
			if hasNonText(m.Content) {
				return nil, invalid(param+".content", "%s messages may only contain text", m.Role)
			}
			out.system = append(out.system, systemBlocks(m)...)
		case "user":
			blocks, err := userBlocks(param, m.Content)
			if err != nil {
				return nil, err
			}
			if len(blocks) == 0 {
				return nil, invalid(param+".content", "user messages must not be empty")
			}
			out.appendMessage(types.ConversationRoleUser, withCachePoint(blocks, m.CacheControl))
		case "assistant":
			blocks, err := assistantBlocks(param, m)
			if err != nil {
				return nil, err
			}
			// An empty assistant turn carries nothing Bedrock would accept.
			if len(blocks) > 0 {
				out.appendMessage(types.ConversationRoleAssistant, withCachePoint(blocks, m.CacheControl))
			}
		case "tool":
			if m.ToolCallID == "" {
				return nil, invalid(param+".tool_call_id", "tool messages need a tool_call_id")
			}
			result := types.ToolResultBlock{
				ToolUseId: aws.String(provider.ShortToolCallID(m.ToolCallID, provider.MaxBedrockToolCallID)),
				Content:   []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: m.Content.AllText()}},
			}
			// Tool results go back as a user turn; consecutive results share it.
			out.appendMessage(types.ConversationRoleUser, withCachePoint(
				[]types.ContentBlock{&types.ContentBlockMemberToolResult{Value: result}}, m.CacheControl))
		default:
			return nil, invalid(param+".role", "provider bedrock does not support the message role %q", m.Role)
		}
	}
	if len(out.messages) == 0 {
		return nil, invalid("messages", "the request needs at least one user or assistant message")
	}

	inf, err := inferenceConfig(body)
	if err != nil {
		return nil, err
	}
	out.inference = inf

	if err := out.thinking(body); err != nil {
		return nil, err
	}

	tools, err := toolConfig(body)
	if err != nil {
		return nil, err
	}
	out.tools = tools
	if err := out.responseFormat(body); err != nil {
		return nil, err
	}
	if out.tools == nil {
		out.toolsAsText()
	}
	return out, nil
}

// isClaude reports whether a model id (or inference profile) is one of
// Anthropic's Claude models.
func isClaude(model string) bool { return strings.Contains(strings.ToLower(model), "claude") }

// thinking passes the request's thinking setting to Claude models as their
// own request field; max_tokens, when the client set none, defaults above
// its budget. Without one, reasoning_effort becomes it (see
// reasoningEffort). Other models ignore both.
func (c *converseRequest) thinking(body *openai.ChatRequest) error {
	if !isClaude(c.modelID) {
		return nil
	}
	if openai.IsNull(body.Thinking) {
		return c.reasoningEffort(body)
	}
	th, err := jsonValue(string(body.Thinking))
	if _, isObject := th.(map[string]any); err != nil || !isObject {
		return invalid("thinking", "thinking must be a JSON object like {\"type\":\"enabled\",\"budget_tokens\":2048}")
	}
	c.additional = document.NewLazyDocument(map[string]any{"thinking": th})
	var t struct {
		Type         string `json:"type"`
		BudgetTokens int    `json:"budget_tokens"`
	}
	_ = json.Unmarshal(body.Thinking, &t) // an object: checked above
	c.thinkingOn = t.Type != "" && t.Type != "disabled"
	if t.BudgetTokens > 0 && t.BudgetTokens < math.MaxInt32-defaultMaxTokens &&
		(c.inference == nil || c.inference.MaxTokens == nil) {
		if c.inference == nil {
			c.inference = &types.InferenceConfiguration{}
		}
		c.inference.MaxTokens = aws.Int32(int32(t.BudgetTokens + defaultMaxTokens))
	}
	return nil
}

// defaultMaxTokens is the room for the answer beside a thinking budget when
// the client set no max_tokens.
const defaultMaxTokens = 4096

// reasoningEffort gives a Claude model the thinking a reasoning_effort maps
// to (provider.ClaudeReasoning: budget_tokens, or adaptive thinking with
// output_config.effort), in additionalModelRequestFields as Bedrock's Claude
// docs show it. As on Anthropic's own API, thinking refuses a budget not
// below maxTokens, a temperature other than 1, a topP below 0.95 and a
// forced tool: maxTokens is raised to the budget plus the client's limit,
// temperature and topP are dropped, and a forced tool wins (the effort is
// dropped).
func (c *converseRequest) reasoningEffort(body *openai.ChatRequest) error {
	t, on, err := provider.ClaudeReasoning(c.modelID, body.ReasoningEffort)
	if err != nil {
		return err
	}
	if !on || toolForced(body) {
		return nil
	}
	fields := map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": t.Budget}}
	if t.Adaptive {
		fields = map[string]any{"thinking": map[string]any{"type": "adaptive"}, "output_config": map[string]any{"effort": t.Effort}}
	}
	c.additional = document.NewLazyDocument(fields)
	c.thinkingOn = true
	if c.inference == nil {
		c.inference = &types.InferenceConfiguration{}
	}
	inf := c.inference
	switch {
	case inf.MaxTokens == nil:
		inf.MaxTokens = aws.Int32(int32(defaultMaxTokens + t.Budget))
	case !t.Adaptive && int(*inf.MaxTokens) <= t.Budget:
		inf.MaxTokens = aws.Int32(*inf.MaxTokens + int32(t.Budget))
	}
	if inf.Temperature != nil && *inf.Temperature != 1 {
		inf.Temperature = nil
	}
	if inf.TopP != nil && *inf.TopP < 0.95 {
		inf.TopP = nil
	}
	return nil
}

// toolForced reports whether the request makes the model call a tool.
func toolForced(body *openai.ChatRequest) bool {
	tc, err := body.ParseToolChoice()
	return err == nil && len(body.Tools) > 0 && (tc.Mode == "required" || tc.Mode == "function")
}

// responseFormat makes response_format (json_object, json_schema) a tool,
// JSONTool, whose input schema is the requested one and which the model must
// call, unless the client's own tools may be called instead: then the model
// must call one of them or JSONTool. The answer then carries JSONTool's input
// as its content (translateResponse, the stream).
//
// Models that cannot be made to call a tool (only Claude, Nova, Mistral Large
// and Cohere Command R can), and Claude with thinking on (which refuses a
// forced tool), get the schema as an instruction instead.
func (c *converseRequest) responseFormat(body *openai.ChatRequest) error {
	rf := body.ResponseFormat
	if rf == nil {
		return nil
	}
	var schema string
	switch rf.Type {
	case "", "text":
		return nil
	case "json_object":
	case "json_schema":
		if rf.JSONSchema != nil && !openai.IsNull(rf.JSONSchema.Schema) {
			schema = string(rf.JSONSchema.Schema)
		}
	default:
		return invalid("response_format.type", "response_format type %q is not supported", rf.Type)
	}
	doc, err := jsonDocument(schema, map[string]any{"type": "object"})
	if err != nil {
		return invalid("response_format.json_schema.schema", "the schema is not valid JSON: %v", err)
	}
	if !forcesTools(c.modelID) || c.thinkingOn {
		instruction := "Respond only with a valid JSON object, without any text around it."
		if schema != "" {
			var compact strings.Builder
			b, _ := doc.MarshalSmithyDocument()
			compact.Write(b)
			instruction = "Respond only with a JSON value that conforms to this JSON schema, without any text around it: " + compact.String()
		}
		c.system = append(c.system, &types.SystemContentBlockMemberText{Value: instruction})
		return nil
	}
	description := "Give the answer to the user as this tool's input. Always call this tool to answer."
	if rf.JSONSchema != nil && rf.JSONSchema.Description != "" {
		description += " The answer: " + rf.JSONSchema.Description
	}
	spec := &types.ToolMemberToolSpec{Value: types.ToolSpecification{
		Name:        aws.String(JSONTool),
		Description: aws.String(description),
		InputSchema: &types.ToolInputSchemaMemberJson{Value: doc},
	}}
	if c.tools == nil {
		c.tools = &types.ToolConfiguration{}
	}
	for _, t := range c.tools.Tools {
		if ts, ok := t.(*types.ToolMemberToolSpec); ok && aws.ToString(ts.Value.Name) == JSONTool {
			return invalid("tools", "a tool may not be named %q with a response_format: the gateway uses that name for it", JSONTool)
		}
	}
	c.tools.Tools = append(c.tools.Tools, spec)
	c.jsonTool = JSONTool
	switch c.tools.ToolChoice.(type) {
	case *types.ToolChoiceMemberTool:
		// The client named the tool to call: the answer is that call.
	default:
		if len(c.tools.Tools) == 1 {
			c.tools.ToolChoice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(JSONTool)}}
		} else {
			c.tools.ToolChoice = &types.ToolChoiceMemberAny{}
		}
	}
	return nil
}

// forcesTools reports whether Converse can make a model call a tool
// (toolChoice any or tool): Claude, Nova, Mistral Large and Command R.
func forcesTools(model string) bool {
	m := strings.ToLower(model)
	for _, family := range []string{"claude", "nova", "mistral-large", "command-r"} {
		if strings.Contains(m, family) {
			return true
		}
	}
	return false
}

// toolsAsText rewrites the tool calls and results of the history as text,
// for a request that goes without tools (tool_choice "none", or no tools
// given): Converse refuses toolUse and toolResult blocks without a
// toolConfig, and it has no "none" choice, so sending the tools would let
// the model call them. The model still reads what was called and returned.
func (c *converseRequest) toolsAsText() {
	for i, m := range c.messages {
		for j, b := range m.Content {
			switch v := b.(type) {
			case *types.ContentBlockMemberToolUse:
				args, err := toolArguments(v.Value.Input)
				if err != nil {
					args = "{}"
				}
				c.messages[i].Content[j] = &types.ContentBlockMemberText{Value: fmt.Sprintf("[tool call %s: %s(%s)]",
					aws.ToString(v.Value.ToolUseId), aws.ToString(v.Value.Name), args)}
			case *types.ContentBlockMemberToolResult:
				var text []string
				for _, rc := range v.Value.Content {
					if t, ok := rc.(*types.ToolResultContentBlockMemberText); ok {
						text = append(text, t.Value)
					}
				}
				c.messages[i].Content[j] = &types.ContentBlockMemberText{Value: fmt.Sprintf("[tool result %s: %s]",
					aws.ToString(v.Value.ToolUseId), strings.Join(text, "\n"))}
			}
		}
	}
}

// cachePoint is the cache point a cache_control asks for.
func cachePoint(cc *openai.CacheControl) types.CachePointBlock {
	cp := types.CachePointBlock{Type: types.CachePointTypeDefault}
	if cc.TTL != "" {
		cp.Ttl = types.CacheTTL(cc.TTL)
	}
	return cp
}

// withCachePoint adds a message's cache point after its blocks.
func withCachePoint(blocks []types.ContentBlock, cc *openai.CacheControl) []types.ContentBlock {
	if cc == nil || len(blocks) == 0 {
		return blocks
	}
	return append(blocks, &types.ContentBlockMemberCachePoint{Value: cachePoint(cc)})
}

// systemBlocks are a system message's blocks: its text, or, when a part is
// a cache breakpoint, each text part followed by its cache point; then the
// message's own cache point.
func systemBlocks(m openai.Message) []types.SystemContentBlock {
	var out []types.SystemContentBlock
	marked := false
	for _, p := range m.Content.Parts {
		marked = marked || p.CacheControl != nil
	}
	if marked {
		for _, p := range m.Content.Parts {
			if p.Text != "" {
				out = append(out, &types.SystemContentBlockMemberText{Value: p.Text})
			}
			if p.CacheControl != nil && len(out) > 0 {
				out = append(out, &types.SystemContentBlockMemberCachePoint{Value: cachePoint(p.CacheControl)})
			}
		}
	} else if t := m.Content.AllText(); t != "" {
		out = append(out, &types.SystemContentBlockMemberText{Value: t})
	}
	if m.CacheControl != nil && len(out) > 0 {
		out = append(out, &types.SystemContentBlockMemberCachePoint{Value: cachePoint(m.CacheControl)})
	}
	return out
}

// appendMessage adds blocks as a turn of role, merging them into the previous
// turn when it has the same role: Bedrock wants user and assistant turns to
// alternate.
func (c *converseRequest) appendMessage(role types.ConversationRole, blocks []types.ContentBlock) {
	if n := len(c.messages); n > 0 && c.messages[n-1].Role == role {
		c.messages[n-1].Content = append(c.messages[n-1].Content, blocks...)
		return
	}
	c.messages = append(c.messages, types.Message{Role: role, Content: blocks})
}

func hasNonText(c openai.Content) bool {
	for _, p := range c.Parts {
		if p.Type != "text" {
			return true
		}
	}
	return false
}

func userBlocks(param string, c openai.Content) ([]types.ContentBlock, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []types.ContentBlock{&types.ContentBlockMemberText{Value: c.Text}}, nil
	}
	var blocks []types.ContentBlock
	for j, p := range c.Parts {
		pp := fmt.Sprintf("%s.content[%d]", param, j)
		switch p.Type {
		case "text":
			if p.Text != "" {
				blocks = append(blocks, &types.ContentBlockMemberText{Value: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, invalid(pp+".image_url", "image_url parts need an image_url object")
			}
			img, err := imageBlock(pp+".image_url.url", p.ImageURL.URL)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, &types.ContentBlockMemberImage{Value: img})
		default:
			return nil, invalid(pp+".type", "provider bedrock does not support %q content parts", p.Type)
		}
		if p.CacheControl != nil && len(blocks) > 0 {
			blocks = append(blocks, &types.ContentBlockMemberCachePoint{Value: cachePoint(p.CacheControl)})
		}
	}
	return blocks, nil
}

// imageBlock decodes a data: URL. Converse takes image bytes only; it cannot
// fetch a URL.
func imageBlock(param, url string) (types.ImageBlock, error) {
	mime, data, isData, ok := openai.ParseDataURL(url)
	if !isData {
		if strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://") {
			return types.ImageBlock{}, invalid(param, "provider bedrock cannot fetch image URLs; send the image inline as a data: URL (data:image/png;base64,...)")
		}
		return types.ImageBlock{}, invalid(param, "image_url.url must be a data: URL")
	}
	if !ok {
		return types.ImageBlock{}, invalid(param, "image data URLs must be base64 encoded (data:image/png;base64,...)")
	}
	var format types.ImageFormat
	switch strings.ToLower(strings.TrimSpace(mime)) {
	case "image/png":
		format = types.ImageFormatPng
	case "image/jpeg", "image/jpg":
		format = types.ImageFormatJpeg
	case "image/gif":
		format = types.ImageFormatGif
	case "image/webp":
		format = types.ImageFormatWebp
	default:
		return types.ImageBlock{}, invalid(param, "provider bedrock accepts png, jpeg, gif and webp images, not %q", mime)
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(data)
	}
	if err != nil || len(b) == 0 {
		return types.ImageBlock{}, invalid(param, "the image data URL is not valid base64")
	}
	return types.ImageBlock{Format: format, Source: &types.ImageSourceMemberBytes{Value: b}}, nil
}

func assistantBlocks(param string, m openai.Message) ([]types.ContentBlock, error) {
	var blocks []types.ContentBlock
	if hasNonText(m.Content) {
		return nil, invalid(param+".content", "assistant messages may only contain text")
	}
	for j, tb := range m.ThinkingBlocks {
		pp := fmt.Sprintf("%s.thinking_blocks[%d]", param, j)
		switch {
		case tb.Type == openai.ThinkingTypeThinking && tb.Signature != "":
			blocks = append(blocks, &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{
				Value: types.ReasoningTextBlock{Text: aws.String(tb.Thinking), Signature: aws.String(tb.Signature)}}})
		case tb.Type == openai.ThinkingTypeRedacted && tb.Data != "":
			data, err := base64.StdEncoding.DecodeString(tb.Data)
			if err != nil {
				return nil, invalid(pp+".data", "redacted thinking data must be the base64 the gateway sent")
			}
			blocks = append(blocks, &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberRedactedContent{Value: data}})
		case tb.Type == openai.ThinkingTypeThinking:
			// Unsigned reasoning cannot be replayed: the model reasons afresh.
		default:
			return nil, invalid(pp+".type", "thinking block type %q is not supported", tb.Type)
		}
	}
	if t := m.Content.AllText(); t != "" {
		blocks = append(blocks, &types.ContentBlockMemberText{Value: t})
		for _, p := range m.Content.Parts {
			if p.CacheControl != nil {
				blocks = append(blocks, &types.ContentBlockMemberCachePoint{Value: cachePoint(p.CacheControl)})
				break
			}
		}
	}
	for j, tc := range m.ToolCalls {
		pp := fmt.Sprintf("%s.tool_calls[%d]", param, j)
		if tc.ID == "" || tc.Function.Name == "" {
			return nil, invalid(pp, "tool calls need an id and a function name")
		}
		input, err := jsonDocument(tc.Function.Arguments, map[string]any{})
		if err != nil {
			return nil, invalid(pp+".function.arguments", "tool call arguments must be JSON: %v", err)
		}
		blocks = append(blocks, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
			ToolUseId: aws.String(provider.ShortToolCallID(tc.ID, provider.MaxBedrockToolCallID)),
			Name:      aws.String(tc.Function.Name),
			Input:     input,
		}})
	}
	return blocks, nil
}

func inferenceConfig(body *openai.ChatRequest) (*types.InferenceConfiguration, error) {
	var c types.InferenceConfiguration
	set := false
	if body.MaxCompletionTokens != nil || body.MaxTokens != nil {
		n := body.MaxOutputTokens()
		if n <= 0 || n > math.MaxInt32 {
			return nil, invalid("max_tokens", "max_tokens must be a positive integer")
		}
		c.MaxTokens = aws.Int32(int32(n))
		set = true
	}
	if body.Temperature != nil {
		c.Temperature = aws.Float32(float32(*body.Temperature))
		set = true
	}
	if body.TopP != nil {
		c.TopP = aws.Float32(float32(*body.TopP))
		set = true
	}
	if len(body.Stop) > 0 {
		c.StopSequences = body.Stop
		set = true
	}
	if !set {
		return nil, nil
	}
	return &c, nil
}

func toolConfig(body *openai.ChatRequest) (*types.ToolConfiguration, error) {
	if len(body.Tools) == 0 {
		return nil, nil
	}
	tc, err := body.ParseToolChoice()
	if err != nil {
		return nil, err
	}
	choice, named := tc.Mode, tc.Function
	if choice == "none" {
		// Converse has no "none": the model only calls tools it is given.
		return nil, nil
	}
	c := &types.ToolConfiguration{}
	found := false
	for i, t := range body.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" && t.Type != "" {
			return nil, invalid(param+".type", "provider bedrock supports function tools only, not %q", t.Type)
		}
		if t.Function.Name == "" {
			return nil, invalid(param+".function.name", "tools need a function name")
		}
		schema, err := jsonDocument(string(t.Function.Parameters), map[string]any{"type": "object", "properties": map[string]any{}})
		if err != nil {
			return nil, invalid(param+".function.parameters", "tool parameters must be a JSON schema: %v", err)
		}
		spec := types.ToolSpecification{
			Name:        aws.String(t.Function.Name),
			InputSchema: &types.ToolInputSchemaMemberJson{Value: schema},
		}
		if t.Function.Description != "" {
			spec.Description = aws.String(t.Function.Description)
		}
		c.Tools = append(c.Tools, &types.ToolMemberToolSpec{Value: spec})
		if cc := t.ToolCacheControl(); cc != nil {
			c.Tools = append(c.Tools, &types.ToolMemberCachePoint{Value: cachePoint(cc)})
		}
		found = found || t.Function.Name == named
	}
	switch choice {
	case "required":
		c.ToolChoice = &types.ToolChoiceMemberAny{}
	case "function":
		if !found {
			return nil, invalid("tool_choice", "tool_choice names the function %q, which is not among the tools", named)
		}
		c.ToolChoice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(named)}}
	}
	// "auto" is Converse's default; leaving toolChoice out keeps models that
	// do not accept the field working.
	return c, nil
}

// jsonDocument parses JSON text into a document the SDK can send; empty
// text gives empty. Numbers keep their exact text.
func jsonDocument(text string, empty any) (document.Interface, error) {
	if strings.TrimSpace(text) == "" {
		return document.NewLazyDocument(empty), nil
	}
	v, err := jsonValue(text)
	if err != nil {
		return nil, err
	}
	return document.NewLazyDocument(v), nil
}

// jsonValue parses JSON text into a value a document can hold.
func jsonValue(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	v = documentValue(v)
	// The SDK drops a document it cannot encode and would send a broken
	// body, so encode once here to refuse it with a clear error instead.
	if _, err := smithydocumentjson.NewEncoder().Encode(v); err != nil {
		return nil, err
	}
	return v, nil
}

// documentValue converts json.Number (which the document encoder would
// write as a string) into the document number type, recursively.
func documentValue(v any) any {
	switch t := v.(type) {
	case json.Number:
		return smithydocument.Number(t)
	case map[string]any:
		for k, e := range t {
			t[k] = documentValue(e)
		}
	case []any:
		for i, e := range t {
			t[i] = documentValue(e)
		}
	}
	return v
}
