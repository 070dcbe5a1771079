package responses

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

// Each testdata/tochat/<name>.json holds a Responses request and the history
// its previous_response_id stands for; <name>.golden.json is the chat request
// ToChat makes of them.
func TestToChatGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/tochat/*.json")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		n++
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var tc struct {
				Request json.RawMessage `json:"request"`
				History []Item          `json:"history"`
			}
			if err := json.Unmarshal(raw, &tc); err != nil {
				t.Fatal(err)
			}
			chat, err := ToChat(mustParse(t, tc.Request), tc.History)
			if err != nil {
				t.Fatalf("ToChat: %v", err)
			}
			b, err := marshal(chat)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".json")+".golden.json", pretty(t, b))
		})
	}
	if n == 0 {
		t.Fatal("no cases in testdata/tochat")
	}
}

func TestToChatMapsEachParameter(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		check func(t *testing.T, c *openai.ChatRequest)
	}{
		{"instructions become the first system message", `{"model":"m","instructions":"be brief","input":[{"role":"system","content":"s"},{"role":"user","content":"u"}]}`,
			func(t *testing.T, c *openai.ChatRequest) {
				if len(c.Messages) != 3 || c.Messages[0].Role != "system" || c.Messages[0].Content.Text != "be brief" || c.Messages[1].Content.Text != "s" {
					t.Fatalf("messages = %+v", c.Messages)
				}
			}},
		{"max_output_tokens becomes max_tokens", `{"model":"m","input":"x","max_output_tokens":64}`, func(t *testing.T, c *openai.ChatRequest) {
			if c.MaxOutputTokens() != 64 || c.MaxTokens == nil {
				t.Fatalf("max tokens = %v / %v", c.MaxTokens, c.MaxCompletionTokens)
			}
		}},
		{"reasoning effort becomes reasoning_effort", `{"model":"m","input":"x","reasoning":{"effort":"high"}}`, func(t *testing.T, c *openai.ChatRequest) {
			if c.ReasoningEffort != "high" {
				t.Fatalf("reasoning_effort = %q", c.ReasoningEffort)
			}
		}},
		{"a stream asks for the usage chunk", `{"model":"m","input":"x","stream":true}`, func(t *testing.T, c *openai.ChatRequest) {
			if !c.Stream || !c.WantsUsageChunk() {
				t.Fatalf("stream = %v, usage chunk = %v", c.Stream, c.WantsUsageChunk())
			}
		}},
		{"tool_choice and parallel_tool_calls without tools are dropped, as chat refuses them", `{"model":"m","input":"x","tool_choice":"auto","parallel_tool_calls":true}`,
			func(t *testing.T, c *openai.ChatRequest) {
				if c.ToolChoice != nil || c.ParallelToolCalls != nil {
					t.Fatalf("tool_choice = %s, parallel = %v", c.ToolChoice, c.ParallelToolCalls)
				}
			}},
		{"tool_choice required stays required", `{"model":"m","input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":"required"}`,
			func(t *testing.T, c *openai.ChatRequest) {
				tc, err := c.ParseToolChoice()
				if err != nil || tc.Mode != "required" {
					t.Fatalf("tool_choice = %s (%v)", c.ToolChoice, err)
				}
			}},
		{"a named function tool_choice takes the chat shape", `{"model":"m","input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"f"}}`,
			func(t *testing.T, c *openai.ChatRequest) {
				tc, err := c.ParseToolChoice()
				if err != nil || tc.Mode != "function" || tc.Function != "f" {
					t.Fatalf("tool_choice = %s (%v)", c.ToolChoice, err)
				}
			}},
		{"a function call right after a user message opens an assistant message with null content", `{"model":"m","input":[{"role":"user","content":"u"},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"ok"}]}`,
			func(t *testing.T, c *openai.ChatRequest) {
				a := c.Messages[1]
				if a.Role != "assistant" || !a.Content.IsNull || len(a.ToolCalls) != 1 || a.ToolCalls[0].ID != "c1" {
					t.Fatalf("assistant = %+v", a)
				}
				if tm := c.Messages[2]; tm.Role != "tool" || tm.ToolCallID != "c1" || tm.Content.Text != "ok" {
					t.Fatalf("tool = %+v", tm)
				}
			}},
		{"an assistant refusal in history is kept as the refusal", `{"model":"m","input":[{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]},{"role":"user","content":"please"}]}`,
			func(t *testing.T, c *openai.ChatRequest) {
				if c.Messages[0].Refusal != "no" {
					t.Fatalf("assistant = %+v", c.Messages[0])
				}
			}},
		{"metadata and store stay with the gateway", `{"model":"m","input":"x","metadata":{"a":"b"},"store":false}`, func(t *testing.T, c *openai.ChatRequest) {
			if c.Metadata != nil {
				t.Fatalf("metadata = %v", c.Metadata)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ToChat(mustParse(t, []byte(tc.body)), nil)
			if err != nil {
				t.Fatalf("ToChat: %v", err)
			}
			tc.check(t, c)
		})
	}
}

func TestToChatRefusesWhatChatCannotCarry(t *testing.T) {
	cases := []struct {
		name, body, history, param string
	}{
		{"a built-in tool", `{"model":"m","input":"x","tools":[{"type":"function","name":"f"},{"type":"web_search"}]}`, ``, "tools[1].type"},
		{"a built-in tool_choice", `{"model":"m","input":"x","tool_choice":{"type":"file_search"}}`, ``, "tool_choice.type"},
		{"a built-in tool in allowed_tools", `{"model":"m","input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"mcp","server_label":"s"}]}}`, ``, "tool_choice.tools[0]"},
		{"a tool_choice naming a function that is not in tools", `{"model":"m","input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"g"}}`, ``, "tool_choice.name"},
		{"an image given by file id", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`, ``, "input[0].content[0].file_id"},
		{"a file input", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}`, ``, "input[0].content[0]"},
		{"an image in a function call output", `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","image_url":"https://x/y.png"}]}]}`, ``, "input[0].output[0].type"},
		{"an item reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, ``, "input[0]"},
		{"a built-in tool call item", `{"model":"m","input":[{"type":"web_search_call","id":"ws_1","status":"completed"}]}`, ``, "input[0]"},
		{"a built-in tool call in the previous response", `{"model":"m","previous_response_id":"resp_1","input":"and now?"}`, `[{"type":"web_search_call","id":"ws_1"}]`, "previous_response_id"},
		{"background mode", `{"model":"m","input":"x","background":true}`, ``, "background"},
		{"a conversation", `{"model":"m","input":"x","conversation":"conv_1"}`, ``, "conversation"},
		{"a stored prompt", `{"model":"m","prompt":{"id":"pmpt_1"}}`, ``, "prompt"},
		{"nothing to answer", `{"model":"m","input":[]}`, ``, "input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var history []Item
			if tc.history != "" {
				if err := json.Unmarshal([]byte(tc.history), &history); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ToChat(mustParse(t, []byte(tc.body)), history)
			var e *openai.Error
			if !errors.As(err, &e) {
				t.Fatalf("ToChat error = %v, want *openai.Error", err)
			}
			if e.Param != tc.param || e.HTTPStatus() != 400 || e.Code != openai.CodeInvalidRequest {
				t.Fatalf("error = param %q status %d code %q (%s), want param %q, 400", e.Param, e.HTTPStatus(), e.Code, e.Message, tc.param)
			}
		})
	}
}
