package messages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// MinThinkingBudget is the smallest thinking.budget_tokens Anthropic accepts.
const MinThinkingBudget = 1024

// Decode reads and validates a POST /v1/messages body. A body Anthropic
// would refuse is a 400 invalid_request_error naming the field as Anthropic
// does ("messages.0.content.1.source: Field required").
//
// Validation checks shapes and required fields, not the values Anthropic
// may extend (block and tool types, media types, models): unknown block types
// and server tools decode with their Type and Raw, so a native pass-through
// still carries them. The body is kept in Request.Raw.
func Decode(body []byte) (*Request, error) {
	r, err := decode(body, true)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DecodeCountTokens reads and validates a POST /v1/messages/count_tokens
// body: a Messages request without max_tokens (and without stream).
func DecodeCountTokens(body []byte) (*Request, error) {
	r, err := decode(body, false)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// wireRequest is the top level of a body; composite fields are decoded one
// by one so an error can name its path.
type wireRequest struct {
	Model         json.RawMessage `json:"model"`
	MaxTokens     json.RawMessage `json:"max_tokens"`
	System        json.RawMessage `json:"system"`
	Messages      json.RawMessage `json:"messages"`
	Tools         json.RawMessage `json:"tools"`
	ToolChoice    json.RawMessage `json:"tool_choice"`
	StopSequences json.RawMessage `json:"stop_sequences"`
	Temperature   json.RawMessage `json:"temperature"`
	TopP          json.RawMessage `json:"top_p"`
	TopK          json.RawMessage `json:"top_k"`
	Thinking      json.RawMessage `json:"thinking"`
	Metadata      json.RawMessage `json:"metadata"`
	Stream        json.RawMessage `json:"stream"`
}

func decode(body []byte, messagesEndpoint bool) (*Request, *Error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, invalidf("request body is empty: expected a JSON object")
	}
	if !json.Valid(trimmed) {
		return nil, invalidf("request body is not valid JSON")
	}
	if trimmed[0] != '{' {
		return nil, invalidf("request body must be a JSON object")
	}
	var w wireRequest
	if err := json.Unmarshal(trimmed, &w); err != nil {
		return nil, invalidf("request body must be a JSON object")
	}
	r := &Request{Raw: body}
	var err *Error
	if r.Model, err = requiredString(w.Model, "model"); err != nil {
		return nil, err
	}
	if r.Model == "" {
		return nil, invalidf("model: String should have at least 1 character")
	}
	if messagesEndpoint {
		if isAbsent(w.MaxTokens) {
			return nil, invalidf("max_tokens: Field required")
		}
		if r.MaxTokens, err = integer(w.MaxTokens, "max_tokens"); err != nil {
			return nil, err
		}
		if r.MaxTokens < 1 {
			return nil, invalidf("max_tokens: Input should be greater than or equal to 1")
		}
	}
	if r.System, err = decodeSystem(w.System); err != nil {
		return nil, err
	}
	if r.Messages, err = decodeMessages(w.Messages); err != nil {
		return nil, err
	}
	if r.Tools, err = decodeTools(w.Tools); err != nil {
		return nil, err
	}
	if r.ToolChoice, err = decodeToolChoice(w.ToolChoice); err != nil {
		return nil, err
	}
	if !isAbsent(w.StopSequences) {
		if jsonErr := json.Unmarshal(w.StopSequences, &r.StopSequences); jsonErr != nil {
			return nil, invalidf("stop_sequences: Input should be a valid list of strings")
		}
	}
	if r.Temperature, err = unitInterval(w.Temperature, "temperature"); err != nil {
		return nil, err
	}
	if r.TopP, err = unitInterval(w.TopP, "top_p"); err != nil {
		return nil, err
	}
	if !isAbsent(w.TopK) {
		k, err := integer(w.TopK, "top_k")
		if err != nil {
			return nil, err
		}
		if k < 0 {
			return nil, invalidf("top_k: Input should be greater than or equal to 0")
		}
		r.TopK = &k
	}
	if r.Thinking, err = decodeThinking(w.Thinking); err != nil {
		return nil, err
	}
	if !isAbsent(w.Metadata) {
		var m struct {
			UserID *string `json:"user_id"`
		}
		if !isObject(w.Metadata) || json.Unmarshal(w.Metadata, &m) != nil {
			return nil, invalidf("metadata: Input should be an object with an optional string user_id")
		}
		r.Metadata = &Metadata{}
		if m.UserID != nil {
			r.Metadata.UserID = *m.UserID
		}
	}
	if messagesEndpoint && !isAbsent(w.Stream) {
		if json.Unmarshal(w.Stream, &r.Stream) != nil {
			return nil, invalidf("stream: Input should be a valid boolean")
		}
	}
	return r, nil
}

// isAbsent reports a missing field or an explicit null.
func isAbsent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

func isArray(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '['
}

func isString(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"'
}

func requiredString(raw json.RawMessage, path string) (string, *Error) {
	if isAbsent(raw) {
		return "", invalidf("%s: Field required", path)
	}
	var s string
	if !isString(raw) || json.Unmarshal(raw, &s) != nil {
		return "", invalidf("%s: Input should be a valid string", path)
	}
	return s, nil
}

// requiredName is a required string that may not be empty (a type, an id).
func requiredName(raw json.RawMessage, path string) (string, *Error) {
	s, err := requiredString(raw, path)
	if err == nil && s == "" {
		err = invalidf("%s: String should have at least 1 character", path)
	}
	return s, err
}

func optionalString(raw json.RawMessage, path string) (string, *Error) {
	if isAbsent(raw) {
		return "", nil
	}
	return requiredString(raw, path)
}

// integer reads a JSON number with no fractional part (1024 and 1024.0 both).
func integer(raw json.RawMessage, path string) (int, *Error) {
	var f float64
	if json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, invalidf("%s: Input should be a valid integer", path)
	}
	return int(f), nil
}

func unitInterval(raw json.RawMessage, path string) (*float64, *Error) {
	if isAbsent(raw) {
		return nil, nil
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		return nil, invalidf("%s: Input should be a valid number", path)
	}
	if f < 0 || f > 1 {
		return nil, invalidf("%s: Input should be between 0 and 1", path)
	}
	return &f, nil
}

// objects splits a JSON array of objects; anything else is an error naming path.
func objects(raw json.RawMessage, path, what string) ([]json.RawMessage, *Error) {
	var items []json.RawMessage
	if !isArray(raw) || json.Unmarshal(raw, &items) != nil {
		return nil, invalidf("%s: Input should be a valid list", path)
	}
	for i, it := range items {
		if !isObject(it) {
			return nil, invalidf("%s.%d: Input should be %s", path, i, what)
		}
	}
	return items, nil
}

func decodeCacheControl(raw json.RawMessage, path string) (*CacheControl, *Error) {
	if isAbsent(raw) {
		return nil, nil
	}
	var c CacheControl
	if !isObject(raw) || json.Unmarshal(raw, &c) != nil {
		return nil, invalidf("%s: Input should be an object like {\"type\":\"ephemeral\"}", path)
	}
	return &c, nil
}

func decodeSystem(raw json.RawMessage) ([]TextBlock, *Error) {
	if isAbsent(raw) {
		return nil, nil
	}
	if isString(raw) {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, invalidf("system: Input should be a valid string")
		}
		if s == "" {
			return nil, nil
		}
		return []TextBlock{{Type: BlockText, Text: s}}, nil
	}
	if !isArray(raw) {
		return nil, invalidf("system: Input should be a string or a list of text blocks")
	}
	items, err := objects(raw, "system", "a text block")
	if err != nil {
		return nil, err
	}
	out := make([]TextBlock, 0, len(items))
	for i, it := range items {
		b, err := decodeBlock(it, fmt.Sprintf("system.%d", i))
		if err != nil {
			return nil, err
		}
		if b.Type != BlockText {
			return nil, invalidf("system.%d.type: Input should be 'text'", i)
		}
		out = append(out, TextBlock{Type: BlockText, Text: b.Text, CacheControl: b.CacheControl})
	}
	return out, nil
}

func decodeMessages(raw json.RawMessage) ([]MessageParam, *Error) {
	if isAbsent(raw) {
		return nil, invalidf("messages: Field required")
	}
	items, err := objects(raw, "messages", "a message object")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, invalidf("messages: at least one message is required")
	}
	out := make([]MessageParam, 0, len(items))
	for i, it := range items {
		path := fmt.Sprintf("messages.%d", i)
		var w struct {
			Role    json.RawMessage `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		_ = json.Unmarshal(it, &w) // an object: checked by objects
		role, err := requiredString(w.Role, path+".role")
		if err != nil {
			return nil, err
		}
		switch role {
		case "user", "assistant", "system":
		default:
			return nil, invalidf("%s.role: Input should be 'user' or 'assistant'", path)
		}
		content, err := decodeContent(w.Content, path+".content", true)
		if err != nil {
			return nil, err
		}
		if len(content) == 0 && !(i == len(items)-1 && role == "assistant") {
			return nil, invalidf("%s: all messages must have non-empty content except for the optional final assistant message", path)
		}
		out = append(out, MessageParam{Role: role, Content: content})
	}
	return out, nil
}

// decodeContent reads a content: a string (one text block) or a list of
// blocks. required makes a missing content an error.
func decodeContent(raw json.RawMessage, path string, required bool) ([]Block, *Error) {
	if isAbsent(raw) {
		if required {
			return nil, invalidf("%s: Field required", path)
		}
		return nil, nil
	}
	if isString(raw) {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, invalidf("%s: Input should be a valid string", path)
		}
		if s == "" {
			return []Block{}, nil
		}
		return []Block{{Type: BlockText, Text: s}}, nil
	}
	if !isArray(raw) {
		return nil, invalidf("%s: Input should be a string or a list of content blocks", path)
	}
	items, err := objects(raw, path, "a content block")
	if err != nil {
		return nil, err
	}
	out := make([]Block, 0, len(items))
	for j, it := range items {
		b, err := decodeBlock(it, fmt.Sprintf("%s.%d", path, j))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// wireBlock holds every field a block type the gateway knows may carry.
type wireBlock struct {
	Type         json.RawMessage `json:"type"`
	Text         json.RawMessage `json:"text"`
	Source       json.RawMessage `json:"source"`
	ID           json.RawMessage `json:"id"`
	Name         json.RawMessage `json:"name"`
	Input        json.RawMessage `json:"input"`
	ToolUseID    json.RawMessage `json:"tool_use_id"`
	Content      json.RawMessage `json:"content"`
	IsError      json.RawMessage `json:"is_error"`
	Thinking     json.RawMessage `json:"thinking"`
	Signature    json.RawMessage `json:"signature"`
	Data         json.RawMessage `json:"data"`
	CacheControl json.RawMessage `json:"cache_control"`
}

// decodeBlock reads one content block (a JSON object).
func decodeBlock(raw json.RawMessage, path string) (Block, *Error) {
	var w wireBlock
	_ = json.Unmarshal(raw, &w) // an object: checked by the caller
	typ, err := requiredName(w.Type, path+".type")
	if err != nil {
		return Block{}, err
	}
	b := Block{Type: typ, Raw: raw}
	if b.CacheControl, err = decodeCacheControl(w.CacheControl, path+".cache_control"); err != nil {
		return Block{}, err
	}
	switch typ {
	case BlockText:
		if b.Text, err = requiredString(w.Text, path+".text"); err != nil {
			return Block{}, err
		}
	case BlockImage, BlockDocument:
		if b.Source, err = decodeSource(w.Source, path+".source"); err != nil {
			return Block{}, err
		}
	case BlockToolUse:
		if b.ID, err = requiredName(w.ID, path+".id"); err != nil {
			return Block{}, err
		}
		if b.Name, err = requiredName(w.Name, path+".name"); err != nil {
			return Block{}, err
		}
		if isAbsent(w.Input) {
			return Block{}, invalidf("%s.input: Field required", path)
		}
		if !isObject(w.Input) {
			return Block{}, invalidf("%s.input: Input should be a valid dictionary", path)
		}
		b.Input = bytes.TrimSpace(w.Input)
	case BlockToolResult:
		if b.ToolUseID, err = requiredName(w.ToolUseID, path+".tool_use_id"); err != nil {
			return Block{}, err
		}
		if b.Content, err = decodeContent(w.Content, path+".content", false); err != nil {
			return Block{}, err
		}
		if !isAbsent(w.IsError) && json.Unmarshal(w.IsError, &b.IsError) != nil {
			return Block{}, invalidf("%s.is_error: Input should be a valid boolean", path)
		}
	case BlockThinking:
		if b.Thinking, err = requiredString(w.Thinking, path+".thinking"); err != nil {
			return Block{}, err
		}
		if b.Signature, err = optionalString(w.Signature, path+".signature"); err != nil {
			return Block{}, err
		}
	case BlockRedactedThinking:
		if b.Data, err = requiredString(w.Data, path+".data"); err != nil {
			return Block{}, err
		}
	}
	return b, nil
}

func decodeSource(raw json.RawMessage, path string) (*Source, *Error) {
	if isAbsent(raw) {
		return nil, invalidf("%s: Field required", path)
	}
	if !isObject(raw) {
		return nil, invalidf("%s: Input should be a valid dictionary", path)
	}
	var w struct {
		Type      json.RawMessage `json:"type"`
		MediaType json.RawMessage `json:"media_type"`
		Data      json.RawMessage `json:"data"`
		URL       json.RawMessage `json:"url"`
		FileID    json.RawMessage `json:"file_id"`
	}
	_ = json.Unmarshal(raw, &w)
	typ, err := requiredName(w.Type, path+".type")
	if err != nil {
		return nil, err
	}
	s := &Source{Type: typ}
	switch typ {
	case "base64", "text":
		if s.MediaType, err = requiredString(w.MediaType, path+".media_type"); err != nil {
			return nil, err
		}
		if s.Data, err = requiredString(w.Data, path+".data"); err != nil {
			return nil, err
		}
	case "url":
		if s.URL, err = requiredString(w.URL, path+".url"); err != nil {
			return nil, err
		}
	case "file":
		if s.FileID, err = requiredString(w.FileID, path+".file_id"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func decodeTools(raw json.RawMessage) ([]Tool, *Error) {
	if isAbsent(raw) {
		return nil, nil
	}
	items, err := objects(raw, "tools", "a tool object")
	if err != nil {
		return nil, err
	}
	out := make([]Tool, 0, len(items))
	for i, it := range items {
		path := fmt.Sprintf("tools.%d", i)
		var w struct {
			Type         json.RawMessage `json:"type"`
			Name         json.RawMessage `json:"name"`
			Description  json.RawMessage `json:"description"`
			InputSchema  json.RawMessage `json:"input_schema"`
			CacheControl json.RawMessage `json:"cache_control"`
		}
		_ = json.Unmarshal(it, &w)
		t := Tool{Raw: it}
		var err *Error
		if t.Type, err = optionalString(w.Type, path+".type"); err != nil {
			return nil, err
		}
		if t.Name, err = requiredName(w.Name, path+".name"); err != nil {
			return nil, err
		}
		if t.Description, err = optionalString(w.Description, path+".description"); err != nil {
			return nil, err
		}
		if t.CacheControl, err = decodeCacheControl(w.CacheControl, path+".cache_control"); err != nil {
			return nil, err
		}
		if t.IsClientTool() {
			if isAbsent(w.InputSchema) {
				return nil, invalidf("%s.input_schema: Field required", path)
			}
			if !isObject(w.InputSchema) {
				return nil, invalidf("%s.input_schema: Input should be a valid dictionary", path)
			}
			t.InputSchema = bytes.TrimSpace(w.InputSchema)
		}
		out = append(out, t)
	}
	return out, nil
}

func decodeToolChoice(raw json.RawMessage) (*ToolChoice, *Error) {
	if isAbsent(raw) {
		return nil, nil
	}
	if !isObject(raw) {
		return nil, invalidf("tool_choice: Input should be an object like {\"type\":\"auto\"}")
	}
	var w struct {
		Type                   json.RawMessage `json:"type"`
		Name                   json.RawMessage `json:"name"`
		DisableParallelToolUse json.RawMessage `json:"disable_parallel_tool_use"`
	}
	_ = json.Unmarshal(raw, &w)
	typ, err := requiredString(w.Type, "tool_choice.type")
	if err != nil {
		return nil, err
	}
	tc := &ToolChoice{Type: typ}
	switch typ {
	case "auto", "any", "none":
	case "tool":
		if tc.Name, err = requiredName(w.Name, "tool_choice.name"); err != nil {
			return nil, err
		}
	default:
		return nil, invalidf("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
	}
	if !isAbsent(w.DisableParallelToolUse) && json.Unmarshal(w.DisableParallelToolUse, &tc.DisableParallelToolUse) != nil {
		return nil, invalidf("tool_choice.disable_parallel_tool_use: Input should be a valid boolean")
	}
	return tc, nil
}

func decodeThinking(raw json.RawMessage) (*Thinking, *Error) {
	if isAbsent(raw) {
		return nil, nil
	}
	if !isObject(raw) {
		return nil, invalidf("thinking: Input should be an object like {\"type\":\"enabled\",\"budget_tokens\":2048}")
	}
	var w struct {
		Type         json.RawMessage `json:"type"`
		BudgetTokens json.RawMessage `json:"budget_tokens"`
	}
	_ = json.Unmarshal(raw, &w)
	typ, err := requiredString(w.Type, "thinking.type")
	if err != nil {
		return nil, err
	}
	t := &Thinking{Type: typ}
	switch typ {
	case "enabled":
		if isAbsent(w.BudgetTokens) {
			return nil, invalidf("thinking.enabled.budget_tokens: Field required")
		}
		if t.BudgetTokens, err = integer(w.BudgetTokens, "thinking.enabled.budget_tokens"); err != nil {
			return nil, err
		}
		if t.BudgetTokens < MinThinkingBudget {
			return nil, invalidf("thinking.enabled.budget_tokens: Input should be greater than or equal to %d", MinThinkingBudget)
		}
	case "disabled", "adaptive":
	default:
		return nil, invalidf("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
	}
	return t, nil
}
