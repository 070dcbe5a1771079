package openai

import (
	"encoding/json"
	"testing"
)

func TestParseToolChoice(t *testing.T) {
	tests := []struct {
		raw  string
		want ToolChoice
	}{
		{``, ToolChoice{}},
		{`null`, ToolChoice{}},
		{`"auto"`, ToolChoice{Mode: "auto"}},
		{`"none"`, ToolChoice{Mode: "none"}},
		{`"required"`, ToolChoice{Mode: "required"}},
		{`{"type":"function","function":{"name":"f"}}`, ToolChoice{Mode: "function", Function: "f"}},
	}
	for _, tt := range tests {
		got, err := (&ChatRequest{ToolChoice: json.RawMessage(tt.raw)}).ParseToolChoice()
		if err != nil || got != tt.want {
			t.Errorf("ParseToolChoice(%s) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}
	for _, bad := range []string{`"sometimes"`, `{"type":"function"}`, `{"type":"tool","function":{"name":"f"}}`, `3`} {
		_, err := (&ChatRequest{ToolChoice: json.RawMessage(bad)}).ParseToolChoice()
		if err == nil || err.HTTPStatus() != 400 || err.Param != "tool_choice" {
			t.Errorf("ParseToolChoice(%s) = %v, want a 400 on tool_choice", bad, err)
		}
	}
}

func TestParseDataURL(t *testing.T) {
	tests := []struct {
		url             string
		mediaType, data string
		isData, ok      bool
	}{
		{"data:image/png;base64,iVBORw0K", "image/png", "iVBORw0K", true, true},
		{"https://example.com/a.png", "", "", false, false},
		{"data:image/png,raw", "", "", true, false},
		{"data:;base64,AAAA", "", "", true, false},
		{"data:image/png;base64,", "", "", true, false},
		{"data:image/png;base64", "", "", true, false},
	}
	for _, tt := range tests {
		mt, data, isData, ok := ParseDataURL(tt.url)
		if mt != tt.mediaType || data != tt.data || isData != tt.isData || ok != tt.ok {
			t.Errorf("ParseDataURL(%q) = %q, %q, %v, %v", tt.url, mt, data, isData, ok)
		}
	}
}

func TestAssistantMessageContent(t *testing.T) {
	call := []ToolCall{{ID: "c", Type: "function", Function: FunctionCall{Name: "f", Arguments: "{}"}}}
	if m := AssistantMessage("", call); m.Content != nil || len(m.ToolCalls) != 1 {
		t.Errorf("tool calls only: content %v", m.Content)
	}
	if m := AssistantMessage("", nil); m.Content == nil || *m.Content != "" {
		t.Errorf("nothing: content %v, want \"\"", m.Content)
	}
	if m := AssistantMessage("hi", call); m.Content == nil || *m.Content != "hi" || m.Role != "assistant" {
		t.Errorf("text and calls: %+v", m)
	}
}
