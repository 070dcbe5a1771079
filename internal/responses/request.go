// Package responses is the protocol core of POST /v1/responses, OpenAI's
// Responses API: its wire types, the validation of a request, and the
// translation to and from Chat Completions that lets every chat provider of
// the gateway serve it.
//
// The package does no I/O. A handler parses the client's body with Parse,
// then either forwards it natively (NativeBody, for upstreams that speak the
// Responses API themselves) or translates it: ToChat gives the chat request to
// send, FromChat turns a chat completion into the response object, and a
// Stream turns chat completion chunks into the Responses SSE event sequence.
//
// The shapes follow OpenAI's published OpenAPI description (schemas
// CreateResponse, Response, InputItem, OutputItem, ResponseUsage and the
// Response*Event stream events) and what the official SDKs parse.
package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Item types this package models. Other types (reasoning, web_search_call,
// item_reference, ...) are kept as the raw JSON they came in.
const (
	TypeMessage            = "message"
	TypeFunctionCall       = "function_call"
	TypeFunctionCallOutput = "function_call_output"
	TypeReasoning          = "reasoning"
	TypeItemReference      = "item_reference"
)

// Content part types.
const (
	PartInputText  = "input_text"
	PartInputImage = "input_image"
	PartInputFile  = "input_file"
	PartOutputText = "output_text"
	PartRefusal    = "refusal"
)

// Item statuses.
const (
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusIncomplete = "incomplete"
	StatusFailed     = "failed"
)

// Request is the body of POST /v1/responses: the fields the gateway routes,
// validates and translates. Raw keeps the body as the client sent it, so a
// native upstream receives every field, known or not.
type Request struct {
	Model             string            `json:"model"`
	Input             Input             `json:"input"`
	Instructions      *string           `json:"instructions"`
	Tools             []Tool            `json:"tools"`
	ToolChoice        json.RawMessage   `json:"tool_choice"`
	ParallelToolCalls *bool             `json:"parallel_tool_calls"`
	Text              *TextConfig       `json:"text"`
	MaxOutputTokens   *int              `json:"max_output_tokens"`
	Temperature       *float64          `json:"temperature"`
	TopP              *float64          `json:"top_p"`
	Reasoning         *Reasoning        `json:"reasoning"`
	Metadata          map[string]string `json:"metadata"`
	User              string            `json:"user"`
	Stream            bool              `json:"stream"`
	Store             *bool             `json:"store"`
	// PreviousResponseID names the response this turn continues; the handler
	// resolves it to the earlier items and hands them to ToChat.
	PreviousResponseID string `json:"previous_response_id"`

	// Fields a native upstream serves but the chat translation cannot (or
	// need not) carry; decoded only so ToChat can refuse them by name.
	Background   *bool           `json:"background"`
	Conversation json.RawMessage `json:"conversation"`
	Prompt       json.RawMessage `json:"prompt"`
	TopLogprobs  *int            `json:"top_logprobs"`

	// Raw is the client's JSON body, untouched.
	Raw []byte `json:"-"`
}

// Items returns the request's input as items: a string input is one user
// message.
func (r *Request) Items() []Item { return r.Input.AsItems() }

// Input is "input": a string or a list of items. Set is false when the field
// is absent or null.
type Input struct {
	Text  string
	Items []Item
	// List records that the client sent an array.
	List bool
	Set  bool
}

// AsItems returns the items of the input; a string is one user message.
func (in Input) AsItems() []Item {
	if !in.List {
		if !in.Set {
			return nil
		}
		return []Item{{Type: TypeMessage, Role: "user", Content: Content{Text: in.Text}}}
	}
	return in.Items
}

// UnmarshalJSON accepts a string, an array of items, or null.
func (in *Input) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*in = Input{}
	switch {
	case isNull(b):
		return nil
	case b[0] == '"':
		in.Set = true
		return json.Unmarshal(b, &in.Text)
	case b[0] == '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(b, &raws); err != nil {
			return err
		}
		in.Set, in.List = true, true
		in.Items = make([]Item, len(raws))
		for i, raw := range raws {
			if err := json.Unmarshal(raw, &in.Items[i]); err != nil {
				return within(fmt.Sprintf("input[%d]", i), err)
			}
		}
		return nil
	}
	return &paramError{param: "input", msg: "Invalid type for 'input': expected a string or an array of input items."}
}

// MarshalJSON writes the form the input was given in.
func (in Input) MarshalJSON() ([]byte, error) {
	switch {
	case in.List:
		if in.Items == nil {
			return []byte("[]"), nil
		}
		return marshal(in.Items)
	case in.Set:
		return marshal(in.Text)
	}
	return []byte("null"), nil
}

// Item is one input or output item. Input and output share it: the output
// of one response is valid input to the next. Only message, function_call
// and function_call_output are modeled; any other type keeps its JSON in Raw
// and is written back unchanged.
type Item struct {
	Type   string
	ID     string
	Status string

	// message
	Role    string
	Content Content

	// function_call (CallID also for function_call_output)
	CallID    string
	Name      string
	Arguments string

	// function_call_output
	Output Content

	// Raw is the item as it was decoded.
	Raw json.RawMessage
}

// UnmarshalJSON decodes one item. An item without a type but with a role is
// a message, as the API's "easy input message" is.
func (it *Item) UnmarshalJSON(b []byte) error {
	var aux struct {
		Type      string          `json:"type"`
		ID        string          `json:"id"`
		Status    string          `json:"status"`
		Role      string          `json:"role"`
		Content   json.RawMessage `json:"content"`
		CallID    string          `json:"call_id"`
		Name      string          `json:"name"`
		Arguments string          `json:"arguments"`
		Output    json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return within("", err)
	}
	*it = Item{Type: aux.Type, ID: aux.ID, Status: aux.Status, Raw: append(json.RawMessage(nil), b...)}
	if it.Type == "" && aux.Role != "" {
		it.Type = TypeMessage
	}
	switch it.Type {
	case TypeMessage:
		it.Role = aux.Role
		if err := decodeContent(aux.Content, &it.Content); err != nil {
			return within("content", err)
		}
	case TypeFunctionCall:
		it.CallID, it.Name, it.Arguments = aux.CallID, aux.Name, aux.Arguments
	case TypeFunctionCallOutput:
		it.CallID = aux.CallID
		if err := decodeContent(aux.Output, &it.Output); err != nil {
			return within("output", err)
		}
	}
	return nil
}

func decodeContent(raw json.RawMessage, c *Content) error {
	if isNull(bytes.TrimSpace(raw)) {
		*c = Content{Missing: true}
		return nil
	}
	return json.Unmarshal(raw, c)
}

// MarshalJSON writes a modeled item in the API's shape and any other item
// as it came.
func (it Item) MarshalJSON() ([]byte, error) {
	switch it.Type {
	case TypeMessage:
		return marshal(struct {
			Type    string  `json:"type"`
			ID      string  `json:"id,omitempty"`
			Status  string  `json:"status,omitempty"`
			Role    string  `json:"role"`
			Content Content `json:"content"`
		}{it.Type, it.ID, it.Status, it.Role, it.Content})
	case TypeFunctionCall:
		return marshal(struct {
			Type      string `json:"type"`
			ID        string `json:"id,omitempty"`
			Status    string `json:"status,omitempty"`
			CallID    string `json:"call_id"`
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		}{it.Type, it.ID, it.Status, it.CallID, it.Name, it.Arguments})
	case TypeFunctionCallOutput:
		return marshal(struct {
			Type   string  `json:"type"`
			ID     string  `json:"id,omitempty"`
			Status string  `json:"status,omitempty"`
			CallID string  `json:"call_id"`
			Output Content `json:"output"`
		}{it.Type, it.ID, it.Status, it.CallID, it.Output})
	}
	if len(it.Raw) > 0 {
		return it.Raw, nil
	}
	return marshal(struct {
		Type string `json:"type"`
		ID   string `json:"id,omitempty"`
	}{it.Type, it.ID})
}

// Content is a message's content or a function call's output: a string or
// an array of parts.
type Content struct {
	Text  string
	Parts []Part
	// List records that an array was sent (even a one-element one).
	List bool
	// Missing records an absent or null content.
	Missing bool
}

// UnmarshalJSON accepts a string or an array of parts.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*c = Content{}
	switch {
	case isNull(b):
		c.Missing = true
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &c.Text)
	case b[0] == '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(b, &raws); err != nil {
			return err
		}
		c.List = true
		c.Parts = make([]Part, len(raws))
		for i, raw := range raws {
			if err := json.Unmarshal(raw, &c.Parts[i]); err != nil {
				return within(fmt.Sprintf("[%d]", i), err)
			}
		}
		return nil
	}
	return &paramError{msg: "expected a string or an array of content parts"}
}

// MarshalJSON writes an array when the content was (or is built as) a list.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.List {
		if c.Parts == nil {
			return []byte("[]"), nil
		}
		return marshal(c.Parts)
	}
	return marshal(c.Text)
}

// Part is one content part: input_text, input_image, input_file,
// output_text or refusal. Other types keep their JSON in Raw.
type Part struct {
	Type string
	// Text of input_text and output_text.
	Text string
	// Annotations and Logprobs of output_text, kept as sent.
	Annotations []json.RawMessage
	Logprobs    []json.RawMessage
	// Refusal of a refusal part.
	Refusal string
	// input_image: ImageURL (https or data: URL) or FileID, and Detail.
	ImageURL string
	FileID   string
	Detail   string
	// input_file (FileID too).
	FileData string
	FileURL  string
	Filename string

	Raw json.RawMessage
}

// UnmarshalJSON decodes one part.
func (p *Part) UnmarshalJSON(b []byte) error {
	var aux struct {
		Type        string            `json:"type"`
		Text        string            `json:"text"`
		Annotations []json.RawMessage `json:"annotations"`
		Logprobs    []json.RawMessage `json:"logprobs"`
		Refusal     string            `json:"refusal"`
		ImageURL    *string           `json:"image_url"`
		FileID      *string           `json:"file_id"`
		Detail      string            `json:"detail"`
		FileData    string            `json:"file_data"`
		FileURL     string            `json:"file_url"`
		Filename    string            `json:"filename"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return within("", err)
	}
	*p = Part{Type: aux.Type, Text: aux.Text, Annotations: aux.Annotations, Logprobs: aux.Logprobs,
		Refusal: aux.Refusal, Detail: aux.Detail, FileData: aux.FileData, FileURL: aux.FileURL,
		Filename: aux.Filename, Raw: append(json.RawMessage(nil), b...)}
	if aux.ImageURL != nil {
		p.ImageURL = *aux.ImageURL
	}
	if aux.FileID != nil {
		p.FileID = *aux.FileID
	}
	return nil
}

// MarshalJSON writes a part in the API's shape; output_text always carries
// its annotations and logprobs arrays, as the SDKs expect.
func (p Part) MarshalJSON() ([]byte, error) {
	switch p.Type {
	case PartInputText:
		return marshal(struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}{p.Type, p.Text})
	case PartOutputText:
		return marshal(struct {
			Type        string            `json:"type"`
			Text        string            `json:"text"`
			Annotations []json.RawMessage `json:"annotations"`
			Logprobs    []json.RawMessage `json:"logprobs"`
		}{p.Type, p.Text, nonNil(p.Annotations), nonNil(p.Logprobs)})
	case PartRefusal:
		return marshal(struct {
			Type    string `json:"type"`
			Refusal string `json:"refusal"`
		}{p.Type, p.Refusal})
	case PartInputImage:
		detail := p.Detail
		if detail == "" {
			detail = "auto"
		}
		return marshal(struct {
			Type     string `json:"type"`
			ImageURL string `json:"image_url,omitempty"`
			FileID   string `json:"file_id,omitempty"`
			Detail   string `json:"detail"`
		}{p.Type, p.ImageURL, p.FileID, detail})
	case PartInputFile:
		return marshal(struct {
			Type     string `json:"type"`
			FileID   string `json:"file_id,omitempty"`
			FileData string `json:"file_data,omitempty"`
			FileURL  string `json:"file_url,omitempty"`
			Filename string `json:"filename,omitempty"`
		}{p.Type, p.FileID, p.FileData, p.FileURL, p.Filename})
	}
	if len(p.Raw) > 0 {
		return p.Raw, nil
	}
	return marshal(struct {
		Type string `json:"type"`
	}{p.Type})
}

// Tool is one entry of "tools". Function tools are modeled; built-in tools
// (web_search, file_search, mcp, ...) keep their JSON in Raw.
type Tool struct {
	Type        string
	Name        string
	Description string
	Parameters  json.RawMessage
	Strict      *bool
	Raw         json.RawMessage
}

// UnmarshalJSON decodes one tool.
func (t *Tool) UnmarshalJSON(b []byte) error {
	var aux struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return within("", err)
	}
	*t = Tool{Type: aux.Type, Name: aux.Name, Description: aux.Description, Strict: aux.Strict,
		Raw: append(json.RawMessage(nil), b...)}
	if !isNull(bytes.TrimSpace(aux.Parameters)) {
		t.Parameters = aux.Parameters
	}
	return nil
}

// MarshalJSON writes a function tool as the response object echoes it
// (parameters and strict always present, null when not given) and any other
// tool as it came.
func (t Tool) MarshalJSON() ([]byte, error) {
	if t.Type != "function" && len(t.Raw) > 0 {
		return t.Raw, nil
	}
	params := t.Parameters
	if len(params) == 0 {
		params = json.RawMessage("null")
	}
	return marshal(struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	}{t.Type, t.Name, t.Description, params, t.Strict})
}

// TextConfig is "text": the output format and verbosity.
type TextConfig struct {
	Format    *TextFormat `json:"format,omitempty"`
	Verbosity string      `json:"verbosity,omitempty"`
}

// TextFormat is text.format: {"type":"text"}, {"type":"json_object"} or
// {"type":"json_schema","name","schema","description","strict"}.
type TextFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Reasoning is "reasoning": the effort and the summary mode.
type Reasoning struct {
	Effort  string `json:"effort,omitempty"`
	Summary string `json:"summary,omitempty"`
}

// paramError is a decoding or validation failure that names the parameter.
type paramError struct {
	param string
	msg   string
}

func (e *paramError) Error() string {
	if e.param == "" {
		return e.msg
	}
	return e.param + ": " + e.msg
}

// within places err under the parameter path prefix: type errors of the
// standard decoder and paramErrors get their path extended.
func within(prefix string, err error) error {
	join := func(a, b string) string {
		switch {
		case a == "":
			return b
		case b == "":
			return a
		case b[0] == '[':
			return a + b
		}
		return a + "." + b
	}
	var pe *paramError
	if errors.As(err, &pe) {
		return &paramError{param: join(prefix, pe.param), msg: pe.msg}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		param := join(prefix, te.Field)
		return &paramError{param: param, msg: typeMessage(param, te)}
	}
	return &paramError{param: prefix, msg: err.Error()}
}

// typeMessage words a type mismatch as the API does.
func typeMessage(param string, te *json.UnmarshalTypeError) string {
	want := "a different type"
	if te.Type != nil {
		switch te.Type.Kind().String() {
		case "string":
			want = "a string"
		case "bool":
			want = "a boolean"
		case "int", "int64", "int32":
			want = "an integer"
		case "float64", "float32":
			want = "a number"
		case "map", "struct":
			want = "an object"
		case "slice", "array":
			want = "an array"
		}
	}
	if param == "" {
		return fmt.Sprintf("Invalid type: expected %s, but got %s.", want, te.Value)
	}
	return fmt.Sprintf("Invalid type for '%s': expected %s, but got %s.", param, want, te.Value)
}

func isNull(b []byte) bool { return len(b) == 0 || bytes.Equal(b, []byte("null")) }

func nonNil(v []json.RawMessage) []json.RawMessage {
	if v == nil {
		return []json.RawMessage{}
	}
	return v
}

// marshal encodes v as compact JSON without escaping <, > and &, so text
// reaches the client as it was written.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
