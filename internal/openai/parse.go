package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// IsNull reports whether raw is absent (empty) or JSON null, as optional
// fields kept as json.RawMessage (tool parameters, tool_choice) may be.
func IsNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// ToolChoice is a decoded tool_choice.
type ToolChoice struct {
	// Mode is "auto", "none", "required" or "function"; empty when the
	// request has no tool_choice.
	Mode string
	// Function is the function a "function" choice names.
	Function string
}

// ParseToolChoice reads tool_choice: "auto", "none", "required" or
// {"type":"function","function":{"name":...}}. Anything else is a 400 naming
// tool_choice.
func (r *ChatRequest) ParseToolChoice() (ToolChoice, *Error) {
	if IsNull(r.ToolChoice) {
		return ToolChoice{}, nil
	}
	const shapes = `"auto", "none", "required" or {"type":"function","function":{"name":...}}`
	var s string
	if json.Unmarshal(r.ToolChoice, &s) == nil {
		switch s {
		case "auto", "none", "required":
			return ToolChoice{Mode: s}, nil
		}
		return ToolChoice{}, &Error{Code: CodeInvalidRequest, Param: "tool_choice",
			Message: fmt.Sprintf("tool_choice %q is not one of %s", s, shapes)}
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(r.ToolChoice, &named) != nil || named.Type != "function" || named.Function.Name == "" {
		return ToolChoice{}, &Error{Code: CodeInvalidRequest, Param: "tool_choice",
			Message: "tool_choice must be " + shapes}
	}
	return ToolChoice{Mode: "function", Function: named.Function.Name}, nil
}

// ParseDataURL splits a base64 data URL, "data:<media type>;base64,<data>",
// the form image_url parts carry inline images in. isData reports whether u
// is a data: URL at all; ok whether it has that form, with a media type and
// data. The data is not decoded.
func ParseDataURL(u string) (mediaType, data string, isData, ok bool) {
	rest, isData := strings.CutPrefix(u, "data:")
	if !isData {
		return "", "", false, false
	}
	meta, data, found := strings.Cut(rest, ",")
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	if !found || !isBase64 || mediaType == "" || data == "" {
		return "", "", true, false
	}
	return mediaType, data, true, true
}
