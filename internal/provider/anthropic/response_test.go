package anthropic

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

func TestStopReasonsMapToFinishReasons(t *testing.T) {
	tests := []struct{ stop, want string }{
		{"end_turn", "stop"},
		{"stop_sequence", "stop"},
		{"pause_turn", "stop"},
		{"max_tokens", "length"},
		{"tool_use", "tool_calls"},
		{"refusal", "content_filter"},
		{"", "stop"},
		{"a_reason_added_later", "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.stop+" finishes with "+tt.want, func(t *testing.T) {
			if got := finishReason(tt.stop); got != tt.want {
				t.Errorf("finishReason(%q) = %q, want %q", tt.stop, got, tt.want)
			}
		})
	}
}

func TestUnreadableResponsesAreRetryable502s(t *testing.T) {
	tests := []struct {
		name, body, wantInMessage string
	}{
		{"a body that is not JSON", `<html>oops</html>`, "could not read"},
		{"a body that is not a message", `{"type":"completion","completion":"hi"}`, "not a message"},
		{"an error object with a 200 status", `{"type":"error","error":{"type":"api_error","message":"boom"}}`, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := translateResponse(provider.Upstream{Name: "anthropic"}, []byte(tt.body), 0)
			e, ok := err.(*openai.Error)
			if !ok {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if e.HTTPStatus() != 502 || !e.Retryable || !strings.Contains(e.Message, tt.wantInMessage) {
				t.Errorf("got %d retryable=%v %q", e.HTTPStatus(), e.Retryable, e.Message)
			}
		})
	}
}

func TestAnswerWithoutTextOrToolsHasEmptyStringContent(t *testing.T) {
	body := `{"id":"m","type":"message","role":"assistant","model":"c","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":0}}`
	out, _, err := translateResponse(provider.Upstream{Name: "anthropic"}, []byte(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	var cc openai.ChatCompletion
	if err := json.Unmarshal(out, &cc); err != nil {
		t.Fatal(err)
	}
	if c := cc.Choices[0].Message.Content; c == nil || *c != "" {
		t.Errorf("content = %v, want an empty string", c)
	}
}

func TestToolUseWithoutInputHasEmptyObjectArguments(t *testing.T) {
	body := `{"id":"m","type":"message","model":"c","content":[{"type":"tool_use","id":"t1","name":"now"}],"stop_reason":"tool_use","usage":{}}`
	out, _, err := translateResponse(provider.Upstream{Name: "anthropic"}, []byte(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	var cc openai.ChatCompletion
	if err := json.Unmarshal(out, &cc); err != nil {
		t.Fatal(err)
	}
	if tc := cc.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Arguments != "{}" {
		t.Errorf("tool calls = %+v, want one with arguments {}", tc)
	}
}
