package openai

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestAccumulatorRebuildsTextToolCallsAndUsage(t *testing.T) {
	chunks := []string{
		`{"id":"c1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"content":"Let me "},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"content":"check."},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Oslo\"}"}}]},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":5,"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}`,
	}
	a := NewAccumulator()
	for _, c := range chunks {
		a.Add([]byte(c))
	}
	if !a.Valid {
		t.Fatal("accumulator marked a valid stream invalid")
	}
	c := a.Completion()
	if c.ID != "c1" || c.Object != "chat.completion" || c.Usage == nil || c.Usage.TotalTokens != 13 {
		t.Fatalf("%+v", c)
	}
	m := c.Choices[0].Message
	if *m.Content != "Let me check." || c.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("message %+v", m)
	}
	want := []ToolCall{
		{ID: "call_a", Type: "function", Function: FunctionCall{Name: "get_weather", Arguments: `{"city":"Oslo"}`}},
		{ID: "call_b", Type: "function", Function: FunctionCall{Name: "get_time", Arguments: "{}"}},
	}
	if !reflect.DeepEqual(m.ToolCalls, want) {
		t.Fatalf("tool calls %+v", m.ToolCalls)
	}
}

func TestChunksReplayToTheSameCompletion(t *testing.T) {
	orig := &ChatCompletion{ID: "x", Object: "chat.completion", Created: 7, Model: "m",
		Choices: []Choice{
			{Index: 0, Message: ResponseMessage{Role: "assistant", Content: Ptr("hello")}, FinishReason: "stop"},
			{Index: 1, Message: ResponseMessage{Role: "assistant", ToolCalls: []ToolCall{{ID: "t", Type: "function", Function: FunctionCall{Name: "f", Arguments: `{"a":1}`}}}}, FinishReason: "tool_calls"},
		},
		Usage: &Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3},
	}
	a := NewAccumulator()
	chunks := orig.Chunks(true)
	for _, c := range chunks {
		a.Add(c)
	}
	got, _ := json.Marshal(a.Completion())
	want, _ := json.Marshal(orig)
	if string(got) != string(want) {
		t.Fatalf("replay differs:\n got %s\nwant %s", got, want)
	}
	var last ChatCompletionChunk
	_ = json.Unmarshal(chunks[len(chunks)-1], &last)
	if last.Usage == nil || len(last.Choices) != 0 {
		t.Errorf("last chunk must be the usage chunk: %s", chunks[len(chunks)-1])
	}
	if n := len(orig.Chunks(false)); n != len(chunks)-1 {
		t.Errorf("without usage: %d chunks, want %d", n, len(chunks)-1)
	}
}

func TestAccumulatorMarksUndecodableChunksInvalid(t *testing.T) {
	a := NewAccumulator()
	a.Add([]byte(`{"id":`))
	if a.Valid {
		t.Fatal("a broken chunk must make the stream uncacheable")
	}
}

// A cached stream keeps its reasoning: the reasoning_content text, a
// thinking block whose signature came with its text (Anthropic's
// translation), one whose signature came alone after the text, and a
// redacted block; replayed, the chunks rebuild the same completion.
func TestAccumulatorKeepsReasoningAndThinkingBlocks(t *testing.T) {
	chunk := func(delta string) string {
		return `{"id":"c1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}`
	}
	a := NewAccumulator()
	for _, c := range []string{
		chunk(`{"role":"assistant","content":""}`),
		chunk(`{"reasoning_content":"Let me "}`),
		chunk(`{"reasoning_content":"think."}`),
		chunk(`{"thinking_blocks":[{"type":"thinking","thinking":"Let me think.","signature":"sig1"}]}`),
		chunk(`{"thinking_blocks":[{"type":"redacted_thinking","data":"opaque"}]}`),
		chunk(`{"reasoning_content":" Again."}`),
		chunk(`{"thinking_blocks":[{"type":"thinking","signature":"sig2"}]}`),
		chunk(`{"content":"42"}`),
		`{"id":"c1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	} {
		a.Add([]byte(c))
	}
	got := a.Completion()
	m := got.Choices[0].Message
	want := []ThinkingBlock{
		{Type: ThinkingTypeThinking, Thinking: "Let me think.", Signature: "sig1"},
		{Type: ThinkingTypeRedacted, Data: "opaque"},
		{Type: ThinkingTypeThinking, Thinking: " Again.", Signature: "sig2"},
	}
	if m.ReasoningContent != "Let me think. Again." || !reflect.DeepEqual(m.ThinkingBlocks, want) || *m.Content != "42" {
		t.Fatalf("message %+v", m)
	}

	for _, orig := range []*ChatCompletion{got, {ID: "x", Object: "chat.completion", Model: "m", Choices: []Choice{
		{Message: ResponseMessage{Role: "assistant", Content: Ptr("a"), ReasoningContent: "unsigned reasoning"}, FinishReason: "stop"},
		{Index: 1, Message: ResponseMessage{Role: "assistant", Content: Ptr("b"), ReasoningContent: "text apart",
			ThinkingBlocks: []ThinkingBlock{{Type: ThinkingTypeThinking, Thinking: "other", Signature: "s"}}}, FinishReason: "stop"},
	}}} {
		replay := NewAccumulator()
		for _, c := range orig.Chunks(false) {
			replay.Add(c)
		}
		g, _ := json.Marshal(replay.Completion())
		w, _ := json.Marshal(orig)
		if string(g) != string(w) {
			t.Errorf("replay differs:\n got %s\nwant %s", g, w)
		}
	}
}

// vLLM, OpenRouter and Ollama stream the reasoning as "reasoning": kept,
// and replayed as reasoning_content.
func TestAccumulatorKeepsReasoningNamedReasoning(t *testing.T) {
	a := NewAccumulator()
	for _, c := range []string{
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","reasoning":"Hmm, "},"finish_reason":null}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning":"four."},"finish_reason":null},{"index":1,"delta":{"reasoning_content":"other"},"finish_reason":null}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"4"},"finish_reason":"stop"}]}`,
	} {
		a.Add([]byte(c))
	}
	c := a.Completion()
	if c.Choices[0].Message.ReasoningContent != "Hmm, four." || c.Choices[1].Message.ReasoningContent != "other" {
		t.Fatalf("%+v", c.Choices)
	}
	if got := MessageReasoning([]byte(`{"choices":[{"index":0,"message":{"content":"the \"reasoning\" word","reasoning":"r"}},{"index":1,"message":{"reasoning":null}}]}`)); len(got) != 1 || got[0] != "r" {
		t.Errorf("MessageReasoning = %v", got)
	}
	if got := DeltaReasoning([]byte(`{"choices":[{"index":0,"delta":{"content":"reasoning"}}]}`)); got != nil {
		t.Errorf("DeltaReasoning of a chunk without the field = %v", got)
	}
}
