package messages

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
)

func mustDecode(t *testing.T, b string) *Request {
	t.Helper()
	r, err := Decode([]byte(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return r
}

func mustChat(t *testing.T, b string) *openai.ChatRequest {
	t.Helper()
	c, err := ToChat(mustDecode(t, b))
	if err != nil {
		t.Fatalf("ToChat: %v", err)
	}
	return c
}

// chatJSON renders the messages of a chat request compactly, for comparison.
func chatJSON(t *testing.T, msgs []openai.Message) string {
	t.Helper()
	b, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const tool = `{"name":"f","input_schema":{"type":"object"}}`

func TestToChatMapsToolChoice(t *testing.T) {
	tests := []struct {
		name       string
		extra      string
		wantChoice string
		wantPar    *bool
	}{
		{"auto is auto", `"tools":[` + tool + `],"tool_choice":{"type":"auto"}`, `"auto"`, nil},
		{"any is required", `"tools":[` + tool + `],"tool_choice":{"type":"any"}`, `"required"`, nil},
		{"none is none", `"tools":[` + tool + `],"tool_choice":{"type":"none"}`, `"none"`, nil},
		{"a tool is the named function", `"tools":[` + tool + `],"tool_choice":{"type":"tool","name":"f"}`, `{"function":{"name":"f"},"type":"function"}`, nil},
		{"no tool_choice leaves the default", `"tools":[` + tool + `]`, ``, nil},
		{"disable_parallel_tool_use turns parallel calls off", `"tools":[` + tool + `],"tool_choice":{"type":"any","disable_parallel_tool_use":true}`, `"required"`, openai.Ptr(false)},
		{"none with disable_parallel_tool_use sets no parallel_tool_calls", `"tools":[` + tool + `],"tool_choice":{"type":"none","disable_parallel_tool_use":true}`, `"none"`, nil},
		{"a tool_choice without tools is dropped, as chat refuses it", `"tool_choice":{"type":"any","disable_parallel_tool_use":true}`, ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustChat(t, string(body(tt.extra)))
			if got := string(c.ToolChoice); got != tt.wantChoice {
				t.Errorf("tool_choice %s, want %s", got, tt.wantChoice)
			}
			if !reflect.DeepEqual(c.ParallelToolCalls, tt.wantPar) {
				t.Errorf("parallel_tool_calls %v, want %v", c.ParallelToolCalls, tt.wantPar)
			}
			if tt.wantChoice != "" {
				if _, err := c.ParseToolChoice(); err != nil {
					t.Errorf("the gateway's chat path refuses the tool_choice: %v", err)
				}
			}
		})
	}
}

func TestToChatMapsThinkingBudgetToReasoningEffort(t *testing.T) {
	tests := []struct {
		thinking string
		want     string
	}{
		{`{"type":"enabled","budget_tokens":1024}`, "low"},
		{`{"type":"enabled","budget_tokens":4000}`, "low"},
		{`{"type":"enabled","budget_tokens":4096}`, "medium"},
		{`{"type":"enabled","budget_tokens":10000}`, "medium"},
		{`{"type":"enabled","budget_tokens":16384}`, "high"},
		{`{"type":"enabled","budget_tokens":31999}`, "high"},
		{`{"type":"disabled"}`, ""},
		{`{"type":"adaptive"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.thinking, func(t *testing.T) {
			c := mustChat(t, string(body(`"thinking":`+tt.thinking)))
			if c.ReasoningEffort != tt.want {
				t.Errorf("reasoning_effort %q, want %q", c.ReasoningEffort, tt.want)
			}
		})
	}
}

func TestToChatSplitsAUserTurnIntoToolMessagesThenTheRest(t *testing.T) {
	c := mustChat(t, `{"model":"m","max_tokens":5,"messages":[
		{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":{"x":1}},{"type":"tool_use","id":"b","name":"f","input":{}}]},
		{"role":"user","content":[
			{"type":"tool_result","tool_use_id":"a","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]},
			{"type":"text","text":"between"},
			{"type":"tool_result","tool_use_id":"b"},
			{"type":"text","text":""},
			{"type":"text","text":"after"}
		]}]}`)
	want := `[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},{"id":"b","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
		`{"role":"tool","content":"one\n\ntwo","tool_call_id":"a"},` +
		`{"role":"tool","content":"","tool_call_id":"b"},` +
		`{"role":"user","content":[{"type":"text","text":"between"},{"type":"text","text":"after"}]}]`
	if got := chatJSON(t, c.Messages); got != want {
		t.Errorf("messages\n got %s\nwant %s", got, want)
	}
}

func TestToChatKeepsTurnsThatHoldOnlyDroppedBlocks(t *testing.T) {
	c := mustChat(t, `{"model":"m","max_tokens":5,"messages":[
		{"role":"user","content":"q"},
		{"role":"assistant","content":[{"type":"redacted_thinking","data":"x"}]},
		{"role":"user","content":[{"type":"text","text":""}]},
		{"role":"system","content":"Now be terse."}]}`)
	want := `[{"role":"user","content":"q"},{"role":"assistant","content":""},{"role":"user","content":""},{"role":"system","content":"Now be terse."}]`
	if got := chatJSON(t, c.Messages); got != want {
		t.Errorf("messages\n got %s\nwant %s", got, want)
	}
}

func TestToChatRefusesWhatChatCannotCarry(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"a server tool", string(body(`"tools":[{"type":"web_search_20250305","name":"web_search"}]`)),
			`tools.0: tool type "web_search_20250305" is one of Anthropic's server tools`},
		{"a PDF document", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]}`,
			`messages.0.content.0.source.type: a "base64" document can only be sent to Anthropic models`},
		{"a file image", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_1"}}]}]}`,
			`messages.0.content.0.source.type: image source type "file"`},
		{"a search result", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"search_result","source":"s","title":"t","content":[]}]}]}`,
			`messages.0.content.0.type: content block type "search_result"`},
		{"a server tool call in an assistant turn", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}`,
			`messages.1.content.0.type: content block type "server_tool_use" in an assistant turn`},
		{"a PDF inside a tool result", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"document","source":{"type":"url","url":"https://x/a.pdf"}}]}]}]}`,
			`messages.0.content.0.content.0.source.type`},
		{"an image in a system turn", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":[{"type":"image","source":{"type":"url","url":"https://x"}}]}]}`,
			`messages.0.content.0.type: a system turn holds only text blocks`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ToChat(mustDecode(t, tt.body))
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %v (%T), want an *Error", err, err)
			}
			if e.Status != 400 || e.Type != TypeInvalidRequest || !strings.Contains(e.Message, tt.want) {
				t.Errorf("got %d %s %q, want 400 invalid_request_error containing %q", e.Status, e.Type, e.Message, tt.want)
			}
		})
	}
}

func TestToChatLeavesOutputLimitsAndStreamingToChat(t *testing.T) {
	c := mustChat(t, string(body(`"stream":false`)))
	if c.MaxTokens == nil || *c.MaxTokens != 1024 || c.Stream || c.StreamOptions != nil || c.User != "" {
		t.Errorf("got %+v", c)
	}
	c = mustChat(t, string(body(`"stream":true`)))
	if !c.Stream || !c.WantsUsageChunk() {
		t.Error("a stream must ask for the usage chunk: message_delta reports usage")
	}
}

func TestDroppedNamesWhatChatLoses(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"nothing", string(body("")), nil},
		{"top_k", string(body(`"top_k":3`)), []string{"top_k"}},
		{"cache_control on a tool", string(body(`"tools":[{"name":"f","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}]`)), []string{"cache_control"}},
		{"cache_control inside a tool result and thinking", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]}]}]}`,
			[]string{"cache_control", "thinking_blocks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Dropped(mustDecode(t, tt.body)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCountTokensIsTheGatewaysEstimateOfTheChatRequest(t *testing.T) {
	for _, in := range fixtures(t, "requests", ".json") {
		r, err := DecodeCountTokens(readFile(t, in))
		if err != nil {
			t.Fatal(err)
		}
		got, err := CountTokens(r)
		if err != nil {
			t.Fatal(err)
		}
		chat, _ := ToChat(r)
		if want := pricing.EstimatePromptTokens(chat); got.InputTokens != want || want == 0 {
			t.Errorf("%s: %d, want %d", in, got.InputTokens, want)
		}
	}
}

func TestCountTokensGrowsWithTextAndImages(t *testing.T) {
	count := func(b string) int {
		t.Helper()
		r, err := DecodeCountTokens([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		c, err := CountTokens(r)
		if err != nil {
			t.Fatal(err)
		}
		return c.InputTokens
	}
	short := count(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	long := count(`{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("word ", 400) + `"}]}`)
	image := count(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}`)
	if !(short < long && long-short >= 400) {
		t.Errorf("2,000 bytes more text adds %d tokens", long-short)
	}
	if image-short != pricing.MediaPartTokens {
		t.Errorf("an image adds %d tokens, want %d", image-short, pricing.MediaPartTokens)
	}
	if _, err := CountTokens(mustDecode(t, string(body(`"tools":[{"type":"bash_20250124","name":"bash"}]`)))); err == nil {
		t.Error("a request ToChat refuses was counted")
	}
}
