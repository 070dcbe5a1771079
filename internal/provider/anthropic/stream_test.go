package anthropic

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/sse"
)

// describe renders a chunk as one short line: "role", "text:Hi",
// "tool:0:id:name", "args:0:{...}", "finish:stop", "usage:p/c/cached",
// "reasoning:text", "block:type:thinking:signature:data".
func describe(t *testing.T, c provider.Chunk) string {
	t.Helper()
	var ch openai.ChatCompletionChunk
	if err := json.Unmarshal(c.Data, &ch); err != nil {
		t.Fatalf("chunk is not JSON: %v", err)
	}
	if c.Usage != nil {
		if len(ch.Choices) != 0 || ch.Usage == nil {
			t.Fatalf("usage chunk with choices or without usage: %s", c.Data)
		}
		return fmt.Sprintf("usage:%d/%d/%d", ch.Usage.PromptTokens, ch.Usage.CompletionTokens, ch.Usage.CachedTokens())
	}
	if len(ch.Choices) != 1 {
		t.Fatalf("chunk has %d choices: %s", len(ch.Choices), c.Data)
	}
	d := ch.Choices[0]
	switch {
	case d.FinishReason != nil:
		return "finish:" + *d.FinishReason
	case d.Delta.Role != "":
		return "role"
	case len(d.Delta.ToolCalls) == 1 && d.Delta.ToolCalls[0].ID != "":
		tc := d.Delta.ToolCalls[0]
		return fmt.Sprintf("tool:%d:%s:%s", tc.Index, tc.ID, tc.Function.Name)
	case len(d.Delta.ToolCalls) == 1:
		tc := d.Delta.ToolCalls[0]
		return fmt.Sprintf("args:%d:%s", tc.Index, tc.Function.Arguments)
	case d.Delta.Content != nil:
		return "text:" + *d.Delta.Content
	case d.Delta.ReasoningContent != "":
		return "reasoning:" + d.Delta.ReasoningContent
	case len(d.Delta.ThinkingBlocks) == 1:
		b := d.Delta.ThinkingBlocks[0]
		return fmt.Sprintf("block:%s:%s:%s:%s", b.Type, b.Thinking, b.Signature, b.Data)
	}
	return "other:" + string(c.Data)
}

// run feeds event data through a new translator and describes the chunks;
// "done" marks the event that ended the stream, "error:<msg>" an error.
func run(t *testing.T, events []string) []string {
	t.Helper()
	tr := newStreamTranslator(provider.Upstream{Name: "anthropic"}, "claude-upstream-model", fixedClock)
	var out []string
	for _, data := range events {
		chunks, done, err := tr.translate(sse.Event{Data: []byte(data)})
		for _, c := range chunks {
			out = append(out, describe(t, c))
		}
		if err != nil {
			out = append(out, "error:"+err.Error())
			break
		}
		if done {
			out = append(out, "done")
		}
	}
	return out
}

const (
	evStart     = `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}`
	evTextStart = `{"type":"content_block_start","index":%d,"content_block":{"type":"text","text":""}}`
	evText      = `{"type":"content_block_delta","index":%d,"delta":{"type":"text_delta","text":%q}}`
	evToolStart = `{"type":"content_block_start","index":%d,"content_block":{"type":"tool_use","id":%q,"name":%q,"input":{}}}`
	evArgs      = `{"type":"content_block_delta","index":%d,"delta":{"type":"input_json_delta","partial_json":%q}}`
	evBlockStop = `{"type":"content_block_stop","index":%d}`
	evDelta     = `{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":null},"usage":{"output_tokens":%d}}`
	evStop      = `{"type":"message_stop"}`
)

func TestStreamTranslator(t *testing.T) {
	tests := []struct {
		name   string
		events []string
		want   []string
	}{
		{
			name: "tool call indexes count tool blocks in order, not Anthropic's block indexes",
			events: []string{
				evStart,
				fmt.Sprintf(evTextStart, 0), fmt.Sprintf(evText, 0, "Let me look."), fmt.Sprintf(evBlockStop, 0),
				fmt.Sprintf(evToolStart, 1, "toolu_a", "search"),
				fmt.Sprintf(evTextStart, 2),
				fmt.Sprintf(evToolStart, 3, "toolu_b", "fetch"),
				fmt.Sprintf(evArgs, 3, `{"url":`), fmt.Sprintf(evArgs, 1, `{"q":"go"}`), fmt.Sprintf(evArgs, 3, `"x"}`),
				fmt.Sprintf(evDelta, "tool_use", 20), evStop,
			},
			want: []string{
				"role", "text:Let me look.",
				"tool:0:toolu_a:search", "tool:1:toolu_b:fetch",
				`args:1:{"url":`, `args:0:{"q":"go"}`, `args:1:"x"}`,
				"finish:tool_calls", "usage:10/20/0", "done",
			},
		},
		{
			name: "thinking deltas are reasoning_content, a signature sends the whole block, empty partial JSON is not forwarded",
			events: []string{
				evStart,
				`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"m"}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}`,
				fmt.Sprintf(evToolStart, 1, "toolu_a", "search"), fmt.Sprintf(evArgs, 1, ""),
				`{"type":"content_block_start","index":2,"content_block":{"type":"thinking","thinking":"again"}}`,
				`{"type":"content_block_delta","index":2,"delta":{"type":"signature_delta","signature":"sig2"}}`,
				fmt.Sprintf(evDelta, "tool_use", 5), evStop,
			},
			want: []string{"role", "reasoning:hm", "reasoning:m", "block:thinking:hmm:sig:", "tool:0:toolu_a:search",
				"reasoning:again", "block:thinking:again:sig2:", "finish:tool_calls", "usage:10/5/0", "done"},
		},
		{
			name: "a redacted thinking block is sent whole when it starts",
			events: []string{
				evStart,
				`{"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"opaque"}}`,
				fmt.Sprintf(evBlockStop, 0), fmt.Sprintf(evText, 1, "hi"), fmt.Sprintf(evDelta, "end_turn", 2), evStop,
			},
			want: []string{"role", "block:redacted_thinking:::opaque", "text:hi", "finish:stop", "usage:10/2/0", "done"},
		},
		{
			name: "pings and unknown event types are ignored",
			events: []string{
				evStart, `{"type":"ping"}`, `{"type":"some_future_event","index":3}`,
				fmt.Sprintf(evText, 0, "hi"), fmt.Sprintf(evDelta, "end_turn", 2), evStop,
			},
			want: []string{"role", "text:hi", "finish:stop", "usage:10/2/0", "done"},
		},
		{
			name: "input deltas of a block that is not a client tool are dropped",
			events: []string{
				evStart,
				`{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}`,
				fmt.Sprintf(evArgs, 0, `{"query":"x"}`),
				fmt.Sprintf(evDelta, "end_turn", 3), evStop,
			},
			want: []string{"role", "finish:stop", "usage:10/3/0", "done"},
		},
		{
			name: "cache reads and writes count as prompt tokens and reads as cached tokens",
			events: []string{
				`{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":5,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}}}`,
				fmt.Sprintf(evDelta, "end_turn", 42), evStop,
			},
			want: []string{"role", "finish:stop", "usage:2105/42/2000", "done"},
		},
		{
			name: "a message_delta that reports input usage updates it",
			events: []string{
				evStart,
				`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":12,"output_tokens":7}}`,
				evStop,
			},
			want: []string{"role", "finish:stop", "usage:12/7/0", "done"},
		},
		{
			name:   "a message_stop without a stop reason still finishes before the usage chunk",
			events: []string{evStart, fmt.Sprintf(evText, 0, "ok"), evStop},
			want:   []string{"role", "text:ok", "finish:stop", "usage:10/1/0", "done"},
		},
		{
			name:   "max_tokens finishes with length",
			events: []string{evStart, fmt.Sprintf(evDelta, "max_tokens", 9), evStop},
			want:   []string{"role", "finish:length", "usage:10/9/0", "done"},
		},
		{
			name:   "refusal finishes with content_filter",
			events: []string{evStart, fmt.Sprintf(evDelta, "refusal", 1), evStop},
			want:   []string{"role", "finish:content_filter", "usage:10/1/0", "done"},
		},
		{
			name: "an error event ends the stream with the provider's message",
			events: []string{
				evStart, fmt.Sprintf(evText, 0, "par"),
				`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
				evStop,
			},
			want: []string{"role", "text:par",
				"error:anthropic: provider anthropic sent an error mid-stream: Overloaded (upstream_error)"},
		},
		{
			name:   "an event that is not JSON is an error",
			events: []string{evStart, `{"type":"content_block_delta",`},
			want:   []string{"role", "error:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.events)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d chunks, want %d:\n got  %q\n want %q", len(got), len(tt.want), got, tt.want)
			}
			for i := range got {
				if tt.want[i] == "error:" && strings.HasPrefix(got[i], "error:") {
					continue
				}
				if got[i] != tt.want[i] {
					t.Errorf("chunk %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestStreamErrorsAreRetryable502s(t *testing.T) {
	tests := []struct {
		name  string
		event string
	}{
		{"an upstream error event", `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`},
		{"an event that is not JSON", `not json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newStreamTranslator(provider.Upstream{Name: "anthropic"}, "m", fixedClock)
			_, _, err := tr.translate(sse.Event{Data: []byte(tt.event)})
			e, ok := err.(*openai.Error)
			if !ok {
				t.Fatalf("err = %v (%T), want *openai.Error", err, err)
			}
			if e.HTTPStatus() != 502 || !e.Retryable {
				t.Errorf("status %d retryable %v, want a retryable 502", e.HTTPStatus(), e.Retryable)
			}
		})
	}
}

func TestStreamChunksCarryTheMessageIDAndModelFromMessageStart(t *testing.T) {
	tr := newStreamTranslator(provider.Upstream{Name: "anthropic"}, "requested-model", fixedClock)
	chunks, _, err := tr.translate(sse.Event{Data: []byte(evStart)})
	if err != nil || len(chunks) != 1 {
		t.Fatalf("chunks=%d err=%v", len(chunks), err)
	}
	var ch openai.ChatCompletionChunk
	if err := json.Unmarshal(chunks[0].Data, &ch); err != nil {
		t.Fatal(err)
	}
	if ch.ID != "msg_1" || ch.Model != "claude-x" || ch.Object != "chat.completion.chunk" || ch.Created != fixedNow.Unix() {
		t.Errorf("chunk = id %q model %q object %q created %d", ch.ID, ch.Model, ch.Object, ch.Created)
	}
}
