package responses

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

func TestParseAcceptsTheRequestShapesOfTheAPI(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		check func(t *testing.T, r *Request)
	}{
		{"a string input is one user message", `{"model":"m","input":"Hello!"}`, func(t *testing.T, r *Request) {
			items := r.Items()
			if len(items) != 1 || items[0].Type != TypeMessage || items[0].Role != "user" || items[0].Content.Text != "Hello!" {
				t.Fatalf("items = %+v", items)
			}
		}},
		{"an easy message without a type is a message", `{"model":"m","input":[{"role":"user","content":"hi"}]}`, func(t *testing.T, r *Request) {
			if it := r.Input.Items[0]; it.Type != TypeMessage || it.Content.Text != "hi" || it.Content.List {
				t.Fatalf("item = %+v", it)
			}
		}},
		{"message parts keep their types", `{"model":"m","input":[{"type":"message","role":"user","content":[
			{"type":"input_text","text":"what is this?"},
			{"type":"input_image","image_url":"https://example.com/a.png","detail":"low"},
			{"type":"input_image","file_id":"file-1"}]}]}`, func(t *testing.T, r *Request) {
			ps := r.Input.Items[0].Content.Parts
			if len(ps) != 3 || ps[0].Text != "what is this?" || ps[1].ImageURL != "https://example.com/a.png" || ps[1].Detail != "low" || ps[2].FileID != "file-1" {
				t.Fatalf("parts = %+v", ps)
			}
		}},
		{"assistant history with output_text, a call and its output", `{"model":"m","input":[
			{"role":"user","content":"weather?"},
			{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Let me look.","annotations":[]}]},
			{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
			{"type":"function_call_output","call_id":"call_1","output":"{\"temp\":21}"}]}`, func(t *testing.T, r *Request) {
			it := r.Input.Items
			if it[2].CallID != "call_1" || it[2].Name != "get_weather" || it[2].Arguments != `{"city":"Paris"}` {
				t.Fatalf("call = %+v", it[2])
			}
			if it[3].Type != TypeFunctionCallOutput || it[3].Output.Text != `{"temp":21}` {
				t.Fatalf("output = %+v", it[3])
			}
		}},
		{"unknown item and tool types are kept for native upstreams", `{"model":"m","input":[{"type":"reasoning","id":"rs_1","summary":[]}],
			"tools":[{"type":"web_search"}]}`, func(t *testing.T, r *Request) {
			b, _ := json.Marshal(r.Input.Items[0])
			if string(b) != `{"type":"reasoning","id":"rs_1","summary":[]}` {
				t.Fatalf("reasoning item = %s", b)
			}
			if r.Tools[0].Type != "web_search" {
				t.Fatalf("tools = %+v", r.Tools)
			}
		}},
		{"previous_response_id stands in for input", `{"model":"m","previous_response_id":"resp_1"}`, func(t *testing.T, r *Request) {
			if r.PreviousResponseID != "resp_1" || r.Input.Set {
				t.Fatalf("request = %+v", r)
			}
		}},
		{"every translated parameter is read", `{"model":"m","input":"x","instructions":"be brief","max_output_tokens":100,
			"temperature":0.5,"top_p":0.9,"reasoning":{"effort":"low"},"metadata":{"k":"v"},"user":"u1","stream":true,"store":false,
			"parallel_tool_calls":false,"tool_choice":{"type":"function","name":"f"},
			"tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":true}],
			"text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"}}},"unknown_field":{"a":1}}`, func(t *testing.T, r *Request) {
			if *r.Instructions != "be brief" || *r.MaxOutputTokens != 100 || *r.Temperature != 0.5 || *r.TopP != 0.9 ||
				r.Reasoning.Effort != "low" || r.Metadata["k"] != "v" || r.User != "u1" || !r.Stream || *r.Store ||
				*r.ParallelToolCalls || r.Text.Format.Name != "out" || !*r.Tools[0].Strict {
				t.Fatalf("request = %+v", r)
			}
			if !strings.Contains(string(r.Raw), "unknown_field") {
				t.Fatal("the raw body must be kept for native upstreams")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.check(t, r)
		})
	}
}

func TestParseRejectsBadRequestsNamingTheParameter(t *testing.T) {
	cases := []struct {
		name, body, param string
		code              openai.Code
	}{
		{"a body that is not JSON", `{"model":`, "", openai.CodeInvalidJSON},
		{"a body that is an array", `[1]`, "", openai.CodeInvalidJSON},
		{"a missing model", `{"input":"x"}`, "model", openai.CodeInvalidRequest},
		{"a missing input", `{"model":"m"}`, "input", openai.CodeInvalidRequest},
		{"an input that is a number", `{"model":"m","input":5}`, "input", openai.CodeInvalidRequest},
		{"a temperature that is a string", `{"model":"m","input":"x","temperature":"hot"}`, "temperature", openai.CodeInvalidRequest},
		{"a temperature above 2", `{"model":"m","input":"x","temperature":3}`, "temperature", openai.CodeInvalidRequest},
		{"a top_p above 1", `{"model":"m","input":"x","top_p":1.5}`, "top_p", openai.CodeInvalidRequest},
		{"max_output_tokens below 16", `{"model":"m","input":"x","max_output_tokens":5}`, "max_output_tokens", openai.CodeInvalidRequest},
		{"an unknown role", `{"model":"m","input":[{"role":"robot","content":"x"}]}`, "input[0].role", openai.CodeInvalidRequest},
		{"an item without type or role", `{"model":"m","input":[{"content":"x"}]}`, "input[0].type", openai.CodeInvalidRequest},
		{"a message without content", `{"model":"m","input":[{"role":"user"}]}`, "input[0].content", openai.CodeInvalidRequest},
		{"content that is a number", `{"model":"m","input":[{"role":"user","content":1}]}`, "input[0].content", openai.CodeInvalidRequest},
		{"a role that is a number", `{"model":"m","input":[{"role":1,"content":"x"}]}`, "input[0].role", openai.CodeInvalidRequest},
		{"input_text in an assistant message", `{"model":"m","input":[{"role":"assistant","content":[{"type":"input_text","text":"x"}]}]}`, "input[0].content[0].type", openai.CodeInvalidRequest},
		{"output_text in a user message", `{"model":"m","input":[{"role":"user","content":[{"type":"output_text","text":"x"}]}]}`, "input[0].content[0].type", openai.CodeInvalidRequest},
		{"an image without url or file", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image"}]}]}`, "input[0].content[0].image_url", openai.CodeInvalidRequest},
		{"an image url that is a path", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"/etc/passwd"}]}]}`, "input[0].content[0].image_url", openai.CodeInvalidRequest},
		{"a text part whose text is a number", `{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":7}]}]}`, "input[0].content[0].text", openai.CodeInvalidRequest},
		{"a function call without call_id", `{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}`, "input[0].call_id", openai.CodeInvalidRequest},
		{"a function call output without output", `{"model":"m","input":[{"type":"function_call_output","call_id":"c"}]}`, "input[0].output", openai.CodeInvalidRequest},
		{"a tool without type", `{"model":"m","input":"x","tools":[{"name":"f"}]}`, "tools[0].type", openai.CodeInvalidRequest},
		{"a function tool with a bad name", `{"model":"m","input":"x","tools":[{"type":"function","name":"get weather"}]}`, "tools[0].name", openai.CodeInvalidRequest},
		{"function parameters that are not an object", `{"model":"m","input":"x","tools":[{"type":"function","name":"f","parameters":[1]}]}`, "tools[0].parameters", openai.CodeInvalidRequest},
		{"an unknown tool_choice string", `{"model":"m","input":"x","tool_choice":"always"}`, "tool_choice", openai.CodeInvalidRequest},
		{"a function tool_choice without name", `{"model":"m","input":"x","tool_choice":{"type":"function"}}`, "tool_choice.name", openai.CodeInvalidRequest},
		{"allowed_tools with a bad mode", `{"model":"m","input":"x","tool_choice":{"type":"allowed_tools","mode":"none","tools":[{"type":"function","name":"f"}]}}`, "tool_choice.mode", openai.CodeInvalidRequest},
		{"an unknown text format", `{"model":"m","input":"x","text":{"format":{"type":"xml"}}}`, "text.format.type", openai.CodeInvalidRequest},
		{"a json_schema format without schema", `{"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"s"}}}`, "text.format.schema", openai.CodeInvalidRequest},
		{"a json_schema format without name", `{"model":"m","input":"x","text":{"format":{"type":"json_schema","schema":{}}}}`, "text.format.name", openai.CodeInvalidRequest},
		{"a text format type that is a number", `{"model":"m","input":"x","text":{"format":{"type":1}}}`, "text.format.type", openai.CodeInvalidRequest},
		{"an unknown verbosity", `{"model":"m","input":"x","text":{"verbosity":"loud"}}`, "text.verbosity", openai.CodeInvalidRequest},
		{"an unknown reasoning effort", `{"model":"m","input":"x","reasoning":{"effort":"extreme"}}`, "reasoning.effort", openai.CodeInvalidRequest},
		{"metadata values that are not strings", `{"model":"m","input":"x","metadata":{"a":1}}`, "metadata", openai.CodeInvalidRequest},
		{"metadata with too many pairs", `{"model":"m","input":"x","metadata":{` + manyPairs(17) + `}}`, "metadata", openai.CodeInvalidRequest},
		{"stream that is a string", `{"model":"m","input":"x","stream":"yes"}`, "stream", openai.CodeInvalidRequest},
		{"previous_response_id with conversation", `{"model":"m","input":"x","previous_response_id":"resp_1","conversation":"conv_1"}`, "previous_response_id", openai.CodeInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body))
			var e *openai.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error = %v, want *openai.Error", err)
			}
			if e.Code != tc.code || e.Param != tc.param || e.HTTPStatus() != http.StatusBadRequest {
				t.Fatalf("error = code %q param %q status %d (%s), want code %q param %q status 400",
					e.Code, e.Param, e.HTTPStatus(), e.Message, tc.code, tc.param)
			}
			if e.Message == "" || (tc.param != "" && !strings.Contains(e.Message, tc.param)) {
				t.Fatalf("message %q should name %q", e.Message, tc.param)
			}
		})
	}
}

func manyPairs(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `":"v"`)
	}
	return b.String()
}

func TestItemsWriteTheAPIShapes(t *testing.T) {
	cases := []struct {
		name string
		item Item
		want string
	}{
		{"an output message carries annotations and logprobs", Item{Type: TypeMessage, ID: "msg_1", Status: StatusCompleted, Role: "assistant",
			Content: Content{List: true, Parts: []Part{{Type: PartOutputText, Text: "a<b>&c"}}}},
			`{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"a<b>&c","annotations":[],"logprobs":[]}]}`},
		{"an in-progress message has empty content", Item{Type: TypeMessage, ID: "msg_1", Status: StatusInProgress, Role: "assistant", Content: Content{List: true}},
			`{"type":"message","id":"msg_1","status":"in_progress","role":"assistant","content":[]}`},
		{"a function call always has its arguments", Item{Type: TypeFunctionCall, ID: "fc_1", Status: StatusInProgress, CallID: "call_1", Name: "f"},
			`{"type":"function_call","id":"fc_1","status":"in_progress","call_id":"call_1","name":"f","arguments":""}`},
		{"a function call output with a string", Item{Type: TypeFunctionCallOutput, CallID: "call_1", Output: Content{Text: "42"}},
			`{"type":"function_call_output","call_id":"call_1","output":"42"}`},
		{"an image part names its detail", Item{Type: TypeMessage, Role: "user", Content: Content{List: true, Parts: []Part{{Type: PartInputImage, ImageURL: "https://x/y.png"}}}},
			`{"type":"message","role":"user","content":[{"type":"input_image","image_url":"https://x/y.png","detail":"auto"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := marshal(tc.item)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("got  %s\nwant %s", b, tc.want)
			}
			var back Item
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			again, _ := marshal(back)
			if string(again) != tc.want {
				t.Fatalf("round trip changed the item:\n%s\n%s", again, tc.want)
			}
		})
	}
}
