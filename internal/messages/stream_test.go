package messages

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

// event is one parsed SSE event.
type event struct {
	Name string
	Data string
}

// parseSSE splits framed events, failing on anything but
// "event: <name>\ndata: <json>\n\n" whose data's type is the event name.
func parseSSE(t testing.TB, b []byte) []event {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	if !bytes.HasSuffix(b, []byte("\n\n")) {
		t.Fatalf("events do not end with a blank line: %q", b)
	}
	var out []event
	for _, f := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(f, "\n")
		if !ok || !strings.HasPrefix(name, "event: ") || !strings.HasPrefix(data, "data: ") || strings.Contains(data, "\n") {
			t.Fatalf("not an event frame: %q", f)
		}
		e := event{Name: strings.TrimPrefix(name, "event: "), Data: strings.TrimPrefix(data, "data: ")}
		var typed struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(e.Data), &typed); err != nil || typed.Type != e.Name {
			t.Fatalf("event %s: data %s has type %q (%v)", e.Name, e.Data, typed.Type, err)
		}
		out = append(out, e)
	}
	return out
}

// checkWellFormed checks the order Anthropic's clients rely on:
// message_start first, blocks opened with increasing indexes and closed
// before the next opens, deltas only for the open block and of its kind,
// message_delta then message_stop last (or an error event last).
func checkWellFormed(t testing.TB, evs []event) {
	t.Helper()
	open, next := -1, 0
	kind := ""
	for i, e := range evs {
		var d struct {
			Index        int `json:"index"`
			ContentBlock struct {
				Type string `json:"type"`
			} `json:"content_block"`
			Delta struct {
				Type string `json:"type"`
			} `json:"delta"`
		}
		_ = json.Unmarshal([]byte(e.Data), &d)
		fail := func(why string) { t.Fatalf("event %d (%s %s): %s", i, e.Name, e.Data, why) }
		if (i == 0) != (e.Name == "message_start") && e.Name != "error" {
			fail("message_start must come first, and once")
		}
		switch e.Name {
		case "content_block_start":
			if open >= 0 || d.Index != next {
				fail(fmt.Sprintf("block %d opened while %d is open, or not the next (%d)", d.Index, open, next))
			}
			open, next, kind = d.Index, next+1, d.ContentBlock.Type
		case "content_block_delta":
			want := map[string]string{"text": "text_delta", "tool_use": "input_json_delta", "thinking": "thinking_delta"}[kind]
			if d.Index != open || (d.Delta.Type != want && !(kind == "thinking" && d.Delta.Type == "signature_delta")) {
				fail(fmt.Sprintf("a %s for block %d, open is %d (%s)", d.Delta.Type, d.Index, open, kind))
			}
		case "content_block_stop":
			if d.Index != open {
				fail(fmt.Sprintf("closing %d, open is %d", d.Index, open))
			}
			open = -1
		case "message_delta":
			if open >= 0 || i != len(evs)-2 || evs[i+1].Name != "message_stop" {
				fail("message_delta must follow the last block's stop and precede message_stop, last")
			}
		case "error":
			if i != len(evs)-1 {
				fail("an error event must be last")
			}
		case "message_start", "message_stop", "ping":
		default:
			fail("unknown event")
		}
	}
}

// fold builds the message the events add up to, as the Anthropic SDK's
// MessageStream does: message_start's message, blocks appended at start,
// text / thinking / partial JSON appended, message_delta's stop reason and
// usage (each count overwritten when present).
func fold(t testing.TB, evs []event) *Message {
	t.Helper()
	var m *Message
	partial := map[int]string{}
	for _, e := range evs {
		var ev struct {
			Message      *Message     `json:"message"`
			Index        int          `json:"index"`
			ContentBlock ContentBlock `json:"content_block"`
			Delta        struct {
				Type         string  `json:"type"`
				Text         string  `json:"text"`
				PartialJSON  string  `json:"partial_json"`
				Thinking     string  `json:"thinking"`
				Signature    string  `json:"signature"`
				StopReason   *string `json:"stop_reason"`
				StopSequence *string `json:"stop_sequence"`
			} `json:"delta"`
			Usage map[string]json.RawMessage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(e.Data), &ev); err != nil {
			t.Fatal(err)
		}
		switch e.Name {
		case "message_start":
			m = ev.Message
		case "content_block_start":
			m.Content = append(m.Content, ev.ContentBlock)
		case "content_block_delta":
			b := &m.Content[ev.Index]
			switch ev.Delta.Type {
			case "text_delta":
				b.Text += ev.Delta.Text
			case "thinking_delta":
				b.Thinking += ev.Delta.Thinking
			case "signature_delta":
				b.Signature += ev.Delta.Signature
			case "input_json_delta":
				partial[ev.Index] += ev.Delta.PartialJSON
			}
		case "content_block_stop":
			if p, ok := partial[ev.Index]; ok {
				if !json.Valid([]byte(p)) {
					t.Fatalf("block %d's partial JSON %q does not add up to JSON", ev.Index, p)
				}
				var buf bytes.Buffer
				_ = json.Compact(&buf, []byte(p))
				m.Content[ev.Index].Input = buf.Bytes()
			}
		case "message_delta":
			m.StopReason, m.StopSequence = ev.Delta.StopReason, ev.Delta.StopSequence
			set := func(dst *int, key string) {
				if v, ok := ev.Usage[key]; ok {
					if err := json.Unmarshal(v, dst); err != nil {
						t.Fatalf("usage %s: %v", key, err)
					}
				}
			}
			set(&m.Usage.InputTokens, "input_tokens")
			set(&m.Usage.CacheCreationInputTokens, "cache_creation_input_tokens")
			set(&m.Usage.CacheReadInputTokens, "cache_read_input_tokens")
			set(&m.Usage.OutputTokens, "output_tokens")
		}
	}
	return m
}

// run feeds chunks through a new Stream and finishes it.
func run(t testing.TB, model string, chunks [][]byte) (*Stream, []byte) {
	t.Helper()
	s := NewStream(model, 0)
	var out []byte
	for _, c := range chunks {
		b, err := s.Chunk(c)
		if err != nil {
			t.Fatalf("chunk %s: %v", c, err)
		}
		out = append(out, b...)
	}
	return s, append(out, s.Finish()...)
}

func readChunks(t *testing.T, path string) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, bytes.Clone(line))
		}
	}
	return out
}

func TestStreamTextThenAToolCallInPiecesWithUsageLast(t *testing.T) {
	chunk := func(delta, finish string) []byte {
		f := "null"
		if finish != "" {
			f = `"` + finish + `"`
		}
		return []byte(`{"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + f + `}]}`)
	}
	chunks := [][]byte{
		chunk(`{"role":"assistant","content":""}`, ""),
		chunk(`{"content":"Checking"}`, ""),
		chunk(`{"content":" now."}`, ""),
		chunk(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"ty\": \"Par"}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"is\"}"}}]}`, ""),
		chunk(`{}`, "tool_calls"),
		[]byte(`{"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":12,"total_tokens":62,"prompt_tokens_details":{"cached_tokens":20}}}`),
	}
	s, out := run(t, "claude-sonnet-4-5", chunks)
	want := []event{
		{"message_start", `{"type":"message_start","message":{"id":"msg_7","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}`},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		{"ping", `{"type":"ping"}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking"}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" now."}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"call_1","name":"get_weather","input":{}}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"ci"}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ty\": \"Par"}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is\"}"}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":1}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":20,"output_tokens":12}}`},
		{"message_stop", `{"type":"message_stop"}`},
	}
	got := parseSSE(t, out)
	if !reflect.DeepEqual(got, want) {
		var g, w strings.Builder
		for _, e := range got {
			fmt.Fprintf(&g, "%s %s\n", e.Name, e.Data)
		}
		for _, e := range want {
			fmt.Fprintf(&w, "%s %s\n", e.Name, e.Data)
		}
		t.Errorf("events\n--- got\n%s--- want\n%s", g.String(), w.String())
	}

	wantMsg := `{"id":"msg_7","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[` +
		`{"type":"text","text":"Checking now."},{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}}],` +
		`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":20,"output_tokens":12}}`
	if got := string(s.Message().JSON()); got != wantMsg {
		t.Errorf("Message\n got %s\nwant %s", got, wantMsg)
	}
	if got := string(fold(t, got).JSON()); got != wantMsg {
		t.Errorf("the events fold into\n     %s\nwant %s", got, wantMsg)
	}
	if u := s.Usage(); u.PromptTokens != 50 || u.CompletionTokens != 12 || u.CachedTokens() != 20 {
		t.Errorf("Usage %+v", u)
	}
}

// TestStreamGolden runs every testdata/stream/*.jsonl (one chunk a line)
// through a Stream and compares the bytes with its .golden.sse; the events
// must be well formed and fold into Stream.Message and into what FromChat
// makes of the same chunks accumulated.
func TestStreamGolden(t *testing.T) {
	for _, in := range fixtures(t, "stream", ".jsonl") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			chunks := readChunks(t, in)
			s, out := run(t, "claude-sonnet-4-5", chunks)
			checkGolden(t, golden(in, ".sse"), out, false)
			evs := parseSSE(t, out)
			checkWellFormed(t, evs)
			msg := s.Message()
			if folded := fold(t, evs); string(folded.JSON()) != string(msg.JSON()) {
				t.Errorf("events fold into\n%s\nMessage is\n%s", folded.JSON(), msg.JSON())
			}
			acc := openai.NewAccumulator()
			for _, c := range chunks {
				acc.Add(c)
			}
			whole := FromChat(acc.Completion(), "claude-sonnet-4-5")
			streamed := *msg
			streamed.Content = nil
			for _, b := range msg.Content {
				if b.Type != BlockThinking { // the accumulator has no reasoning
					streamed.Content = append(streamed.Content, b)
				}
			}
			if string(streamed.JSON()) != string(whole.JSON()) {
				t.Errorf("streamed answer\n%s\ndiffers from the whole answer\n%s", streamed.JSON(), whole.JSON())
			}
		})
	}
}

func TestStreamFailEndsWithAnErrorEventInAnthropicsShape(t *testing.T) {
	s := NewStream("claude-x", 0)
	first, err := s.Chunk([]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hel"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Started() {
		t.Error("not started after the first chunk")
	}
	failed := s.Fail(&openai.Error{Code: openai.CodeUpstreamError, Provider: "openai", Retryable: true,
		Message: "provider openai sent an error mid-stream: overloaded"})
	evs := parseSSE(t, append(first, failed...))
	checkWellFormed(t, evs)
	last := evs[len(evs)-1]
	if want := `{"type":"error","error":{"type":"api_error","message":"provider openai sent an error mid-stream: overloaded"}}`; last.Name != "error" || last.Data != want {
		t.Errorf("last event %s %s, want error %s", last.Name, last.Data, want)
	}
	if b, _ := s.Chunk([]byte(`{"choices":[{"index":0,"delta":{"content":"lo"}}]}`)); b != nil {
		t.Errorf("a chunk after Fail made %q", b)
	}
	if b := s.Finish(); b != nil {
		t.Errorf("Finish after Fail made %q", b)
	}
	if b := s.Fail(errors.New("again")); b != nil {
		t.Errorf("a second Fail made %q", b)
	}
	if m := s.Message(); m.StopReason != nil || m.Content[0].Text != "Hel" {
		t.Errorf("Message after Fail %+v", m)
	}
}

func TestStreamWithoutChunksStillOpensAndCloses(t *testing.T) {
	s := NewStream("claude-x", 42)
	evs := parseSSE(t, s.Finish())
	checkWellFormed(t, evs)
	names := []string{}
	for _, e := range evs {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, " "); got != "message_start message_delta message_stop" {
		t.Errorf("events %s", got)
	}
	if !strings.Contains(evs[0].Data, `"input_tokens":42`) || !strings.Contains(evs[1].Data, `"stop_reason":"end_turn"`) {
		t.Errorf("events %+v", evs)
	}
}

func TestStreamStartSendsMessageStartOnceBeforeTheFirstChunk(t *testing.T) {
	s := NewStream("claude-x", 7)
	start := parseSSE(t, s.Start())
	if len(start) != 1 || start[0].Name != "message_start" || !strings.Contains(start[0].Data, `"input_tokens":7`) {
		t.Fatalf("Start made %+v", start)
	}
	if b := s.Start(); b != nil {
		t.Errorf("a second Start made %q", b)
	}
	b, _ := s.Chunk([]byte(`{"id":"chatcmpl-9","choices":[{"index":0,"delta":{"content":"x"}}]}`))
	evs := parseSSE(t, append(s.Start(), b...))
	checkWellFormed(t, append(start, evs...))
	if id := s.Message().ID; !strings.HasPrefix(id, "msg_") || id == "msg_9" {
		t.Errorf("the id message_start sent must stay the message's id: %q", id)
	}
}

func TestStreamTakesInputTokensFromAFirstChunkWithUsage(t *testing.T) {
	s := NewStream("claude-x", 5)
	b, _ := s.Chunk([]byte(`{"id":"c","choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":300,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":100}}}`))
	if evs := parseSSE(t, b); !strings.Contains(evs[0].Data, `"usage":{"input_tokens":200,"cache_creation_input_tokens":0,"cache_read_input_tokens":100,"output_tokens":0}`) {
		t.Errorf("message_start %s", evs[0].Data)
	}
}

func TestStreamRefusesAChunkThatIsNotJSON(t *testing.T) {
	s := NewStream("claude-x", 0)
	b, err := s.Chunk([]byte(`data: {"x"`))
	if e, ok := err.(*Error); !ok || e.Status != 502 || b != nil || s.Started() {
		t.Errorf("got %q, %v", b, err)
	}
}

func TestStreamReportsARefusalAsStopReasonRefusal(t *testing.T) {
	_, out := run(t, "claude-x", [][]byte{
		[]byte(`{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","refusal":""}}]}`),
		[]byte(`{"id":"c","choices":[{"index":0,"delta":{"refusal":"I can't."}}]}`),
		[]byte(`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`),
	})
	evs := parseSSE(t, out)
	checkWellFormed(t, evs)
	if m := fold(t, evs); *m.StopReason != StopRefusal || m.Content[0].Text != "I can't." {
		t.Errorf("folded %s", m.JSON())
	}
}

func TestStreamKeepsInterleavedToolArgumentsInTheMessage(t *testing.T) {
	s, out := run(t, "claude-x", [][]byte{
		[]byte(`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\":"}}]}}]}`),
		[]byte(`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}`),
		[]byte(`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}`),
		[]byte(`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`),
	})
	checkWellFormed(t, parseSSE(t, out))
	m := s.Message()
	if len(m.Content) != 2 || string(m.Content[0].Input) != `{"x":1}` || string(m.Content[1].Input) != `{}` {
		t.Errorf("Message %s", m.JSON())
	}
}

func TestStreamIgnoresOtherChoicesAndPings(t *testing.T) {
	s := NewStream("claude-x", 0)
	b, _ := s.Chunk([]byte(`{"id":"c","choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]}`))
	if m := s.Message(); len(m.Content) != 1 || m.Content[0].Text != "mine" {
		t.Errorf("Message %s", m.JSON())
	}
	if p := parseSSE(t, s.Ping()); len(p) != 1 || p[0].Name != "ping" {
		t.Errorf("Ping %+v", p)
	}
	checkWellFormed(t, parseSSE(t, append(b, s.Finish()...)))
	if s.Ping() != nil {
		t.Error("a ping after the end")
	}
}

// TestStreamEndsAThinkingBlockWithTheSignatureOfItsThinkingBlocksElement:
// reasoning_content deltas stream as thinking_delta, the thinking_blocks
// element that ends the block (as the Anthropic and Bedrock providers send
// it) as its signature_delta; a signed block without streamed text sends
// its text first; the cache writes reach message_delta's usage.
func TestStreamEndsAThinkingBlockWithTheSignatureOfItsThinkingBlocksElement(t *testing.T) {
	chunks := [][]byte{
		[]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`),
		[]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"reasoning_content":"Look it up "}}]}`),
		[]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"reasoning_content":"first."}}]}`),
		[]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"thinking_blocks":[{"type":"thinking","thinking":"Look it up first.","signature":"sig-1"}]}}]}`),
		[]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"thinking_blocks":[{"type":"redacted_thinking","data":"opaque"}]}}]}`),
		[]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"thinking_blocks":[{"type":"thinking","thinking":"Then answer.","signature":"sig-2"}]}}]}`),
		[]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Chapter 2."}}]}`),
		[]byte(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`),
		[]byte(`{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":23012,"completion_tokens":40,"prompt_tokens_details":{"cached_tokens":20000,"cache_creation_tokens":3000,"cache_creation_token_details":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000}}}}`),
	}
	s, out := run(t, "claude-x", chunks)
	evs := parseSSE(t, out)
	checkWellFormed(t, evs)
	m := fold(t, evs)
	want := []ContentBlock{
		{Type: BlockThinking, Thinking: "Look it up first.", Signature: "sig-1"},
		{Type: BlockThinking, Thinking: "Then answer.", Signature: "sig-2"},
		{Type: BlockText, Text: "Chapter 2."},
	}
	if !reflect.DeepEqual(m.Content, want) {
		t.Errorf("folded content %+v, want %+v", m.Content, want)
	}
	if !reflect.DeepEqual(s.Message().Content, want) {
		t.Errorf("Message content %+v, want %+v", s.Message().Content, want)
	}
	wantUsage := Usage{InputTokens: 12, CacheReadInputTokens: 20000, CacheCreationInputTokens: 3000, OutputTokens: 40}
	if u := m.Usage; u.InputTokens != 12 || u.CacheReadInputTokens != 20000 || u.CacheCreationInputTokens != 3000 || u.OutputTokens != 40 {
		t.Errorf("folded usage %+v, want %+v", u, wantUsage)
	}
	if c := s.Message().Usage.CacheCreation; c == nil || *c != (CacheCreation{Ephemeral5mInputTokens: 1000, Ephemeral1hInputTokens: 2000}) {
		t.Errorf("cache_creation %+v", c)
	}
}
