package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/sse"
)

// accumulate folds every event of an SSE body.
func accumulate(t *testing.T, body []byte) *Accumulator {
	t.Helper()
	var a Accumulator
	r := sse.NewReader(bytes.NewReader(body))
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return &a
		}
		if err != nil {
			t.Fatal(err)
		}
		a.Add(ev.Data)
	}
}

func TestAccumulatorBuildsTheAnswerOfANativeStream(t *testing.T) {
	m, ok := accumulate(t, readFile(t, "testdata/native/stream.sse")).Message()
	if !ok {
		t.Fatal("a complete stream was not accumulated")
	}
	want := `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":2048,"cache_read_input_tokens":128,"output_tokens":15}}`
	if got := string(m.JSON()); got != want {
		t.Errorf("message\n%s\nwant\n%s", got, want)
	}
}

func TestAccumulatorRefusesWhatItCannotHoldWhole(t *testing.T) {
	stream := string(readFile(t, "testdata/native/stream.sse"))
	tests := []struct{ name, body string }{
		{"a stream without message_stop", strings.Replace(stream, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n", "", 1)},
		{"a stream with an error event", strings.Replace(stream, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n",
			"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}\n", 1)},
		{"a server tool block", strings.Replace(stream, `"content_block":{"type":"text","text":""}`,
			`"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}`, 1)},
		{"a citations delta", strings.Replace(stream, `"delta":{"type":"text_delta","text":"Hello"}`,
			`"delta":{"type":"citations_delta","citation":{"type":"char_location"}}`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, ok := accumulate(t, []byte(tt.body)).Message(); ok {
				t.Errorf("accumulated %s", m.JSON())
			}
		})
	}
}

func TestReplayIsAStreamThatAccumulatesToTheSameAnswer(t *testing.T) {
	stop := StopToolUse
	m := &Message{ID: "msg_1", Type: "message", Role: "assistant", Model: "claude-x",
		Content: []ContentBlock{
			{Type: BlockThinking, Thinking: "Let me see.", Signature: "sig=="},
			{Type: BlockText, Text: "Checking <both> cities."},
			{Type: BlockToolUse, ID: "toolu_1", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris"}`)},
			{Type: BlockToolUse, ID: "toolu_2", Name: "now", Input: json.RawMessage(`{}`)},
		},
		StopReason: &stop, Usage: Usage{InputTokens: 10, CacheReadInputTokens: 4, OutputTokens: 7}}
	events := Replay(m)
	back, ok := accumulate(t, events).Message()
	if !ok || !reflect.DeepEqual(back, m) {
		t.Fatalf("replayed\n%s\naccumulates to %s, want %s", events, back.JSON(), m.JSON())
	}
	var types []string
	for _, line := range strings.Split(string(events), "\n") {
		if ev, ok := strings.CutPrefix(line, "event: "); ok {
			types = append(types, ev)
		}
	}
	want := "message_start content_block_start ping content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_stop content_block_start content_block_delta content_block_stop " +
		"content_block_start content_block_stop message_delta message_stop"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(string(events), `"message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":4,"output_tokens":0}}`) {
		t.Errorf("message_start: %s", events)
	}
}

func TestParseMessage(t *testing.T) {
	body := readFile(t, "testdata/native/message.json")
	m, ok := ParseMessage(body)
	if !ok || m.ID != "msg_013Zva2CMHLNnXjNJJKqJ2EF" || len(m.Content) != 1 || m.Content[0].Text != "Hi! My name is Claude." || m.Usage.OutputTokens != 503 {
		t.Fatalf("%v %+v", ok, m)
	}
	for name, b := range map[string]string{
		"not a message":             `{"type":"error","error":{"type":"api_error","message":"x"}}`,
		"no stop reason":            strings.Replace(string(body), `"stop_reason":"end_turn"`, `"stop_reason":null`, 1),
		"a text block with a cite":  strings.Replace(string(body), `"text":"Hi! My name is Claude."`, `"text":"Hi","citations":[{"type":"char_location"}]`, 1),
		"a redacted thinking block": strings.Replace(string(body), `{"type":"text","text":"Hi! My name is Claude."}`, `{"type":"redacted_thinking","data":"abc"}`, 1),
	} {
		if _, ok := ParseMessage([]byte(b)); ok {
			t.Errorf("%s was accepted", name)
		}
	}
}
