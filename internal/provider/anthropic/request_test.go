package anthropic

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

func decodeChat(t *testing.T, body string) *openai.ChatRequest {
	t.Helper()
	var r openai.ChatRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("bad test request: %v", err)
	}
	return &r
}

func TestRequestsAnthropicCannotExpressAre400sNamingTheParam(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantParam string
	}{
		{
			name:      "more than one choice is refused",
			body:      `{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`,
			wantParam: "n",
		},
		{
			name: "tool call arguments that are not JSON are refused",
			body: `{"model":"m","messages":[{"role":"user","content":"hi"},
				{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}]}`,
			wantParam: "messages[1].tool_calls[0].function.arguments",
		},
		{
			name: "tool call arguments that are JSON but not an object are refused",
			body: `{"model":"m","messages":[{"role":"assistant","content":null,
				"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}]}`,
			wantParam: "messages[0].tool_calls[0].function.arguments",
		},
		{
			name:      "a tool message without tool_call_id is refused",
			body:      `{"model":"m","messages":[{"role":"tool","content":"42"}]}`,
			wantParam: "messages[0].tool_call_id",
		},
		{
			name:      "an unknown role is refused",
			body:      `{"model":"m","messages":[{"role":"function","content":"42"}]}`,
			wantParam: "messages[0].role",
		},
		{
			name:      "audio input is refused",
			body:      `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`,
			wantParam: "messages[0].content[0].type",
		},
		{
			name:      "an image URL that is neither http(s) nor data is refused",
			body:      `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`,
			wantParam: "messages[0].content[0].image_url.url",
		},
		{
			name:      "a data URL that is not base64 is refused",
			body:      `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"data:image/png,rawbytes"}}]}]}`,
			wantParam: "messages[0].content[1].image_url.url",
		},
		{
			name:      "an unknown tool_choice string is refused",
			body:      `{"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}`,
			wantParam: "tool_choice",
		},
		{
			name:      "a tool that is not a function is refused",
			body:      `{"model":"m","messages":[],"tools":[{"type":"code_interpreter","function":{"name":"f"}}]}`,
			wantParam: "tools[0].type",
		},
		{
			name:      "a reasoning_effort outside OpenAI's values is refused",
			body:      `{"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"extreme"}`,
			wantParam: "reasoning_effort",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := translateRequest("m", decodeChat(t, tt.body))
			e, ok := err.(*openai.Error)
			if !ok {
				t.Fatalf("err = %v (%T), want *openai.Error", err, err)
			}
			if e.HTTPStatus() != 400 || e.Type() != "invalid_request_error" || e.Param != tt.wantParam {
				t.Errorf("got %d %s param %q, want 400 invalid_request_error param %q (%s)",
					e.HTTPStatus(), e.Type(), e.Param, tt.wantParam, e.Message)
			}
		})
	}
}

func TestToolChoiceTranslation(t *testing.T) {
	const tools = `"tools":[{"type":"function","function":{"name":"f"}}]`
	tests := []struct {
		name string
		body string
		want string // JSON of tool_choice, "" when absent
	}{
		{"auto becomes auto", `{"messages":[],` + tools + `,"tool_choice":"auto"}`, `{"type":"auto"}`},
		{"required becomes any", `{"messages":[],` + tools + `,"tool_choice":"required"}`, `{"type":"any"}`},
		{"none becomes none", `{"messages":[],` + tools + `,"tool_choice":"none"}`, `{"type":"none"}`},
		{"a named function becomes a named tool",
			`{"messages":[],` + tools + `,"tool_choice":{"type":"function","function":{"name":"f"}}}`, `{"type":"tool","name":"f"}`},
		{"parallel_tool_calls false without a choice disables parallel use under auto",
			`{"messages":[],` + tools + `,"parallel_tool_calls":false}`, `{"type":"auto","disable_parallel_tool_use":true}`},
		{"parallel_tool_calls false with required disables parallel use under any",
			`{"messages":[],` + tools + `,"tool_choice":"required","parallel_tool_calls":false}`, `{"type":"any","disable_parallel_tool_use":true}`},
		{"parallel_tool_calls false leaves none alone",
			`{"messages":[],` + tools + `,"tool_choice":"none","parallel_tool_calls":false}`, `{"type":"none"}`},
		{"parallel_tool_calls true sends no choice", `{"messages":[],` + tools + `,"parallel_tool_calls":true}`, ``},
		{"a choice without tools is dropped", `{"messages":[],"tool_choice":"auto"}`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mr, err := translateRequest("m", decodeChat(t, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if mr.ToolChoice != nil {
				b, _ := json.Marshal(mr.ToolChoice)
				got = string(b)
			}
			if got != tt.want {
				t.Errorf("tool_choice = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRequestTranslationDetails(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, mr *messagesRequest)
	}{
		{
			name: "max_tokens defaults to 4096 when the client set no limit",
			body: `{"messages":[{"role":"user","content":"hi"}]}`,
			check: func(t *testing.T, mr *messagesRequest) {
				if mr.MaxTokens != DefaultMaxTokens {
					t.Errorf("max_tokens = %d", mr.MaxTokens)
				}
			},
		},
		{
			name: "max_tokens is used when max_completion_tokens is absent",
			body: `{"messages":[{"role":"user","content":"hi"}],"max_tokens":77}`,
			check: func(t *testing.T, mr *messagesRequest) {
				if mr.MaxTokens != 77 {
					t.Errorf("max_tokens = %d", mr.MaxTokens)
				}
			},
		},
		{
			name: "a tool with null parameters gets an empty object schema",
			body: `{"messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":null}}]}`,
			check: func(t *testing.T, mr *messagesRequest) {
				if len(mr.Tools) != 1 || string(mr.Tools[0].InputSchema) != `{"type":"object"}` {
					t.Errorf("tools = %+v", mr.Tools)
				}
			},
		},
		{
			name: "json_object response format adds a JSON instruction after the system prompt",
			body: `{"messages":[{"role":"system","content":"Be brief."}],"response_format":{"type":"json_object"}}`,
			check: func(t *testing.T, mr *messagesRequest) {
				b, _ := json.Marshal(mr.System)
				var system string
				if err := json.Unmarshal(b, &system); err != nil || !strings.HasPrefix(system, "Be brief.\n\n") || !strings.Contains(system, "JSON object") {
					t.Errorf("system = %s", b)
				}
			},
		},
		{
			name: "consecutive assistant messages merge into one turn",
			body: `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"assistant","content":"c"}]}`,
			check: func(t *testing.T, mr *messagesRequest) {
				if len(mr.Messages) != 2 || len(mr.Messages[1].Content) != 2 {
					t.Errorf("messages = %+v", mr.Messages)
				}
			},
		},
		{
			name: "empty messages are dropped rather than sent as empty text",
			body: `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":""},{"role":"user","content":"b"}]}`,
			check: func(t *testing.T, mr *messagesRequest) {
				if len(mr.Messages) != 1 || len(mr.Messages[0].Content) != 2 {
					t.Errorf("messages = %+v", mr.Messages)
				}
			},
		},
		{
			name: "a request without messages still sends an empty list",
			body: `{"messages":[{"role":"system","content":"s"}]}`,
			check: func(t *testing.T, mr *messagesRequest) {
				b, _ := provider.Marshal(mr)
				if !strings.Contains(string(b), `"messages":[]`) {
					t.Errorf("body = %s", b)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mr, err := translateRequest("m", decodeChat(t, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, mr)
		})
	}
}
