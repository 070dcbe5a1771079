package messages

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

func completion(finish string, text *string, calls ...openai.ToolCall) *openai.ChatCompletion {
	return &openai.ChatCompletion{ID: "chatcmpl-x", Model: "upstream-model", Choices: []openai.Choice{{
		Message: openai.ResponseMessage{Role: "assistant", Content: text, ToolCalls: calls}, FinishReason: finish,
	}}}
}

func call(id, args string) openai.ToolCall {
	return openai.ToolCall{ID: id, Type: "function", Function: openai.FunctionCall{Name: "f", Arguments: args}}
}

func TestFromChatMapsFinishReasonToStopReason(t *testing.T) {
	tests := []struct {
		name  string
		c     *openai.ChatCompletion
		wantS string
	}{
		{"stop is end_turn", completion("stop", openai.Ptr("hi")), StopEndTurn},
		{"length is max_tokens", completion("length", openai.Ptr("hi")), StopMaxTokens},
		{"tool_calls is tool_use", completion("tool_calls", nil, call("c", "{}")), StopToolUse},
		{"a stop with tool calls is tool_use", completion("stop", nil, call("c", "{}")), StopToolUse},
		{"function_call is tool_use", completion("function_call", nil, call("c", "{}")), StopToolUse},
		{"a length cut inside a tool call is max_tokens", completion("length", nil, call("c", `{"a":`)), StopMaxTokens},
		{"content_filter is refusal", completion("content_filter", openai.Ptr("")), StopRefusal},
		{"no finish reason is end_turn", completion("", openai.Ptr("hi")), StopEndTurn},
		{"an unknown finish reason is end_turn", completion("eos", openai.Ptr("hi")), StopEndTurn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := FromChat(tt.c, "claude-x")
			if m.StopReason == nil || *m.StopReason != tt.wantS {
				t.Errorf("stop_reason %v, want %s", m.StopReason, tt.wantS)
			}
			if m.StopSequence != nil {
				t.Error("stop_sequence is set")
			}
		})
	}
}

func TestFromChatParsesArgumentsIntoInputObjects(t *testing.T) {
	tests := []struct {
		args string
		want string
	}{
		{`{"city": "Paris", "n": [1, 2]}`, `{"city":"Paris","n":[1,2]}`},
		{``, `{}`},
		{`  `, `{}`},
		{`{"cut":`, `{}`},
		{`[1,2]`, `{}`},
		{`"str"`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			m := FromChat(completion("tool_calls", nil, call("call_1", tt.args)), "claude-x")
			b := m.Content[0]
			if b.Type != BlockToolUse || b.ID != "call_1" || b.Name != "f" || string(b.Input) != tt.want {
				t.Errorf("block %+v input %s, want %s", b, b.Input, tt.want)
			}
		})
	}
}

func TestFromChatNamesTheRequestedModelAndDerivesTheID(t *testing.T) {
	m := FromChat(completion("stop", openai.Ptr("hi")), "claude-sonnet-4-5")
	if m.Model != "claude-sonnet-4-5" || m.ID != "msg_x" || m.Type != "message" || m.Role != "assistant" {
		t.Errorf("got %+v", m)
	}
	if m := FromChat(completion("stop", openai.Ptr("hi")), ""); m.Model != "upstream-model" {
		t.Errorf("without a requested model: %q", m.Model)
	}
	for chatID, want := range map[string]string{"chatcmpl-abc": "msg_abc", "msg_01X": "msg_01X", "gen-123": "msg_gen-123"} {
		if got := MessageID(chatID); got != want {
			t.Errorf("MessageID(%q) = %q, want %q", chatID, got, want)
		}
	}
	if a, b := MessageID(""), MessageID(""); !strings.HasPrefix(a, "msg_") || len(a) < 20 || a == b {
		t.Errorf("random ids %q %q", a, b)
	}
}

func TestFromChatAnswersWithEmptyContentAndZeroUsageWhenTheProviderSentNone(t *testing.T) {
	m := FromChat(&openai.ChatCompletion{ID: "chatcmpl-e"}, "claude-x")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"msg_e","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":"end_turn","stop_sequence":null,` +
		`"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestFromChatMakesUpMissingToolCallIDs(t *testing.T) {
	m := FromChat(completion("tool_calls", nil, call("", "{}"), call("", "{}")), "claude-x")
	if a, b := m.Content[0].ID, m.Content[1].ID; !strings.HasPrefix(a, "toolu_") || a == b {
		t.Errorf("ids %q %q", a, b)
	}
}

func TestFromChatUsageSplitsCachedTokensOut(t *testing.T) {
	c := completion("stop", openai.Ptr("hi"))
	c.Usage = &openai.Usage{PromptTokens: 1000, CompletionTokens: 10, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 800}}
	if got := FromChat(c, "m").Usage; got != (Usage{InputTokens: 200, CacheReadInputTokens: 800, OutputTokens: 10}) {
		t.Errorf("usage %+v", got)
	}
	// A provider reporting more cached than prompt tokens does not go negative.
	c.Usage = &openai.Usage{PromptTokens: 5, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 8}}
	if got := FromChat(c, "m").Usage; got.InputTokens != 0 || got.CacheReadInputTokens != 8 {
		t.Errorf("usage %+v", got)
	}
}

// TestFromChatBodyKeepsSignedThinkingBlocks: a message's thinking_blocks
// become thinking blocks with their signatures (redacted ones are left
// out); reasoning_content alone is one unsigned block.
func TestFromChatBodyKeepsSignedThinkingBlocks(t *testing.T) {
	m, err := FromChatBody([]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"42",
		"reasoning_content":"ab","thinking_blocks":[{"type":"thinking","thinking":"a","signature":"s1"},{"type":"redacted_thinking","data":"x"},{"type":"thinking","thinking":"b","signature":"s2"}]}}]}`), "m")
	if err != nil {
		t.Fatal(err)
	}
	want := []ContentBlock{{Type: BlockThinking, Thinking: "a", Signature: "s1"}, {Type: BlockThinking, Thinking: "b", Signature: "s2"}, {Type: BlockText, Text: "42"}}
	if !reflect.DeepEqual(m.Content, want) {
		t.Errorf("content %+v, want %+v", m.Content, want)
	}
	m, _ = FromChatBody([]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"42","reasoning_content":"ab"}}]}`), "m")
	if len(m.Content) != 2 || !reflect.DeepEqual(m.Content[0], ContentBlock{Type: BlockThinking, Thinking: "ab"}) {
		t.Errorf("content %+v", m.Content)
	}
}

func TestFromChatUsageSplitsCacheWritesOut(t *testing.T) {
	c := completion("stop", openai.Ptr("hi"))
	c.Usage = &openai.Usage{PromptTokens: 1000, CompletionTokens: 10, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 500, CacheCreationTokens: 300}}
	if got := FromChat(c, "m").Usage; !reflect.DeepEqual(got, Usage{InputTokens: 200, CacheReadInputTokens: 500, CacheCreationInputTokens: 300, OutputTokens: 10}) {
		t.Errorf("usage %+v", got)
	}
}

func TestFromChatBodyRefusesWhatIsNotACompletion(t *testing.T) {
	_, err := FromChatBody([]byte(`<html>502</html>`), "m")
	if e, ok := err.(*Error); !ok || e.Status != 502 || e.Type != TypeAPI {
		t.Errorf("err %v", err)
	}
}

func TestContentBlockRoundTrips(t *testing.T) {
	for _, b := range []ContentBlock{
		{Type: BlockText, Text: "a <b> & c"},
		{Type: BlockToolUse, ID: "t", Name: "n", Input: json.RawMessage(`{"k":[1]}`)},
		{Type: BlockThinking, Thinking: "hm", Signature: "sig"},
	} {
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		var back ContentBlock
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(back)
		if string(again) != string(data) {
			t.Errorf("%s became %s", data, again)
		}
	}
	if b, _ := json.Marshal(ContentBlock{Type: BlockText}); string(b) != `{"type":"text","text":""}` {
		t.Errorf("an empty text block is %s", b)
	}
	if b, _ := json.Marshal(ContentBlock{Type: BlockToolUse, ID: "t", Name: "n"}); string(b) != `{"type":"tool_use","id":"t","name":"n","input":{}}` {
		t.Errorf("a tool_use block without input is %s", b)
	}
}

func TestMessageJSONLeavesTextUnescaped(t *testing.T) {
	m := FromChat(completion("stop", openai.Ptr("a <b> & c")), "claude-x")
	if got := string(m.JSON()); !strings.Contains(got, `"text":"a <b> & c"`) {
		t.Errorf("got %s", got)
	}
}
