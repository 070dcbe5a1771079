package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
)

// Parse decodes and validates a POST /v1/responses body. Its error is an
// *openai.Error (400) naming the parameter at fault. Parse accepts what a
// native upstream could serve (built-in tools, conversation, unknown item
// types); ToChat refuses what the chat translation cannot carry.
func Parse(body []byte) (*Request, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &openai.Error{Code: openai.CodeInvalidJSON,
			Message: "We could not parse the JSON body of your request: it must be a JSON object."}
	}
	var r Request
	if err := json.Unmarshal(trimmed, &r); err != nil {
		return nil, decodeError(err)
	}
	r.Raw = body
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func decodeError(err error) *openai.Error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &openai.Error{Code: openai.CodeInvalidJSON,
			Message: fmt.Sprintf("We could not parse the JSON body of your request: %v.", err)}
	}
	pe, ok := within("", err).(*paramError)
	if !ok || pe.param == "" {
		return &openai.Error{Code: openai.CodeInvalidRequest, Message: err.Error()}
	}
	msg := pe.msg
	if !strings.Contains(msg, "'"+pe.param+"'") {
		msg = fmt.Sprintf("Invalid '%s': %s", pe.param, msg)
	}
	return &openai.Error{Code: openai.CodeInvalidRequest, Param: pe.param, Message: msg}
}

func invalid(param, format string, args ...any) *openai.Error {
	return &openai.Error{Code: openai.CodeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

// Limits the API enforces on a request.
const (
	minMaxOutputTokens = 16
	maxMetadataPairs   = 16
	maxMetadataKey     = 64
	maxMetadataValue   = 512
)

var (
	functionName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	efforts      = map[string]bool{"none": true, "minimal": true, "low": true, "medium": true, "high": true, "xhigh": true, "max": true}
	summaries    = map[string]bool{"auto": true, "concise": true, "detailed": true}
	details      = map[string]bool{"auto": true, "low": true, "high": true, "original": true}
)

// Validate checks the request against the API's rules, with the parameter
// named in the error.
func (r *Request) Validate() error {
	if r.Model == "" {
		return invalid("model", "Missing required parameter: 'model'.")
	}
	if !r.Input.Set && r.PreviousResponseID == "" && openai.IsNull(r.Conversation) && openai.IsNull(r.Prompt) {
		return invalid("input", "Missing required parameter: 'input'.")
	}
	if r.PreviousResponseID != "" && !openai.IsNull(r.Conversation) {
		return invalid("previous_response_id", "previous_response_id and conversation cannot be used together.")
	}
	for i, it := range r.Input.Items {
		if err := validateItem(fmt.Sprintf("input[%d]", i), it); err != nil {
			return err
		}
	}
	for i, t := range r.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type == "" {
			return invalid(param+".type", "Missing required parameter: '%s.type'.", param)
		}
		if t.Type != "function" {
			continue
		}
		if !functionName.MatchString(t.Name) {
			return invalid(param+".name", "Invalid '%s.name': a function name is 1 to 64 letters, digits, '_' or '-', got %q.", param, t.Name)
		}
		if len(t.Parameters) > 0 && bytes.TrimSpace(t.Parameters)[0] != '{' {
			return invalid(param+".parameters", "Invalid '%s.parameters': expected a JSON Schema object.", param)
		}
	}
	if _, err := ParseToolChoice(r.ToolChoice); err != nil {
		return err
	}
	if err := r.validateText(); err != nil {
		return err
	}
	if r.MaxOutputTokens != nil && *r.MaxOutputTokens < minMaxOutputTokens {
		return invalid("max_output_tokens", "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= %d, but got %d instead.", minMaxOutputTokens, *r.MaxOutputTokens)
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
		return invalid("temperature", "Invalid 'temperature': expected a value between 0 and 2, but got %v instead.", *r.Temperature)
	}
	if r.TopP != nil && (*r.TopP < 0 || *r.TopP > 1) {
		return invalid("top_p", "Invalid 'top_p': expected a value between 0 and 1, but got %v instead.", *r.TopP)
	}
	if r.TopLogprobs != nil && (*r.TopLogprobs < 0 || *r.TopLogprobs > 20) {
		return invalid("top_logprobs", "Invalid 'top_logprobs': expected a value between 0 and 20, but got %d instead.", *r.TopLogprobs)
	}
	if r.Reasoning != nil {
		if e := r.Reasoning.Effort; e != "" && !efforts[e] {
			return invalid("reasoning.effort", "Invalid value for 'reasoning.effort': %q. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', 'xhigh' and 'max'.", e)
		}
		if s := r.Reasoning.Summary; s != "" && !summaries[s] {
			return invalid("reasoning.summary", "Invalid value for 'reasoning.summary': %q. Supported values are: 'auto', 'concise' and 'detailed'.", s)
		}
	}
	if len(r.Metadata) > maxMetadataPairs {
		return invalid("metadata", "Invalid 'metadata': at most %d key-value pairs, got %d.", maxMetadataPairs, len(r.Metadata))
	}
	for k, v := range r.Metadata {
		if len(k) > maxMetadataKey {
			return invalid("metadata", "Invalid 'metadata': key %q is longer than %d characters.", k, maxMetadataKey)
		}
		if len(v) > maxMetadataValue {
			return invalid("metadata", "Invalid 'metadata': the value of %q is longer than %d characters.", k, maxMetadataValue)
		}
	}
	return nil
}

func (r *Request) validateText() error {
	if r.Text == nil {
		return nil
	}
	if v := r.Text.Verbosity; v != "" && v != "low" && v != "medium" && v != "high" {
		return invalid("text.verbosity", "Invalid value for 'text.verbosity': %q. Supported values are: 'low', 'medium' and 'high'.", v)
	}
	f := r.Text.Format
	if f == nil {
		return nil
	}
	switch f.Type {
	case "text", "json_object":
	case "json_schema":
		if !functionName.MatchString(f.Name) {
			return invalid("text.format.name", "Invalid 'text.format.name': a schema name is 1 to 64 letters, digits, '_' or '-', got %q.", f.Name)
		}
		if s := bytes.TrimSpace(f.Schema); len(s) == 0 || s[0] != '{' {
			return invalid("text.format.schema", "Missing required parameter: 'text.format.schema' (a JSON Schema object).")
		}
	case "":
		return invalid("text.format.type", "Missing required parameter: 'text.format.type'.")
	default:
		return invalid("text.format.type", "Invalid value for 'text.format.type': %q. Supported values are: 'text', 'json_object' and 'json_schema'.", f.Type)
	}
	return nil
}

var roles = map[string]bool{"user": true, "assistant": true, "system": true, "developer": true}

func validateItem(param string, it Item) error {
	switch it.Type {
	case "":
		return invalid(param+".type", "Missing required parameter: '%s.type' (or '%s.role' for a message).", param, param)
	case TypeMessage:
		if !roles[it.Role] {
			return invalid(param+".role", "Invalid value for '%s.role': %q. Supported values are: 'user', 'assistant', 'system' and 'developer'.", param, it.Role)
		}
		if it.Content.Missing {
			return invalid(param+".content", "Missing required parameter: '%s.content'.", param)
		}
		allowed := []string{PartInputText, PartInputImage, PartInputFile}
		if it.Role == "assistant" {
			allowed = []string{PartOutputText, PartRefusal}
		}
		return validateParts(param+".content", it.Content, allowed)
	case TypeFunctionCall:
		if it.CallID == "" {
			return invalid(param+".call_id", "Missing required parameter: '%s.call_id'.", param)
		}
		if it.Name == "" {
			return invalid(param+".name", "Missing required parameter: '%s.name'.", param)
		}
	case TypeFunctionCallOutput:
		if it.CallID == "" {
			return invalid(param+".call_id", "Missing required parameter: '%s.call_id'.", param)
		}
		if it.Output.Missing {
			return invalid(param+".output", "Missing required parameter: '%s.output'.", param)
		}
		return validateParts(param+".output", it.Output, []string{PartInputText, PartInputImage, PartInputFile})
	case TypeItemReference:
		if it.ID == "" {
			return invalid(param+".id", "Missing required parameter: '%s.id'.", param)
		}
	}
	return nil
}

func validateParts(param string, c Content, allowed []string) error {
	for j, p := range c.Parts {
		pp := fmt.Sprintf("%s[%d]", param, j)
		ok := false
		for _, a := range allowed {
			ok = ok || p.Type == a
		}
		if !ok {
			return invalid(pp+".type", "Invalid value for '%s.type': %q. Supported values are: '%s'.", pp, p.Type, strings.Join(allowed, "', '"))
		}
		if p.Type != PartInputImage {
			continue
		}
		switch {
		case p.ImageURL == "" && p.FileID == "":
			return invalid(pp+".image_url", "Missing required parameter: '%s.image_url' (or '%s.file_id').", pp, pp)
		case p.ImageURL != "" && !strings.HasPrefix(p.ImageURL, "https://") && !strings.HasPrefix(p.ImageURL, "http://") && !strings.HasPrefix(p.ImageURL, "data:"):
			return invalid(pp+".image_url", "Invalid '%s.image_url': expected an http(s) URL or a data: URL.", pp)
		case p.Detail != "" && !details[p.Detail]:
			return invalid(pp+".detail", "Invalid value for '%s.detail': %q. Supported values are: 'auto', 'low', 'high' and 'original'.", pp, p.Detail)
		}
	}
	return nil
}

// ToolChoice is a decoded tool_choice.
type ToolChoice struct {
	// Mode is "auto", "none" or "required" for the string forms and for
	// allowed_tools; empty otherwise.
	Mode string
	// Type is "" for the string forms, "function", "allowed_tools", or the
	// type of a built-in tool ("file_search", "web_search_preview", "mcp", ...).
	Type string
	// Name is the function a "function" choice names.
	Name string
	// Allowed are the tools of an allowed_tools choice, as sent.
	Allowed []json.RawMessage
}

// ParseToolChoice reads tool_choice: "none", "auto", "required",
// {"type":"function","name":...}, {"type":"allowed_tools","mode":...,"tools":[...]}
// or a built-in tool type such as {"type":"file_search"}. Absent is the
// zero ToolChoice.
func ParseToolChoice(raw json.RawMessage) (ToolChoice, *openai.Error) {
	if openai.IsNull(raw) {
		return ToolChoice{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "none", "auto", "required":
			return ToolChoice{Mode: s}, nil
		}
		return ToolChoice{}, invalid("tool_choice", "Invalid value for 'tool_choice': %q. Supported values are: 'none', 'auto' and 'required', or an object.", s)
	}
	var obj struct {
		Type  string            `json:"type"`
		Name  string            `json:"name"`
		Mode  string            `json:"mode"`
		Tools []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return ToolChoice{}, invalid("tool_choice", "Invalid 'tool_choice': expected 'none', 'auto', 'required' or an object with a type.")
	}
	switch obj.Type {
	case "":
		return ToolChoice{}, invalid("tool_choice.type", "Missing required parameter: 'tool_choice.type'.")
	case "function":
		if obj.Name == "" {
			return ToolChoice{}, invalid("tool_choice.name", "Missing required parameter: 'tool_choice.name'.")
		}
		return ToolChoice{Type: "function", Name: obj.Name}, nil
	case "allowed_tools":
		if obj.Mode != "auto" && obj.Mode != "required" {
			return ToolChoice{}, invalid("tool_choice.mode", "Invalid value for 'tool_choice.mode': %q. Supported values are: 'auto' and 'required'.", obj.Mode)
		}
		if len(obj.Tools) == 0 {
			return ToolChoice{}, invalid("tool_choice.tools", "Missing required parameter: 'tool_choice.tools'.")
		}
		return ToolChoice{Type: "allowed_tools", Mode: obj.Mode, Allowed: obj.Tools}, nil
	}
	return ToolChoice{Type: obj.Type, Name: obj.Name}, nil
}
