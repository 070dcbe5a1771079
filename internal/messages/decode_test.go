package messages

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// base is a minimal valid body; tests splice fields into it.
const base = `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Hi"}]`

func body(extra string) []byte {
	if extra == "" {
		return []byte(base + "}")
	}
	return []byte(base + "," + extra + "}")
}

func TestDecodeRefusesWhatAnthropicRefusesNamingTheField(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"an empty body", ``, "request body is empty"},
		{"a body that is not JSON", `{"model":`, "not valid JSON"},
		{"a body that is an array", `[1]`, "must be a JSON object"},
		{"a missing model", `{"max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, "model: Field required"},
		{"a model that is not a string", `{"model":5,"max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, "model: Input should be a valid string"},
		{"an empty model", `{"model":"","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, "model: String should have at least 1 character"},
		{"a missing max_tokens", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, "max_tokens: Field required"},
		{"a fractional max_tokens", `{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"x"}]}`, "max_tokens: Input should be a valid integer"},
		{"a zero max_tokens", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, "max_tokens: Input should be greater than or equal to 1"},
		{"missing messages", `{"model":"m","max_tokens":1}`, "messages: Field required"},
		{"no messages", `{"model":"m","max_tokens":1,"messages":[]}`, "at least one message"},
		{"messages that are not a list", `{"model":"m","max_tokens":1,"messages":{}}`, "messages: Input should be a valid list"},
		{"a message that is not an object", `{"model":"m","max_tokens":1,"messages":["hi"]}`, "messages.0: Input should be a message object"},
		{"an unknown role", `{"model":"m","max_tokens":1,"messages":[{"role":"tool","content":"x"}]}`, "messages.0.role: Input should be 'user' or 'assistant'"},
		{"a missing content", `{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}`, "messages.0.content: Field required"},
		{"an empty content before the last turn", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[]},{"role":"user","content":"x"}]}`, "messages.0: all messages must have non-empty content"},
		{"a content that is a number", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":3}]}`, "messages.0.content: Input should be a string or a list"},
		{"a block without a type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"text":"x"}]}]}`, "messages.0.content.0.type: Field required"},
		{"a text block without text", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages.0.content.0.text: Field required"},
		{"an image without a source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages.0.content.0.source: Field required"},
		{"a base64 image without media_type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"AA=="}}]}]}`, "messages.0.content.0.source.media_type: Field required"},
		{"a url image without url", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url"}}]}]}`, "messages.0.content.0.source.url: Field required"},
		{"a tool_use whose input is a string", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":"{}"}]}]}`, "messages.0.content.0.input: Input should be a valid dictionary"},
		{"a tool_use without id", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]}`, "messages.0.content.0.id: Field required"},
		{"a tool_result without tool_use_id", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, "messages.0.content.0.tool_use_id: Field required"},
		{"a tool_result with a bad inner block", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":1}]}]}]}`, "messages.0.content.0.content.0.text: Input should be a valid string"},
		{"a tool_result with a non-boolean is_error", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","is_error":"yes"}]}]}`, "messages.0.content.0.is_error: Input should be a valid boolean"},
		{"a thinking block without thinking", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"thinking","signature":"s"}]}]}`, "messages.0.content.0.thinking: Field required"},
		{"a redacted_thinking block without data", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"redacted_thinking"}]}]}`, "messages.0.content.0.data: Field required"},
		{"a cache_control that is a string", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":"ephemeral"}]}]}`, "messages.0.content.0.cache_control"},
		{"a system that is a number", `{"model":"m","max_tokens":1,"system":1,"messages":[{"role":"user","content":"x"}]}`, "system: Input should be a string or a list of text blocks"},
		{"a system block that is not text", `{"model":"m","max_tokens":1,"system":[{"type":"image","source":{"type":"url","url":"u"}}],"messages":[{"role":"user","content":"x"}]}`, "system.0.type: Input should be 'text'"},
		{"a temperature above 1", string(body(`"temperature":1.5`)), "temperature: Input should be between 0 and 1"},
		{"a top_p that is a string", string(body(`"top_p":"0.5"`)), "top_p: Input should be a valid number"},
		{"a negative top_k", string(body(`"top_k":-1`)), "top_k: Input should be greater than or equal to 0"},
		{"stop_sequences that are not strings", string(body(`"stop_sequences":[1]`)), "stop_sequences: Input should be a valid list of strings"},
		{"a stream that is a string", string(body(`"stream":"true"`)), "stream: Input should be a valid boolean"},
		{"a metadata that is a list", string(body(`"metadata":[]`)), "metadata: Input should be an object"},
		{"a client tool without input_schema", string(body(`"tools":[{"name":"f"}]`)), "tools.0.input_schema: Field required"},
		{"a tool without name", string(body(`"tools":[{"input_schema":{"type":"object"}}]`)), "tools.0.name: Field required"},
		{"a tool_choice that is a string", string(body(`"tool_choice":"auto"`)), "tool_choice: Input should be an object"},
		{"an unknown tool_choice", string(body(`"tool_choice":{"type":"required"}`)), "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"},
		{"a tool choice of a tool without its name", string(body(`"tool_choice":{"type":"tool"}`)), "tool_choice.name: Field required"},
		{"thinking without a budget", string(body(`"thinking":{"type":"enabled"}`)), "thinking.enabled.budget_tokens: Field required"},
		{"thinking with a budget under 1024", string(body(`"thinking":{"type":"enabled","budget_tokens":1000}`)), "greater than or equal to 1024"},
		{"an unknown thinking type", string(body(`"thinking":{"type":"on"}`)), "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body))
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %v (%T), want an *Error", err, err)
			}
			if e.Status != 400 || e.Type != TypeInvalidRequest {
				t.Errorf("got %d %s, want 400 invalid_request_error", e.Status, e.Type)
			}
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message %q does not contain %q", e.Message, tt.want)
			}
		})
	}
}

func TestDecodeNormalisesStringsToBlocksAndKeepsTheRawBody(t *testing.T) {
	raw := []byte(`{"model":"m","max_tokens":10,"system":"Be brief.","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":""}],"stream":true,"top_k":5,"temperature":0,"metadata":{"user_id":"u-1"},"unknown_field":{"kept":true}}`)
	r, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Raw, raw) {
		t.Error("Raw is not the body as sent")
	}
	if len(r.System) != 1 || r.System[0].Text != "Be brief." || r.System[0].Type != "text" {
		t.Errorf("system %+v", r.System)
	}
	if len(r.Messages) != 2 || len(r.Messages[0].Content) != 1 || r.Messages[0].Content[0].Text != "Hi" {
		t.Errorf("messages %+v", r.Messages)
	}
	if len(r.Messages[1].Content) != 0 {
		t.Errorf("an empty final assistant turn (a prefill) has no blocks: %+v", r.Messages[1].Content)
	}
	if !r.Stream || r.MaxTokens != 10 || r.TopK == nil || *r.TopK != 5 || r.Temperature == nil || *r.Temperature != 0 || r.Metadata.UserID != "u-1" {
		t.Errorf("scalars %+v", r)
	}
}

func TestDecodeKeepsBlocksAndToolsItDoesNotTranslate(t *testing.T) {
	raw := body(`"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}],` +
		`"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral","ttl":"1h"}}]`)
	raw = bytes.Replace(raw, []byte(`"content":"Hi"`), []byte(`"content":[{"type":"search_result","source":"s","title":"t","content":[]},{"type":"text","text":"Hi"}]`), 1)
	r, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.Messages[0].Content[0]; b.Type != "search_result" || !json.Valid(b.Raw) {
		t.Errorf("unknown block %+v", b)
	}
	if tl := r.Tools[0]; tl.IsClientTool() || tl.Type != "web_search_20250305" || !bytes.Contains(tl.Raw, []byte("max_uses")) {
		t.Errorf("server tool %+v", tl)
	}
	if cc := r.System[0].CacheControl; cc == nil || cc.Type != "ephemeral" || cc.TTL != "1h" {
		t.Errorf("system cache_control %+v", cc)
	}
}

func TestDecodeAcceptsIntegralFloatsAsIntegers(t *testing.T) {
	r, err := Decode([]byte(`{"model":"m","max_tokens":1024.0,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled","budget_tokens":2048.0}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxTokens != 1024 || r.Thinking.BudgetTokens != 2048 {
		t.Errorf("got %d %d", r.MaxTokens, r.Thinking.BudgetTokens)
	}
}

func TestDecodeCountTokensNeedsNoMaxTokens(t *testing.T) {
	r, err := DecodeCountTokens([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxTokens != 0 {
		t.Errorf("max_tokens %d", r.MaxTokens)
	}
	if _, err := DecodeCountTokens([]byte(`{"model":"m"}`)); err == nil || !strings.Contains(err.Error(), "messages: Field required") {
		t.Errorf("err %v", err)
	}
}

func TestPatchModelChangesOnlyTheModel(t *testing.T) {
	raw := []byte(`{"model": "claude-x", "max_tokens":5,"messages":[{"role":"user","content":"\u003chi\u003e"}],"future_param":{"a":[1,2]}}`)
	got, err := PatchModel(raw, "claude-sonnet-4-5-20250929")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model": "claude-sonnet-4-5-20250929", "max_tokens":5,"messages":[{"role":"user","content":"\u003chi\u003e"}],"future_param":{"a":[1,2]}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if string(raw) != `{"model": "claude-x", "max_tokens":5,"messages":[{"role":"user","content":"\u003chi\u003e"}],"future_param":{"a":[1,2]}}` {
		t.Error("PatchModel changed its input")
	}
	if _, err := PatchModel([]byte(`[]`), "m"); err == nil {
		t.Error("an array body was patched")
	}
}
