package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/sse"
)

const defaultStreamRequest = `{"model":"gpt-4o-mini","instructions":"You are a helpful assistant.","input":"Hello!","stream":true}`

// errCut is what a provider stream reports when the upstream went away.
var errCut = &openai.Error{Code: openai.CodeUpstreamError, Provider: "openai", Retryable: true,
	Message: "provider openai stream was cut: the upstream closed the stream before its end event"}

// translate feeds the chat chunks of testdata/stream/<name>.sse through a
// Stream as the gateway will: Chunk per event, Finish at [DONE], Fail when
// the body ends without it.
func translate(t *testing.T, name string) ([]byte, *Stream) {
	t.Helper()
	body := []byte(defaultStreamRequest)
	if b, err := os.ReadFile(filepath.Join("testdata/stream", name+".request.json")); err == nil {
		body = b
	}
	f, err := os.Open(filepath.Join("testdata/stream", name+".sse"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewStream(mustParse(t, body), testMeta())
	var out []byte
	r := sse.NewReader(f)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return append(out, s.Fail(errCut)...), s
		}
		if err != nil {
			t.Fatal(err)
		}
		if sse.IsDone(ev.Data) {
			return append(out, s.Finish()...), s
		}
		b, err := s.Chunk(ev.Data)
		out = append(out, b...)
		if err != nil {
			return append(out, s.Fail(err)...), s
		}
	}
}

// Each testdata/stream/<name>.sse is a chat completion stream as an
// upstream sends it (with <name>.request.json the request, if any);
// <name>.golden.sse is the Responses stream the client gets.
func TestStreamGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/stream/*.sse")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.sse") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		t.Run(name, func(t *testing.T) {
			out, _ := translate(t, name)
			golden(t, filepath.Join("testdata/stream", name+".golden.sse"), out)
		})
	}
	if n == 0 {
		t.Fatal("no cases in testdata/stream")
	}
}

type frame struct {
	Event string
	Data  map[string]any
	Raw   []byte
}

// frames splits SSE output, failing on anything but `event:` + `data:` frames
// whose event name is the data's type.
func frames(t *testing.T, b []byte) []frame {
	t.Helper()
	var out []frame
	for _, chunk := range bytes.SplitAfter(b, []byte("\n\n")) {
		if len(chunk) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimSuffix(string(chunk), "\n\n"), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") || !strings.HasSuffix(string(chunk), "\n\n") {
			t.Fatalf("malformed frame %q", chunk)
		}
		fr := frame{Event: strings.TrimPrefix(lines[0], "event: "), Raw: []byte(strings.TrimPrefix(lines[1], "data: "))}
		if err := json.Unmarshal(fr.Raw, &fr.Data); err != nil {
			t.Fatalf("frame data is not JSON: %v: %s", err, fr.Raw)
		}
		if fr.Data["type"] != fr.Event {
			t.Fatalf("event %q carries type %v", fr.Event, fr.Data["type"])
		}
		out = append(out, fr)
	}
	return out
}

func types(fs []frame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Event
	}
	return out
}

// checkSequence pins what every stream must hold: sequence numbers 0, 1, 2…;
// deltas and done events only for items added and not yet done, with the
// item's id; the terminal event last, carrying the final response.
func checkSequence(t *testing.T, fs []frame, s *Stream) {
	t.Helper()
	open := map[float64]string{} // output_index → item id
	args := map[string]string{}  // item id → streamed arguments
	texts := map[string]string{} // item id/content index → streamed text
	for i, f := range fs {
		if seq, _ := f.Data["sequence_number"].(float64); int(seq) != i {
			t.Fatalf("event %d (%s) has sequence_number %v", i, f.Event, f.Data["sequence_number"])
		}
		idx, _ := f.Data["output_index"].(float64)
		switch f.Event {
		case "response.output_item.added":
			item := f.Data["item"].(map[string]any)
			if _, dup := open[idx]; dup {
				t.Fatalf("output_index %v added twice", idx)
			}
			if item["status"] != StatusInProgress {
				t.Fatalf("added item has status %v", item["status"])
			}
			open[idx] = item["id"].(string)
		case "response.output_item.done":
			item := f.Data["item"].(map[string]any)
			if open[idx] != item["id"] {
				t.Fatalf("done item %v at %v was not open (%v)", item["id"], idx, open)
			}
			if item["type"] == TypeFunctionCall && item["arguments"] != args[open[idx]] {
				t.Fatalf("done arguments %q, streamed %q", item["arguments"], args[open[idx]])
			}
			delete(open, idx)
		case "response.function_call_arguments.delta", "response.function_call_arguments.done",
			"response.content_part.added", "response.content_part.done",
			"response.output_text.delta", "response.output_text.done", "response.refusal.delta", "response.refusal.done":
			id, ok := open[idx]
			if !ok || f.Data["item_id"] != id {
				t.Fatalf("%s for item %v at %v, open: %v", f.Event, f.Data["item_id"], idx, open)
			}
			key := fmt.Sprint(id, f.Data["content_index"])
			switch f.Event {
			case "response.function_call_arguments.delta":
				args[id] += f.Data["delta"].(string)
			case "response.function_call_arguments.done":
				if f.Data["arguments"] != args[id] {
					t.Fatalf("arguments.done %q, streamed %q", f.Data["arguments"], args[id])
				}
			case "response.output_text.delta", "response.refusal.delta":
				texts[key] += f.Data["delta"].(string)
			case "response.output_text.done":
				if f.Data["text"] != texts[key] {
					t.Fatalf("output_text.done %q, streamed %q", f.Data["text"], texts[key])
				}
			case "response.refusal.done":
				if f.Data["refusal"] != texts[key] {
					t.Fatalf("refusal.done %q, streamed %q", f.Data["refusal"], texts[key])
				}
			}
		}
	}
	last := fs[len(fs)-1]
	switch last.Event {
	case "response.completed", "response.incomplete", "response.failed":
	default:
		t.Fatalf("the stream ends with %s", last.Event)
	}
	if last.Event != "response.failed" && len(open) != 0 {
		t.Fatalf("items left open: %v", open)
	}
	final, _ := json.Marshal(last.Data["response"])
	want, _ := json.Marshal(json.RawMessage(s.Response().JSON()))
	var a, b any
	_ = json.Unmarshal(final, &a)
	_ = json.Unmarshal(want, &b)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("the terminal event's response is not Stream.Response():\n%s\n%s", final, want)
	}
}

func TestStreamOfTextAndToolCalls(t *testing.T) {
	out, s := translate(t, "tool_calls")
	fs := frames(t, out)
	want := []string{
		"response.created", "response.in_progress",
		"response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.output_item.added",
		"response.function_call_arguments.delta", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.output_item.added",
		"response.function_call_arguments.delta", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.completed",
	}
	if got := types(fs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events:\n%v\nwant:\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkSequence(t, fs, s)

	created := fs[0].Data["response"].(map[string]any)
	if created["status"] != StatusInProgress || created["usage"] != nil || len(created["output"].([]any)) != 0 || created["id"] != "resp_test" {
		t.Fatalf("response.created carries %v", created)
	}
	call := fs[9].Data["item"].(map[string]any)
	if call["type"] != TypeFunctionCall || call["call_id"] != "call_DdmO9pD3xa9XTPNJ32zg2hcA" || call["name"] != "get_weather" || call["arguments"] != "" || fs[9].Data["output_index"] != 1.0 {
		t.Fatalf("the first call is added as %v", fs[9].Data)
	}
	if d := fs[13].Data; d["arguments"] != `{"city": "Paris"}` || d["name"] != "get_weather" || d["item_id"] != call["id"] {
		t.Fatalf("arguments.done = %v", d)
	}

	final := s.Response()
	if final.Status != StatusCompleted || final.CompletedAt == nil || len(final.Output) != 3 {
		t.Fatalf("final = %s", final.JSON())
	}
	if final.OutputText() != "Let me check." || final.Output[2].Arguments != `{"city": "Rome"}` || final.Output[2].CallID != "call_ABx2kMq8Wd1d2cC6yVdG3pCr" {
		t.Fatalf("final output = %s", final.JSON())
	}
	if u := final.Usage; u == nil || u.InputTokens != 82 || u.OutputTokens != 46 || u.TotalTokens != 128 || u.InputTokensDetails.CachedTokens != 64 {
		t.Fatalf("usage (sent with the finish chunk) = %+v", final.Usage)
	}
	if s.Usage().PromptTokens != 82 {
		t.Fatalf("chat usage = %+v", s.Usage())
	}
}

func TestStreamOfText(t *testing.T) {
	out, s := translate(t, "text")
	fs := frames(t, out)
	want := "[response.created response.in_progress response.output_item.added response.content_part.added " +
		"response.output_text.delta response.output_text.delta response.output_text.delta " +
		"response.output_text.done response.content_part.done response.output_item.done response.completed]"
	if fmt.Sprint(types(fs)) != want {
		t.Fatalf("events = %v", types(fs))
	}
	checkSequence(t, fs, s)
	part := fs[3].Data["part"].(map[string]any)
	if part["type"] != PartOutputText || part["text"] != "" || fmt.Sprint(part["annotations"]) != "[]" {
		t.Fatalf("content_part.added part = %v", part)
	}
	delta := fs[4].Data
	if delta["delta"] != "Hi" || delta["content_index"] != 0.0 || delta["output_index"] != 0.0 || fmt.Sprint(delta["logprobs"]) != "[]" {
		t.Fatalf("first delta = %v", delta)
	}
	if !bytes.Contains(out, []byte("<How> can I help & assist?")) {
		t.Fatal("text must reach the client unescaped")
	}
	if s.Response().Model != "gpt-4o-mini-2024-07-18" || s.Response().Usage.TotalTokens != 48 {
		t.Fatalf("response = %s", s.Response().JSON())
	}
}

func TestStreamCutByLengthIsIncomplete(t *testing.T) {
	out, s := translate(t, "length")
	fs := frames(t, out)
	checkSequence(t, fs, s)
	last := fs[len(fs)-1]
	if last.Event != "response.incomplete" {
		t.Fatalf("terminal event = %s", last.Event)
	}
	r := last.Data["response"].(map[string]any)
	if r["status"] != StatusIncomplete || fmt.Sprint(r["incomplete_details"]) != "map[reason:max_output_tokens]" || r["completed_at"] != nil {
		t.Fatalf("response = %v", r)
	}
	if item := fs[len(fs)-2].Data["item"].(map[string]any); item["status"] != StatusIncomplete {
		t.Fatalf("the cut message is %v", item["status"])
	}
}

func TestStreamOfARefusal(t *testing.T) {
	out, s := translate(t, "refusal")
	fs := frames(t, out)
	checkSequence(t, fs, s)
	if got := fmt.Sprint(types(fs)[2:8]); got != "[response.output_item.added response.content_part.added response.refusal.delta response.refusal.delta response.refusal.done response.content_part.done]" {
		t.Fatalf("events = %v", types(fs))
	}
	if p := s.Response().Output[0].Content.Parts[0]; p.Type != PartRefusal || p.Refusal != "I can't help with that." {
		t.Fatalf("part = %+v", p)
	}
}

func TestACutStreamFailsWithTheErrorAndTheOutputSoFar(t *testing.T) {
	out, s := translate(t, "cut")
	fs := frames(t, out)
	checkSequence(t, fs, s)
	n := len(fs)
	if fs[n-2].Event != "error" || fs[n-1].Event != "response.failed" {
		t.Fatalf("events = %v", types(fs))
	}
	ev := fs[n-2].Data
	nested := ev["error"].(map[string]any)
	if ev["message"] != errCut.Message || ev["code"] != "upstream_error" || ev["param"] != nil ||
		nested["message"] != errCut.Message || nested["type"] != "api_error" || nested["code"] != "upstream_error" {
		t.Fatalf("error event = %v", ev)
	}
	r := fs[n-1].Data["response"].(map[string]any)
	if r["status"] != StatusFailed || fmt.Sprint(r["error"]) != "map[code:server_error message:"+errCut.Message+"]" {
		t.Fatalf("failed response = %v", r)
	}
	final := s.Response()
	if final.OutputText() != "The answer is forty" || final.Output[0].Status != StatusIncomplete {
		t.Fatalf("final = %s", final.JSON())
	}
	if more := s.Finish(); more != nil {
		t.Fatalf("Finish after Fail sent %q", more)
	}
	if b, err := s.Chunk([]byte(`{"choices":[{"index":0,"delta":{"content":"two"}}]}`)); b != nil || err != nil {
		t.Fatalf("a chunk after the end sent %q, %v", b, err)
	}
}

func TestARateLimitedStreamFailsWithRateLimitExceeded(t *testing.T) {
	s := NewStream(mustParse(t, []byte(defaultStreamRequest)), testMeta())
	fs := frames(t, s.Fail(&openai.Error{Code: openai.CodeRateLimited, Message: "slow down"}))
	if types(fs)[0] != "response.created" || s.Response().Error.Code != "rate_limit_exceeded" {
		t.Fatalf("events %v, error %+v", types(fs), s.Response().Error)
	}
}

func TestAnUndecodableChunkIsAnUpstreamError(t *testing.T) {
	s := NewStream(mustParse(t, []byte(defaultStreamRequest)), testMeta())
	_, err := s.Chunk([]byte(`{"choices":"nope"}`))
	var e *openai.Error
	if !errors.As(err, &e) || e.Code != openai.CodeUpstreamError {
		t.Fatalf("err = %v", err)
	}
	fs := frames(t, s.Fail(err))
	if fmt.Sprint(types(fs)) != "[response.created response.in_progress error response.failed]" {
		t.Fatalf("events = %v", types(fs))
	}
}

func TestStartSendsTheOpeningEventsOnce(t *testing.T) {
	s := NewStream(mustParse(t, []byte(defaultStreamRequest)), testMeta())
	fs := frames(t, s.Start())
	if fmt.Sprint(types(fs)) != "[response.created response.in_progress]" {
		t.Fatalf("events = %v", types(fs))
	}
	if s.Start() != nil {
		t.Fatal("a second Start sent events")
	}
	b, _ := s.Chunk([]byte(`{"model":"up","choices":[{"index":0,"delta":{"content":"x"}}]}`))
	fs = frames(t, append(b, s.Finish()...))
	if fs[0].Event != "response.output_item.added" || fs[0].Data["sequence_number"] != 2.0 {
		t.Fatalf("after Start: %v", types(fs))
	}
	if s.Response().Model != "gpt-4o-mini" {
		t.Fatalf("a stream started before its first chunk reports the request's model, got %q", s.Response().Model)
	}
}

func TestAnEmptyStreamCompletesWithNoOutput(t *testing.T) {
	s := NewStream(mustParse(t, []byte(defaultStreamRequest)), testMeta())
	fs := frames(t, s.Finish())
	if fmt.Sprint(types(fs)) != "[response.created response.in_progress response.completed]" || len(s.Response().Output) != 0 {
		t.Fatalf("events = %v", types(fs))
	}
}

func TestToolCallDeltasFromLessTidyProviders(t *testing.T) {
	s := NewStream(mustParse(t, []byte(defaultStreamRequest)), testMeta())
	chunks := []string{
		// The name and id repeated on every delta; text arriving after a call;
		// other choices ignored; a call without an id.
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"f","arguments":"{\"x\":"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"f","arguments":"1}"}}]}}]}`,
		`{"choices":[{"index":1,"delta":{"content":"other choice"}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"done"}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"name":"g","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`,
	}
	var out []byte
	for _, c := range chunks {
		b, err := s.Chunk([]byte(c))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	out = append(out, s.Finish()...)
	checkSequence(t, frames(t, out), s)
	r := s.Response()
	if len(r.Output) != 3 || r.Output[0].Name != "f" || r.Output[0].Arguments != `{"x":1}` || r.Output[1].Type != TypeMessage ||
		r.OutputText() != "done" || r.Output[2].Name != "g" || !strings.HasPrefix(r.Output[2].CallID, "call_") {
		t.Fatalf("output = %s", r.JSON())
	}
}
