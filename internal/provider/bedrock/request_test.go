package bedrock

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/aigateway/gateway/internal/openai"
)

// TestRequestsBedrockCannotTake: requests Converse cannot express fail with
// a 400 naming the field, before any call to Bedrock, for Chat and ChatStream.
func TestRequestsBedrockCannotTake(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		param   string
		message string
	}{
		{
			name:  "n greater than one is refused",
			body:  `{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`,
			param: "n", message: "one choice",
		},
		{
			name:  "an https image URL is refused with a hint to send a data URL",
			body:  `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`,
			param: "messages[0].content[0].image_url.url", message: "data: URL",
		},
		{
			name:  "an image format Bedrock does not read is refused",
			body:  `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,Qk0="}}]}]}`,
			param: "messages[0].content[0].image_url.url", message: "png, jpeg, gif and webp",
		},
		{
			name:  "an image data URL that is not base64 is refused",
			body:  `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,%%%"}}]}]}`,
			param: "messages[0].content[0].image_url.url", message: "not valid base64",
		},
		{
			name:  "audio input is refused",
			body:  `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`,
			param: "messages[0].content[0].type", message: "input_audio",
		},
		{
			name:  "tool call arguments that are not JSON are refused",
			body:  `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`,
			param: "messages[1].tool_calls[0].function.arguments", message: "must be JSON",
		},
		{
			name:  "tool call arguments with an empty key are refused rather than sent broken",
			body:  `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"\":1}"}}]}]}`,
			param: "messages[1].tool_calls[0].function.arguments", message: "must be JSON",
		},
		{
			name:  "a tool message without tool_call_id is refused",
			body:  `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","content":"42"}]}`,
			param: "messages[1].tool_call_id", message: "tool_call_id",
		},
		{
			name:  "tool_choice naming a function that is not among the tools is refused",
			body:  `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"b"}}}`,
			param: "tool_choice", message: `"b"`,
		},
		{
			name:  "an unknown tool_choice is refused",
			body:  `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":"sometimes"}`,
			param: "tool_choice", message: "sometimes",
		},
		{
			name:  "tool parameters with an empty key are refused",
			body:  `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a","parameters":{"":{}}}}]}`,
			param: "tools[0].function.parameters", message: "JSON schema",
		},
		{
			name:  "a request with only system messages is refused",
			body:  `{"model":"m","messages":[{"role":"system","content":"be brief"}]}`,
			param: "messages", message: "at least one",
		},
		{
			name:  "an unknown role is refused",
			body:  `{"model":"m","messages":[{"role":"function","content":"x"}]}`,
			param: "messages[0].role", message: "function",
		},
		{
			name:  "a client tool named like the response_format tool is refused",
			body:  `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"json_response"}}],"response_format":{"type":"json_object"}}`,
			param: "tools", message: "json_response",
		},
		{
			name:  "an unknown response_format type is refused",
			body:  `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"yaml"}}`,
			param: "response_format.type", message: "yaml",
		},
		{
			name:  "a thinking setting that is not an object is refused",
			body:  `{"model":"m","messages":[{"role":"user","content":"hi"}],"thinking":"on"}`,
			param: "thinking", message: "JSON object",
		},
		{
			name:  "redacted thinking data that is not base64 is refused",
			body:  `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"x","thinking_blocks":[{"type":"redacted_thinking","data":"%%%"}]}]}`,
			param: "messages[1].thinking_blocks[0].data", message: "base64",
		},
		{
			name:  "a zero max_tokens is refused",
			body:  `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`,
			param: "max_tokens", message: "positive",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, f := newTestProvider(t, jsonAnswer(200, "", converseAnswer))
			_, chatErr := p.Chat(context.Background(), chatRequest(t, tt.body))
			s, streamErr := p.ChatStream(context.Background(), chatRequest(t, tt.body))
			if streamErr == nil {
				s.Close()
			}
			for _, err := range []error{chatErr, streamErr} {
				if err == nil {
					t.Fatal("the request was accepted, want a 400")
				}
				e := asGatewayError(t, err)
				if e.HTTPStatus() != 400 || e.Type() != "invalid_request_error" || e.Retryable {
					t.Errorf("got %v (status %d, type %s, retryable %v), want a non-retryable 400 invalid_request_error", e, e.HTTPStatus(), e.Type(), e.Retryable)
				}
				if e.Param != tt.param {
					t.Errorf("param = %q, want %q", e.Param, tt.param)
				}
				if !strings.Contains(e.Message, tt.message) {
					t.Errorf("message %q does not contain %q", e.Message, tt.message)
				}
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("the fake got %d requests, want none", n)
			}
		})
	}
}

// TestTranslateRequestShapes pins translation rules the golden files do not
// show on their own.
func TestTranslateRequestShapes(t *testing.T) {
	translate := func(t *testing.T, body string) *converseRequest {
		t.Helper()
		var r openai.ChatRequest
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		c, err := translateRequest(testModel, &r)
		if err != nil {
			t.Fatalf("translateRequest: %v", err)
		}
		return c
	}
	t.Run("tool_choice auto sends the tools without a toolChoice", func(t *testing.T) {
		c := translate(t, `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":"auto"}`)
		if c.tools == nil || len(c.tools.Tools) != 1 || c.tools.ToolChoice != nil {
			t.Errorf("tools = %+v, want one tool and no toolChoice", c.tools)
		}
	})
	t.Run("consecutive user messages are merged into one turn", func(t *testing.T) {
		c := translate(t, `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"assistant","content":"c"}]}`)
		if len(c.messages) != 2 || len(c.messages[0].Content) != 2 {
			t.Errorf("got %d turns (first with %d blocks), want 2 turns with the first holding both texts", len(c.messages), len(c.messages[0].Content))
		}
	})
	t.Run("an assistant message with no content and no tool calls is dropped", func(t *testing.T) {
		c := translate(t, `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":""},{"role":"user","content":"b"}]}`)
		if len(c.messages) != 1 || c.messages[0].Role != types.ConversationRoleUser {
			t.Errorf("got %d turns, want the two user messages merged into one", len(c.messages))
		}
	})
	t.Run("empty tool call arguments become an empty object", func(t *testing.T) {
		c := translate(t, `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":""}}]}],"tools":[{"type":"function","function":{"name":"f"}}]}`)
		tu, ok := c.messages[1].Content[0].(*types.ContentBlockMemberToolUse)
		if !ok {
			t.Fatalf("block is %T, want a toolUse", c.messages[1].Content[0])
		}
		b, err := tu.Value.Input.MarshalSmithyDocument()
		if err != nil || string(b) != "{}" {
			t.Errorf("input = %s (%v), want {}", b, err)
		}
	})
	t.Run("without sampling fields there is no inferenceConfig", func(t *testing.T) {
		c := translate(t, `{"model":"m","messages":[{"role":"user","content":"a"}]}`)
		if c.inference != nil {
			t.Errorf("inference = %+v, want nil", c.inference)
		}
	})
	t.Run("a model that cannot be made to call a tool gets response_format as an instruction", func(t *testing.T) {
		var r openai.ChatRequest
		_ = json.Unmarshal([]byte(`{"model":"m","messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}}`), &r)
		c, err := translateRequest("meta.llama3-1-70b-instruct-v1:0", &r)
		if err != nil {
			t.Fatal(err)
		}
		last, ok := c.system[len(c.system)-1].(*types.SystemContentBlockMemberText)
		if c.tools != nil || c.jsonTool != "" || !ok || !strings.Contains(last.Value, `{"properties":{"a":{"type":"string"}},"type":"object"}`) {
			t.Errorf("tools %+v, jsonTool %q, system %+v: want the schema as an instruction", c.tools, c.jsonTool, c.system)
		}
	})
	t.Run("Claude with thinking on gets response_format as an instruction, not a forced tool", func(t *testing.T) {
		c := translate(t, `{"model":"m","messages":[{"role":"user","content":"a"}],"thinking":{"type":"enabled","budget_tokens":1024},"max_tokens":3000,"response_format":{"type":"json_object"}}`)
		if c.tools != nil || c.jsonTool != "" || len(c.system) != 1 || *c.inference.MaxTokens != 3000 {
			t.Errorf("tools %+v, jsonTool %q, system %+v, inference %+v", c.tools, c.jsonTool, c.system, c.inference)
		}
	})
	t.Run("thinking reaches only Claude models", func(t *testing.T) {
		var r openai.ChatRequest
		_ = json.Unmarshal([]byte(`{"model":"m","messages":[{"role":"user","content":"a"}],"thinking":{"type":"enabled","budget_tokens":1024}}`), &r)
		c, err := translateRequest("amazon.nova-pro-v1:0", &r)
		if err != nil || c.additional != nil || c.inference != nil {
			t.Errorf("nova request %+v, %v: want no thinking field and no max_tokens", c, err)
		}
	})
	t.Run("tool calls without any tools are sent as text", func(t *testing.T) {
		c := translate(t, `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}]}`)
		call, ok1 := c.messages[1].Content[0].(*types.ContentBlockMemberText)
		result, ok2 := c.messages[2].Content[0].(*types.ContentBlockMemberText)
		if c.tools != nil || !ok1 || !ok2 || call.Value != "[tool call c1: f({})]" || result.Value != "[tool result c1: 42]" {
			t.Errorf("messages %+v", c.messages)
		}
	})
	t.Run("max_completion_tokens wins over max_tokens", func(t *testing.T) {
		c := translate(t, `{"model":"m","max_tokens":10,"max_completion_tokens":20,"messages":[{"role":"user","content":"a"}]}`)
		if c.inference == nil || *c.inference.MaxTokens != 20 {
			t.Errorf("inference = %+v, want maxTokens 20", c.inference)
		}
	})
}
