package responses

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
)

// testMeta gives responses fixed ids and a fixed clock.
func testMeta() Meta {
	n := 0
	return Meta{
		ID:    "resp_test",
		Now:   func() time.Time { return time.Unix(1741290958, 0) },
		NewID: func(prefix string) string { n++; return fmt.Sprintf("%s_%03d", prefix, n) },
	}
}

// Each testdata/fromchat/<name>.json holds a Responses request and the chat
// completion that answered it; <name>.golden.json is the response object.
func TestFromChatGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/fromchat/*.json")
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
				Request    json.RawMessage       `json:"request"`
				Completion openai.ChatCompletion `json:"completion"`
			}
			if err := json.Unmarshal(raw, &tc); err != nil {
				t.Fatal(err)
			}
			resp := FromChat(mustParse(t, tc.Request), &tc.Completion, testMeta())
			golden(t, strings.TrimSuffix(f, ".json")+".golden.json", pretty(t, resp.JSON()))
		})
	}
	if n == 0 {
		t.Fatal("no cases in testdata/fromchat")
	}
}

func completion(content *string, finish string, calls ...openai.ToolCall) *openai.ChatCompletion {
	return &openai.ChatCompletion{ID: "c", Model: "up-model", Choices: []openai.Choice{{
		Message: openai.ResponseMessage{Role: "assistant", Content: content, ToolCalls: calls}, FinishReason: finish}},
		Usage: &openai.Usage{PromptTokens: 3, CompletionTokens: 2}}
}

func TestFromChatStatusAndItems(t *testing.T) {
	req := &Request{Model: "client-model"}
	call := openai.ToolCall{ID: "call_1", Type: "function", Function: openai.FunctionCall{Name: "f", Arguments: `{"a":1}`}}
	cases := []struct {
		name       string
		c          *openai.ChatCompletion
		status     string
		reason     string
		types      []string
		lastStatus string
	}{
		{"stop completes the response", completion(openai.Ptr("hi"), "stop"), StatusCompleted, "", []string{TypeMessage}, StatusCompleted},
		{"length makes it incomplete for max_output_tokens", completion(openai.Ptr("hi"), "length"), StatusIncomplete, "max_output_tokens", []string{TypeMessage}, StatusIncomplete},
		{"content_filter makes it incomplete for content_filter", completion(openai.Ptr(""), "content_filter"), StatusIncomplete, "content_filter", []string{TypeMessage}, StatusIncomplete},
		{"tool calls become function_call items after the text", completion(openai.Ptr("let me see"), "tool_calls", call, call), StatusCompleted, "", []string{TypeMessage, TypeFunctionCall, TypeFunctionCall}, StatusCompleted},
		{"a tool call without text has no message item", completion(nil, "tool_calls", call), StatusCompleted, "", []string{TypeFunctionCall}, StatusCompleted},
		{"a call cut by length is incomplete", completion(nil, "length", call), StatusIncomplete, "max_output_tokens", []string{TypeFunctionCall}, StatusIncomplete},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := FromChat(req, tc.c, testMeta())
			if r.Status != tc.status {
				t.Fatalf("status = %q, want %q", r.Status, tc.status)
			}
			if (tc.reason == "") != (r.IncompleteDetails == nil) || (r.IncompleteDetails != nil && r.IncompleteDetails.Reason != tc.reason) {
				t.Fatalf("incomplete_details = %+v, want reason %q", r.IncompleteDetails, tc.reason)
			}
			var types []string
			for _, it := range r.Output {
				types = append(types, it.Type)
			}
			if fmt.Sprint(types) != fmt.Sprint(tc.types) {
				t.Fatalf("output types = %v, want %v", types, tc.types)
			}
			if last := r.Output[len(r.Output)-1]; last.Status != tc.lastStatus {
				t.Fatalf("last item status = %q, want %q", last.Status, tc.lastStatus)
			}
			if (r.Status == StatusCompleted) != (r.CompletedAt != nil) {
				t.Fatalf("completed_at = %v for status %q", r.CompletedAt, r.Status)
			}
			if r.Model != "up-model" || r.Usage.TotalTokens != 5 {
				t.Fatalf("model %q usage %+v", r.Model, r.Usage)
			}
		})
	}
}

func TestFromChatKeepsTheCallIDAndMakesOneWhenMissing(t *testing.T) {
	r := FromChat(&Request{Model: "m"}, completion(nil, "tool_calls",
		openai.ToolCall{ID: "call_up", Function: openai.FunctionCall{Name: "f", Arguments: "{}"}},
		openai.ToolCall{Function: openai.FunctionCall{Name: "g", Arguments: "{}"}}), Meta{})
	if r.Output[0].CallID != "call_up" || !strings.HasPrefix(r.Output[1].CallID, "call_") || !strings.HasPrefix(r.Output[0].ID, "fc_") {
		t.Fatalf("output = %+v", r.Output)
	}
	if !strings.HasPrefix(r.ID, "resp_") || len(r.ID) != len("resp_")+48 {
		t.Fatalf("id = %q", r.ID)
	}
}

func TestResponseEchoesTheRequestWithTheAPIDefaults(t *testing.T) {
	r := FromChat(mustParse(t, []byte(`{"model":"m","input":"x"}`)), completion(openai.Ptr("ok"), "stop"), testMeta())
	var got map[string]any
	if err := json.Unmarshal(r.JSON(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"object": "response", "status": "completed", "background": false, "error": nil, "incomplete_details": nil,
		"instructions": nil, "max_output_tokens": nil, "previous_response_id": nil, "parallel_tool_calls": true,
		"store": true, "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto", "truncation": "disabled", "user": nil,
		"created_at": 1741290958.0, "completed_at": 1741290958.0,
	}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for _, k := range []string{"tools", "output"} {
		if _, ok := got[k].([]any); !ok {
			t.Errorf("%s = %v, want an array", k, got[k])
		}
	}
	if m, ok := got["metadata"].(map[string]any); !ok || len(m) != 0 {
		t.Errorf("metadata = %v, want {}", got["metadata"])
	}
	if fmt.Sprint(got["text"]) != "map[format:map[type:text]]" || fmt.Sprint(got["reasoning"]) != "map[effort:<nil> summary:<nil>]" {
		t.Errorf("text = %v, reasoning = %v", got["text"], got["reasoning"])
	}
	usage := got["usage"].(map[string]any)
	for _, k := range []string{"input_tokens", "output_tokens", "total_tokens", "input_tokens_details", "output_tokens_details"} {
		if _, ok := usage[k]; !ok {
			t.Errorf("usage lacks %s: %v", k, usage)
		}
	}
}

func TestAStoredResponseDecodesToTheSameJSON(t *testing.T) {
	req := mustParse(t, []byte(`{"model":"m","input":"x","tools":[{"type":"function","name":"f","parameters":{"type":"object"}},{"type":"web_search"}],"text":{"format":{"type":"json_object"}}}`))
	r := FromChat(req, completion(openai.Ptr("a<b"), "tool_calls", openai.ToolCall{ID: "call_1", Function: openai.FunctionCall{Name: "f", Arguments: `{"x":"<y>"}`}}), testMeta())
	first := r.JSON()
	var back Response
	if err := json.Unmarshal(first, &back); err != nil {
		t.Fatal(err)
	}
	if again := back.JSON(); string(again) != string(first) {
		t.Fatalf("round trip changed the response:\n%s\n%s", first, again)
	}
	if strings.Contains(string(first), `\u003c`) {
		t.Fatalf("text must not be HTML-escaped: %s", first)
	}
}

func TestUsageMapsBothWays(t *testing.T) {
	chat := &openai.Usage{PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120,
		PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 64}, CompletionTokensDetails: &openai.CompletionTokensDetails{ReasoningTokens: 8}}
	u := UsageFromChat(chat)
	if u.InputTokens != 100 || u.OutputTokens != 20 || u.TotalTokens != 120 || u.InputTokensDetails.CachedTokens != 64 || u.OutputTokensDetails.ReasoningTokens != 8 {
		t.Fatalf("usage = %+v", u)
	}
	if back := u.Chat(); back.PromptTokens != 100 || back.CachedTokens() != 64 || back.CompletionTokensDetails.ReasoningTokens != 8 {
		t.Fatalf("chat usage = %+v", back)
	}
	if UsageFromChat(&openai.Usage{PromptTokens: 2, CompletionTokens: 3}).TotalTokens != 5 {
		t.Fatal("a missing total is the sum")
	}
	if UsageFromChat(nil) != nil {
		t.Fatal("no usage stays null")
	}
}

func TestNextHistoryIsHistoryInputThenOutput(t *testing.T) {
	req := mustParse(t, []byte(`{"model":"m","input":"second question"}`))
	resp := FromChat(req, completion(openai.Ptr("second answer"), "stop"), testMeta())
	prior := []Item{{Type: TypeMessage, Role: "user", Content: Content{Text: "first"}}}
	h := NextHistory(prior, req, resp)
	if len(h) != 3 || h[0].Content.Text != "first" || h[1].Content.Text != "second question" || h[2].Content.Parts[0].Text != "second answer" {
		t.Fatalf("history = %+v", h)
	}
	chat, err := ToChat(mustParse(t, []byte(`{"model":"m","input":"third"}`)), h)
	if err != nil {
		t.Fatal(err)
	}
	roles := ""
	for _, m := range chat.Messages {
		roles += m.Role + " "
	}
	if roles != "user user assistant user " || chat.Messages[2].Content.Text != "second answer" {
		t.Fatalf("messages = %+v", chat.Messages)
	}
}
