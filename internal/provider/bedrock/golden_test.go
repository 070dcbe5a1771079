package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

const converseAnswer = `{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":1}}`

// TestRequestGolden sends OpenAI requests and compares the Converse request
// the fake received (path and body) with testdata/*.golden.json.
func TestRequestGolden(t *testing.T) {
	for _, name := range []string{"request_conversation", "request_image", "request_tool_choice_none",
		"request_cache_points", "request_response_format", "request_response_format_with_tools",
		"request_tool_choice_none_history", "request_thinking_history"} {
		t.Run(name, func(t *testing.T) {
			p, f := newTestProvider(t, jsonAnswer(http.StatusOK, "", converseAnswer))
			if _, err := p.Chat(context.Background(), chatRequest(t, string(providertest.ReadFile(t, "testdata/"+name+".json")))); err != nil {
				t.Fatalf("Chat: %v", err)
			}
			calls := f.Requests()
			if len(calls) != 1 {
				t.Fatalf("the fake got %d requests, want 1", len(calls))
			}
			got, err := json.Marshal(map[string]any{
				"method": calls[0].Method,
				"path":   calls[0].Path,
				"body":   json.RawMessage(calls[0].Body),
			})
			if err != nil {
				t.Fatalf("the request body is not JSON: %v\n%s", err, calls[0].Body)
			}
			providertest.CheckGolden(t, "testdata/"+name+".golden.json", got)
		})
	}
}

// TestStreamRequestGoesToConverseStream pins ConverseStream's path and that
// it carries the same translated body as Converse.
func TestStreamRequestGoesToConverseStream(t *testing.T) {
	events := []fakeEvent{
		ev("messageStart", `{"role":"assistant"}`),
		ev("messageStop", `{"stopReason":"end_turn"}`),
		ev("metadata", `{"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":1}}`),
	}
	p, f := newTestProvider(t, streamAnswer(t, events, false))
	s, err := p.ChatStream(context.Background(), chatRequest(t, string(providertest.ReadFile(t, "testdata/request_conversation.json"))))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	if _, err := providertest.Drain(t, s); err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	calls := f.Requests()
	if len(calls) != 1 || calls[0].Path != "/model/"+testModel+"/converse-stream" {
		t.Fatalf("calls = %+v, want one POST to /model/%s/converse-stream", calls, testModel)
	}
	var golden struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(providertest.ReadFile(t, "testdata/request_conversation.golden.json"), &golden); err != nil {
		t.Fatal(err)
	}
	if got, want := providertest.NormalizeJSON(t, calls[0].Body), providertest.NormalizeJSON(t, golden.Body); string(got) != string(want) {
		t.Errorf("ConverseStream body differs from Converse's golden body\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// normalizeCompletion checks the generated id and time, then fixes them so
// the rest compares with a golden file.
func normalizeCompletion(t *testing.T, m map[string]any) {
	t.Helper()
	id, _ := m["id"].(string)
	if !strings.HasPrefix(id, "chatcmpl-") || len(id) < len("chatcmpl-")+10 {
		t.Errorf("id %q is not chatcmpl-<random>", id)
	}
	if c, _ := m["created"].(float64); c < 1e9 {
		t.Errorf("created %v is not a Unix time", m["created"])
	}
	m["id"] = "chatcmpl-TEST"
	m["created"] = 0
}

// TestResponseGolden serves Converse answers and compares the OpenAI
// completion with testdata/*.golden.json; the usage the provider reports must
// match the body's.
func TestResponseGolden(t *testing.T) {
	for _, name := range []string{"response_text", "response_tool_use", "response_tool_only", "response_max_tokens", "response_guardrail",
		"response_json_tool", "response_reasoning_and_cache"} {
		t.Run(name, func(t *testing.T) {
			p, _ := newTestProvider(t, jsonAnswer(http.StatusOK, "", string(providertest.ReadFile(t, "testdata/"+name+".json"))))
			resp, err := p.Chat(context.Background(), chatRequest(t, goldenClientRequest(name, false)))
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			var cc openai.ChatCompletion
			if err := json.Unmarshal(resp.Body, &cc); err != nil {
				t.Fatal(err)
			}
			if cc.Usage == nil || !reflect.DeepEqual(*cc.Usage, resp.Usage) {
				t.Errorf("Response.Usage %+v does not match the body's usage %+v", resp.Usage, cc.Usage)
			}
			var m map[string]any
			if err := json.Unmarshal(resp.Body, &m); err != nil {
				t.Fatal(err)
			}
			normalizeCompletion(t, m)
			got, _ := json.Marshal(m)
			providertest.CheckGolden(t, "testdata/"+name+".golden.json", got)
		})
	}
}

// TestStreamGolden serves ConverseStream event fixtures and compares the
// chunks with testdata/*.golden.json. Every stream must share one id and end
// with the usage chunk, then io.EOF.
func TestStreamGolden(t *testing.T) {
	for _, name := range []string{"stream_text", "stream_tools", "stream_max_tokens", "stream_json_tool", "stream_reasoning"} {
		t.Run(name, func(t *testing.T) {
			var events []fakeEvent
			if err := json.Unmarshal(providertest.ReadFile(t, "testdata/"+name+".json"), &events); err != nil {
				t.Fatal(err)
			}
			p, _ := newTestProvider(t, streamAnswer(t, events, false))
			s, err := p.ChatStream(context.Background(), chatRequest(t, goldenClientRequest(name, true)))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			defer s.Close()
			chunks, err := providertest.Drain(t, s)
			if err != io.EOF {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			if len(chunks) == 0 || chunks[len(chunks)-1].Usage == nil {
				t.Fatalf("the last chunk is not the usage chunk")
			}
			var out []map[string]any
			firstID := ""
			for i, c := range chunks {
				if c.Usage != nil && i != len(chunks)-1 {
					t.Errorf("chunk %d carries usage but is not last", i)
				}
				var m map[string]any
				if err := json.Unmarshal(c.Data, &m); err != nil {
					t.Fatalf("chunk %d is not JSON: %v", i, err)
				}
				if firstID == "" {
					firstID, _ = m["id"].(string)
				} else if m["id"] != firstID {
					t.Errorf("chunk %d has id %v, want %s like the first", i, m["id"], firstID)
				}
				normalizeCompletion(t, m)
				out = append(out, map[string]any{"usage_chunk": c.Usage != nil, "chunk": m})
			}
			got, _ := json.Marshal(out)
			providertest.CheckGolden(t, "testdata/"+name+".golden.json", got)
		})
	}
}

// goldenClientRequest is the client's request of an answer fixture: a
// response_format for the *_json_tool ones (whose tool call is the answer).
func goldenClientRequest(fixture string, stream bool) string {
	format := ""
	if strings.HasSuffix(fixture, "_json_tool") {
		format = `,"response_format":{"type":"json_object"}`
	}
	return fmt.Sprintf(`{"model":"claude-sonnet","stream":%v,"messages":[{"role":"user","content":"hi"}]%s}`, stream, format)
}
