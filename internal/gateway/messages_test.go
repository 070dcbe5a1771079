package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/gateway"
	"github.com/aigateway/gateway/internal/messages"
	"github.com/aigateway/gateway/internal/sse"
	"github.com/aigateway/gateway/internal/state/memory"
)

// Two upstreams: {A} speaks Anthropic's Messages API (native pass-through),
// {B} the OpenAI protocol (translated). "either" fails over from the first
// to the second. A token of claude-up costs $1 in and $2 out.
const messagesConfig = `
[defaults.retry]
max_retries = 0
[[providers]]
name = "claude"
kind = "anthropic"
base_url = "{A}"
api_key = "${UPSTREAM_KEY}"
models = ["claude-up"]
[[providers]]
name = "oai"
kind = "custom"
base_url = "{B}"
api_key = "${UPSTREAM_KEY}"
models = ["gpt-up"]
[aliases]
claude-alias = "claude-up"
[[routes]]
model = "either"
targets = [{ provider = "claude", model = "claude-up" }, { provider = "oai", model = "gpt-up" }]
[pricing.claude-up]
input = 1000000.0
output = 2000000.0
`

// messagesStateful adds keys, the cache and a content policy.
const messagesStateful = messagesConfig + `
[auth]
enabled = true
admin_key = "` + adminKey + `"
[cache]
enabled = true
ttl = "1h"
[guardrails.global]
blocked_words = ["project nightingale"]
redact_emails = true
`

// messagesCached is messagesStateful without authentication.
var messagesCached = strings.Replace(messagesStateful, "enabled = true\nadmin_key", "enabled = false\nadmin_key", 1)

// The native upstream's answers, spaced as no encoder of the gateway's
// would write them: a pass-through that re-encoded would change them.
const (
	nativeAnswer = `{"id": "msg_native1", "type": "message", "role": "assistant", "model": "claude-up-20250101",
 "content": [{"type": "text", "text": "native <hello>"}], "stop_reason": "end_turn", "stop_sequence": null,
 "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 4}}`
	nativeStart  = "event: message_start\ndata: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_native2\", \"type\": \"message\", \"role\": \"assistant\", \"model\": \"claude-up-20250101\", \"content\": [], \"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 10, \"cache_creation_input_tokens\": 0, \"cache_read_input_tokens\": 0, \"output_tokens\": 1}}}\n\n"
	nativeText   = "event: content_block_start\ndata: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"text\", \"text\": \"\"}}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\nevent: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"native \"}}\n\n"
	nativeEnd    = "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"stream\"}}\n\nevent: content_block_stop\ndata: {\"type\": \"content_block_stop\", \"index\": 0}\n\nevent: message_delta\ndata: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", \"stop_sequence\": null}, \"usage\": {\"output_tokens\": 6}}\n\nevent: message_stop\ndata: {\"type\": \"message_stop\"}\n\n"
	nativeStream = nativeStart + nativeText + nativeEnd
)

// nativeUpstream is a fake of Anthropic's API. A prompt containing
// "overloaded" gets a 529; "error first" a stream that starts with an error
// event; "cut" a stream cut after its first text; "hang" a stream that
// waits for the gateway to leave.
func nativeUpstream(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	has := func(s string) bool { return bytes.Contains(body, []byte(s)) }
	var req struct {
		Stream bool `json:"stream"`
	}
	_ = json.Unmarshal(body, &req)
	stream := req.Stream
	switch {
	case r.URL.Path == "/v1/messages/count_tokens":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"input_tokens": 17}`)
	case r.URL.Path != "/v1/messages":
		status(404, `{"type":"error","error":{"type":"not_found_error","message":"no such path"}}`)(w, r)
	case has("overloaded"):
		status(529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)(w, r)
	case has("upstream refuses"):
		status(400, `{"type":"error","error":{"type":"invalid_request_error","message":"messages.0: bad turn"}}`)(w, r)
	case !stream:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, nativeAnswer)
	default:
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		switch {
		case has("error first"):
			fmt.Fprint(w, ": proxy keep-alive\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
		case has("error later"):
			fmt.Fprint(w, nativeStart+nativeText+"event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n")
		case has("cut"):
			fmt.Fprint(w, nativeStart+nativeText)
			f.Flush()
			panic(http.ErrAbortHandler)
		case has("hang"):
			fmt.Fprint(w, nativeStart+nativeText)
			f.Flush()
			<-r.Context().Done()
		case has("comment first"):
			fmt.Fprint(w, ": proxy keep-alive\n\n"+nativeStream)
		default:
			fmt.Fprint(w, nativeStream)
		}
	}
}

// chatUpstream is an OpenAI-protocol fake: a tool call when the request
// has tools, "from b" otherwise; "cut" cuts a stream after its first chunk.
func chatUpstream(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	stream := bytes.Contains(body, []byte(`"stream":true`))
	chunk := func(delta, finish string) string {
		return `data: {"id":"chatcmpl-t1","object":"chat.completion.chunk","created":1,"model":"gpt-up","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + finish + `}]}` + "\n\n"
	}
	switch {
	case bytes.Contains(body, []byte("cut")) && stream:
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, chunk(`{"role":"assistant","content":"par"}`, "null"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case bytes.Contains(body, []byte(`"tools"`)) && stream:
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, chunk(`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}`, "null"))
		fmt.Fprint(w, chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Oslo\"}"}}]}`, "null"))
		fmt.Fprint(w, chunk(`{}`, `"tool_calls"`))
		fmt.Fprint(w, `data: {"id":"chatcmpl-t1","object":"chat.completion.chunk","created":1,"model":"gpt-up","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}`+"\n\ndata: [DONE]\n\n")
	case bytes.Contains(body, []byte(`"tools"`)):
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"chatcmpl-t1","object":"chat.completion","created":1,"model":"gpt-up","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}`)
	default:
		okChat("b")(w, r)
	}
}

// postMessages sends a Messages request with Claude Code's headers.
func postMessages(t *testing.T, h http.Handler, path, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	base := []string{"Anthropic-Version", "2023-06-01", "Anthropic-Beta", "claude-code-20250219,interleaved-thinking-2025-05-14", "X-App", "cli"}
	return do(t, h, "POST", path, body, append(base, hdr...)...)
}

// anthropicError decodes an error in Anthropic's shape and fails when the
// body or its content type is not one.
func anthropicError(t *testing.T, rec *httptest.ResponseRecorder) (typ, message string) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	var b struct {
		Type  string `json:"type"`
		Error struct {
			Type    string  `json:"type"`
			Message string  `json:"message"`
			Code    *string `json:"code"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Type != "error" || b.Error.Type == "" || b.Error.Message == "" || b.Error.Code != nil {
		t.Fatalf("not an Anthropic error body: %s", rec.Body)
	}
	if b.RequestID == "" || b.RequestID != rec.Header().Get("X-Request-Id") {
		t.Errorf("request_id %q, header %q", b.RequestID, rec.Header().Get("X-Request-Id"))
	}
	return b.Error.Type, b.Error.Message
}

type event struct{ name, data string }

// eventsOf reads an Anthropic SSE body.
func eventsOf(t *testing.T, body string) []event {
	t.Helper()
	var out []event
	r := sse.NewReader(strings.NewReader(body))
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%v in %s", err, body)
		}
		out = append(out, event{ev.Event, string(ev.Data)})
	}
}

// accumulated is the answer a client folding the events builds.
func accumulated(t *testing.T, body string) *messages.Message {
	t.Helper()
	var a messages.Accumulator
	for _, ev := range eventsOf(t, body) {
		a.Add([]byte(ev.data))
	}
	m, ok := a.Message()
	if !ok {
		t.Fatalf("the stream does not add up to an answer: %s", body)
	}
	return m
}

func TestMessagesThroughAChatProvider(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	b := newUpstream(t, chatUpstream)
	g, logs := newGateway(t, messagesConfig, a, b)
	tests := []struct {
		name, body string
		upstream   []string // in the chat request the upstream got
		answer     string   // the Messages answer, whole
	}{
		{"text", `{"model":"gpt-up","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"hello"}]}`,
			[]string{`"model":"gpt-up"`, `{"role":"system","content":"Be brief."}`, `{"role":"user","content":"hello"}`, `"max_tokens":100`},
			`{"id":"msg_c1","type":"message","role":"assistant","model":"gpt-up","content":[{"type":"text","text":"from b"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}`},
		{"tools", `{"model":"gpt-up","max_tokens":100,"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"Weather in Oslo?"}]}`,
			[]string{`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`, `"tool_choice":"required"`},
			`{"id":"msg_t1","type":"message","role":"assistant","model":"gpt-up","content":[{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Oslo"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}}`},
		{"a tool result and an image", `{"model":"gpt-up","max_tokens":100,"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Oslo"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"sunny"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"text","text":"what is this?"}]}]}`,
			[]string{`"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]`, `{"role":"tool","content":"sunny","tool_call_id":"call_1"}`, `{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}`},
			`{"id":"msg_c1","type":"message","role":"assistant","model":"gpt-up","content":[{"type":"text","text":"from b"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := postMessages(t, g, "/v1/messages", tt.body)
			if rec.Code != 200 || rec.Header().Get("X-Gateway-Provider") != "oai" {
				t.Fatalf("%d from %q: %s", rec.Code, rec.Header().Get("X-Gateway-Provider"), rec.Body)
			}
			for _, want := range tt.upstream {
				if !strings.Contains(string(b.lastBody()), want) {
					t.Errorf("the upstream's chat request lacks %s: %s", want, b.lastBody())
				}
			}
			if got := rec.Body.String(); got != tt.answer {
				t.Errorf("answer\n%s\nwant\n%s", got, tt.answer)
			}
		})
	}
	if a.calls.Load() != 0 {
		t.Error("the Anthropic upstream was called for an OpenAI model")
	}
	if line := logs.String(); !strings.Contains(line, `"provider":"oai"`) || !strings.Contains(line, `"prompt_tokens":20`) {
		t.Errorf("log line: %s", line)
	}
	t.Run("without the /v1 prefix", func(t *testing.T) {
		if rec := postMessages(t, g, "/messages", tests[0].body); rec.Code != 200 || rec.Body.String() != tests[0].answer {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
}

func TestMessagesStreamThroughAChatProvider(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	b := newUpstream(t, chatUpstream)
	g, _ := newGateway(t, messagesConfig, a, b)
	t.Run("text", func(t *testing.T) {
		rec := postMessages(t, g, "/v1/messages", `{"model":"gpt-up","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello"}]}`)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/event-stream" {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		var names []string
		for _, ev := range eventsOf(t, rec.Body.String()) {
			names = append(names, ev.name)
		}
		want := "message_start content_block_start ping content_block_delta content_block_delta content_block_stop message_delta message_stop"
		if got := strings.Join(names, " "); got != want {
			t.Errorf("events %s, want %s", got, want)
		}
		m := accumulated(t, rec.Body.String())
		if m.Model != "gpt-up" || len(m.Content) != 1 || m.Content[0].Text != "from b" || m.Usage.OutputTokens != 2 || *m.StopReason != "end_turn" {
			t.Errorf("answer %s", m.JSON())
		}
		if !strings.Contains(string(b.lastBody()), `"stream":true`) {
			t.Errorf("upstream got %s", b.lastBody())
		}
	})
	t.Run("tools", func(t *testing.T) {
		rec := postMessages(t, g, "/v1/messages", `{"model":"gpt-up","max_tokens":100,"stream":true,"tools":[{"name":"get_weather","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"Weather in Oslo?"}]}`)
		m := accumulated(t, rec.Body.String())
		if len(m.Content) != 1 || m.Content[0].Type != "tool_use" || m.Content[0].ID != "call_1" || string(m.Content[0].Input) != `{"city":"Oslo"}` || *m.StopReason != "tool_use" {
			t.Errorf("answer %s", m.JSON())
		}
		if !strings.Contains(rec.Body.String(), `"type":"input_json_delta","partial_json":"{\"city\":\"Oslo\"}"`) {
			t.Errorf("no input_json_delta: %s", rec.Body)
		}
	})
}

func TestMessagesPassThroughToAnthropicUnchanged(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	b := newUpstream(t, chatUpstream)
	g, logs := newGateway(t, messagesConfig, a, b)
	// Fields the chat translation does not carry, in a spacing of the client's own.
	sent := `{"model": "claude-alias", "max_tokens": 64, "top_k": 3, "thinking": {"type": "enabled", "budget_tokens": 1024},
  "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
  "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}, {"type": "text", "text": "Summarise"}]}],
  "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}], "future_field": [1, 2.50]%s}`
	for _, tt := range []struct{ name, stream, want string }{
		{"non-stream", "", nativeAnswer},
		// The cost follows the upstream's last event (message_stop).
		{"stream", `, "stream": true`, nativeStream + gateway.CostComment + "22\n\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := fmt.Sprintf(sent, tt.stream)
			rec := postMessages(t, g, "/v1/messages?beta=true", body, "Authorization", "Bearer client-token")
			if rec.Code != 200 || rec.Header().Get("X-Gateway-Provider") != "claude" || rec.Header().Get("X-Gateway-Model") != "claude-up" {
				t.Fatalf("%d from %q: %s", rec.Code, rec.Header().Get("X-Gateway-Provider"), rec.Body)
			}
			if got, want := string(a.lastBody()), strings.Replace(body, `"model": "claude-alias"`, `"model": "claude-up"`, 1); got != want {
				t.Errorf("upstream body\n%s\nwant (only the model changed)\n%s", got, want)
			}
			if rec.Body.String() != tt.want {
				t.Errorf("client got\n%q\nwant the upstream's bytes\n%q", rec.Body, tt.want)
			}
		})
	}
	line := logs.String()
	if !strings.Contains(line, `"prompt_tokens":10,"completion_tokens":6`) || !strings.Contains(line, `"cost_usd":22`) {
		t.Errorf("the stream's usage (10 in, 6 out: $22) is not in the log: %s", line)
	}
	t.Run("the upstream gets the provider's key and the client's anthropic-beta", func(t *testing.T) {
		var got http.Header
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Clone()
			nativeUpstream(w, r)
		})
		g, _ := newGateway(t, messagesConfig, up, b)
		postMessages(t, g, "/v1/messages", `{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, "X-Api-Key", "client-key")
		if got.Get("X-Api-Key") != secretKey || got.Get("Anthropic-Version") != "2023-06-01" ||
			got.Get("Anthropic-Beta") != "claude-code-20250219,interleaved-thinking-2025-05-14" || got.Get("Authorization") != "" || got.Get("X-App") != "" {
			t.Errorf("upstream headers %v", got)
		}
	})
}

func TestMessagesErrorsHaveAnthropicsShape(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	b := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		status(429, `{"error":{"message":"slow down"}}`)(w, r)
	})
	g := newStateful(t, messagesStateful+"\n[server]\nmax_body_bytes = 4096\n", nil, a, b)
	secret, _ := createKey(t, g, `{"name":"claude code"}`)
	limited, _ := createKey(t, g, `{"limits":{"rpm":1}}`)
	key := []string{"X-Api-Key", secret}
	ok := `{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`
	tests := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		typ, message             string
	}{
		{"no key", "POST", "/v1/messages", ok, nil, 401, "authentication_error", "Missing API key"},
		{"a wrong key", "POST", "/v1/messages", ok, []string{"X-Api-Key", "sk-gw-nope"}, 401, "authentication_error", "Incorrect API key"},
		{"a wrong bearer token", "POST", "/v1/messages/count_tokens", ok, []string{"Authorization", "Bearer sk-gw-nope"}, 401, "authentication_error", "Incorrect API key"},
		{"invalid JSON", "POST", "/v1/messages", `{"model":`, key, 400, "invalid_request_error", "not valid JSON"},
		{"no max_tokens", "POST", "/v1/messages", `{"model":"claude-up","messages":[{"role":"user","content":"x"}]}`, key, 400, "invalid_request_error", "max_tokens: Field required"},
		{"an unknown model", "POST", "/v1/messages", `{"model":"claude-nope","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, key, 404, "not_found_error", "claude-nope"},
		{"an oversized body", "POST", "/v1/messages", `{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`, key, 413, "request_too_large", "larger than 4096 bytes"},
		{"a blocked word", "POST", "/v1/messages", `{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":"ok"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"about Project Nightingale"}]}]}`, key, 400, "invalid_request_error", "messages.2 was blocked"},
		{"a blocked system prompt", "POST", "/v1/messages", `{"model":"claude-up","max_tokens":5,"system":"project nightingale","messages":[{"role":"user","content":"x"}]}`, key, 400, "invalid_request_error", "system was blocked"},
		{"a duplicated key", "POST", "/v1/messages", `{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"ok","text":"project nightingale"}]}]}`, key, 400, "invalid_request_error", "more than once"},
		{"a block only Anthropic models read", "POST", "/v1/messages", `{"model":"gpt-up","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]}`, key, 400, "invalid_request_error", "can only be sent to Anthropic models"},
		{"an upstream 400", "POST", "/v1/messages", `{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":"upstream refuses"}]}`, key, 400, "invalid_request_error", "messages.0: bad turn"},
		{"an overloaded upstream", "POST", "/v1/messages", `{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":"overloaded"}]}`, key, 502, "api_error", "Overloaded"},
		{"an upstream 429", "POST", "/v1/messages", `{"model":"gpt-up","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, key, 429, "rate_limit_error", "slow down"},
		{"a wrong method", "GET", "/v1/messages", ``, key, 405, "invalid_request_error", "use POST"},
		{"an unknown path under messages", "POST", "/v1/messages/batches", ok, key, 404, "not_found_error", "unknown path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, g, tt.method, tt.path, tt.body, tt.hdr...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			typ, msg := anthropicError(t, rec)
			if typ != tt.typ || !strings.Contains(msg, tt.message) {
				t.Errorf("error %s %q, want %s containing %q", typ, msg, tt.typ, tt.message)
			}
			if strings.Contains(rec.Body.String(), secretKey) || strings.Contains(strings.ToLower(msg), "nightingale") {
				t.Errorf("the error leaks: %s", rec.Body)
			}
			if tt.status == 429 && rec.Header().Get("Retry-After") != "30" {
				t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
			}
		})
	}
	t.Run("a key over its rate limit gets a 429 with Retry-After and the limit headers", func(t *testing.T) {
		first := postMessages(t, g, "/v1/messages", ok, "X-Api-Key", limited)
		second := postMessages(t, g, "/v1/messages", ok, "X-Api-Key", limited)
		if first.Code != 200 || second.Code != 429 || second.Header().Get("Retry-After") == "" || second.Header().Get("X-Ratelimit-Limit-Requests") != "1" {
			t.Fatalf("%d then %d %v", first.Code, second.Code, second.Header())
		}
		if typ, _ := anthropicError(t, second); typ != "rate_limit_error" {
			t.Errorf("type %s", typ)
		}
	})
}

func TestMessagesBudgetAndSpend(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	st := memory.New(nil)
	g := newStateful(t, messagesStateful, st, a, a)
	// 10 tokens in at $1 and 4 out at $2: $18 a request.
	secret, id := createKey(t, g, `{"budget":{"total_usd":20}}`)
	for i := 0; i < 2; i++ {
		rec := postMessages(t, g, "/v1/messages", fmt.Sprintf(`{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":"n%d"}]}`, i), "X-Api-Key", secret)
		if rec.Code != 200 || rec.Header().Get("X-Gateway-Cost-Usd") != "18" {
			t.Fatalf("request %d: %d cost %q %s", i, rec.Code, rec.Header().Get("X-Gateway-Cost-Usd"), rec.Body)
		}
	}
	if s, _ := st.Spend.Get(context.Background(), id, time.Now()); s.TotalMicros != 36_000_000 {
		t.Fatalf("spend %+v", s)
	}
	rec := postMessages(t, g, "/v1/messages", `{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":"more"}]}`, "X-Api-Key", secret)
	if rec.Code != 429 {
		t.Fatalf("over budget: %d %s", rec.Code, rec.Body)
	}
	if typ, msg := anthropicError(t, rec); typ != "rate_limit_error" || !strings.Contains(msg, "budget") {
		t.Errorf("%s %s", typ, msg)
	}
}

func TestMessagesCache(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	b := newUpstream(t, chatUpstream)
	g := newStateful(t, messagesCached, nil, a, b)
	for _, model := range []string{"claude-up", "gpt-up"} {
		t.Run(model, func(t *testing.T) {
			before := a.calls.Load() + b.calls.Load()
			body := `{"model":"` + model + `","max_tokens":50,"messages":[{"role":"user","content":"cache me"}]}`
			first := postMessages(t, g, "/v1/messages", body)
			second := postMessages(t, g, "/v1/messages", body)
			if first.Header().Get("X-Gateway-Cache") != "miss" || second.Header().Get("X-Gateway-Cache") != "hit" || second.Header().Get("X-Gateway-Cost-Usd") != "0" {
				t.Fatalf("cache %q then %q", first.Header().Get("X-Gateway-Cache"), second.Header().Get("X-Gateway-Cache"))
			}
			if first.Body.String() != second.Body.String() {
				t.Errorf("the hit differs:\n%s\n%s", first.Body, second.Body)
			}
			stream := postMessages(t, g, "/v1/messages", strings.Replace(body, `"max_tokens"`, `"stream":true,"max_tokens"`, 1))
			if stream.Header().Get("X-Gateway-Cache") != "hit" || stream.Header().Get("Content-Type") != "text/event-stream" {
				t.Fatalf("stream: cache %q, %q", stream.Header().Get("X-Gateway-Cache"), stream.Header().Get("Content-Type"))
			}
			var whole messages.Message
			_ = json.Unmarshal(first.Body.Bytes(), &whole)
			if got := accumulated(t, stream.Body.String()); string(got.JSON()) != string(whole.JSON()) {
				t.Errorf("the replayed stream adds up to\n%s\nnot\n%s", got.JSON(), whole.JSON())
			}
			if calls := a.calls.Load() + b.calls.Load() - before; calls != 1 {
				t.Errorf("upstream calls %d, want 1", calls)
			}
		})
	}
	t.Run("a completed native stream is cached and a cut one is not", func(t *testing.T) {
		stream := `{"model":"claude-up","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"%s"}]}`
		postMessages(t, g, "/v1/messages", fmt.Sprintf(stream, "stream me"))
		rec := postMessages(t, g, "/v1/messages", fmt.Sprintf(strings.Replace(stream, `"stream":true,`, "", 1), "stream me"))
		if rec.Header().Get("X-Gateway-Cache") != "hit" || !strings.Contains(rec.Body.String(), `"text":"native stream"`) || !strings.Contains(rec.Body.String(), `"output_tokens":6`) {
			t.Fatalf("%q %s", rec.Header().Get("X-Gateway-Cache"), rec.Body)
		}
		postMessages(t, g, "/v1/messages", fmt.Sprintf(stream, "cut"))
		if rec := postMessages(t, g, "/v1/messages", fmt.Sprintf(stream, "cut")); rec.Header().Get("X-Gateway-Cache") != "miss" {
			t.Fatalf("a cut stream was cached: %q", rec.Header().Get("X-Gateway-Cache"))
		}
	})
	t.Run("anthropic-beta is part of the cache key, its features in any order", func(t *testing.T) {
		body := `{"model":"claude-up","max_tokens":50,"messages":[{"role":"user","content":"beta"}]}`
		one := do(t, g, "POST", "/v1/messages", body, "Anthropic-Beta", "b-1,a-2")
		two := do(t, g, "POST", "/v1/messages", body, "Anthropic-Beta", "a-2, b-1")
		other := do(t, g, "POST", "/v1/messages", body, "Anthropic-Beta", "a-2")
		none := do(t, g, "POST", "/v1/messages", body)
		if got := one.Header().Get("X-Gateway-Cache") + two.Header().Get("X-Gateway-Cache") + other.Header().Get("X-Gateway-Cache") + none.Header().Get("X-Gateway-Cache"); got != "misshitmissmiss" {
			t.Fatalf("cache %s", got)
		}
		if one.Header().Get("Request-Id") == "" || one.Header().Get("Request-Id") != one.Header().Get("X-Request-Id") {
			t.Errorf("Request-Id %q", one.Header().Get("Request-Id"))
		}
	})
	t.Run("the Messages cache is not the chat cache", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"gpt-up","max_tokens":50,"messages":[{"role":"user","content":"cache me"}]}`)
		if rec.Header().Get("X-Gateway-Cache") != "miss" {
			t.Fatalf("chat hit a Messages entry: %q", rec.Header().Get("X-Gateway-Cache"))
		}
	})
}

func TestMessagesStreamFailures(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	b := newUpstream(t, chatUpstream)
	g, _ := newGateway(t, messagesConfig, a, b)
	stream := func(model, prompt string) *httptest.ResponseRecorder {
		return postMessages(t, g, "/v1/messages", `{"model":"`+model+`","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
	}
	lastEvent := func(t *testing.T, rec *httptest.ResponseRecorder) (name, typ, message string) {
		t.Helper()
		evs := eventsOf(t, rec.Body.String())
		last := evs[len(evs)-1]
		var e struct {
			Error struct{ Type, Message string } `json:"error"`
		}
		_ = json.Unmarshal([]byte(last.data), &e)
		return last.name, e.Error.Type, e.Error.Message
	}
	t.Run("a native stream cut after its first event ends with an error event", func(t *testing.T) {
		rec := stream("claude-up", "cut")
		if name, typ, msg := lastEvent(t, rec); rec.Code != 200 || name != "error" || typ != "api_error" || !strings.Contains(msg, "cut") {
			t.Fatalf("%d: last event %s %s %q", rec.Code, name, typ, msg)
		}
		if !strings.HasPrefix(rec.Body.String(), nativeStart+nativeText) {
			t.Errorf("what came before the cut was not relayed: %s", rec.Body)
		}
		if b.calls.Load() != 0 {
			t.Error("after the first byte there must be no failover")
		}
	})
	t.Run("a translated stream cut after its first chunk ends with an error event", func(t *testing.T) {
		rec := stream("gpt-up", "cut")
		if name, typ, _ := lastEvent(t, rec); name != "error" || typ != "api_error" || !strings.Contains(rec.Body.String(), `"text":"par"`) {
			t.Fatalf("%s", rec.Body)
		}
	})
	t.Run("an upstream error event mid-stream reaches the client as it was", func(t *testing.T) {
		rec := stream("claude-up", "error later")
		if name, typ, msg := lastEvent(t, rec); name != "error" || typ != "overloaded_error" || msg != "Overloaded" {
			t.Fatalf("last event %s %s %q", name, typ, msg)
		}
		if n := strings.Count(rec.Body.String(), "event: error"); n != 1 {
			t.Errorf("%d error events", n)
		}
	})
	for _, prompt := range []string{"overloaded", "error first"} {
		t.Run("before the first byte a failing target ("+prompt+") fails over", func(t *testing.T) {
			before := b.calls.Load()
			rec := stream("either", prompt)
			if rec.Code != 200 || rec.Header().Get("X-Gateway-Provider") != "oai" || b.calls.Load() != before+1 {
				t.Fatalf("%d from %q", rec.Code, rec.Header().Get("X-Gateway-Provider"))
			}
			if m := accumulated(t, rec.Body.String()); m.Content[0].Text != "from b" || m.Model != "either" {
				t.Errorf("answer %s", m.JSON())
			}
		})
	}
	t.Run("a comment before the first event is relayed with it", func(t *testing.T) {
		if rec := stream("claude-up", "comment first"); rec.Body.String() != ": proxy keep-alive\n\n"+nativeStream+gateway.CostComment+"22\n\n" {
			t.Fatalf("%q", rec.Body)
		}
	})
	t.Run("a non-stream request fails over too", func(t *testing.T) {
		rec := postMessages(t, g, "/v1/messages", `{"model":"either","max_tokens":50,"messages":[{"role":"user","content":"overloaded"}]}`)
		if rec.Code != 200 || rec.Header().Get("X-Gateway-Provider") != "oai" || rec.Header().Get("X-Gateway-Attempts") != "2" {
			t.Fatalf("%d from %q", rec.Code, rec.Header().Get("X-Gateway-Provider"))
		}
	})
	t.Run("a request only Anthropic can serve skips the other targets", func(t *testing.T) {
		g, _ := newGateway(t, messagesConfig, a, b) // claude's breaker is closed again
		rec := postMessages(t, g, "/v1/messages", `{"model":"either","max_tokens":50,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},{"type":"text","text":"overloaded"}]}]}`)
		if rec.Code != 502 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if typ, _ := anthropicError(t, rec); typ != "api_error" {
			t.Errorf("type %s", typ)
		}
	})
}

func TestAnAbandonedMessagesStreamIsStillSettled(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	st := memory.New(nil)
	g := newStateful(t, messagesStateful, st, a, a)
	secret, id := createKey(t, g, `{}`)
	srv := httptest.NewServer(g)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/messages",
		strings.NewReader(`{"model":"claude-up","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hang"}]}`))
	req.Header.Set("X-Api-Key", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before its text: %v", err)
		}
		if strings.Contains(line, "text_delta") {
			break
		}
	}
	cancel()
	resp.Body.Close()
	// What the upstream reported before the client left (10 tokens in, 1
	// out) is charged: $12.
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, _ := st.Spend.Get(context.Background(), id, time.Now())
		if s.TotalMicros == 12_000_000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spend %+v after the client left, want $12", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCountTokens(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	b := newUpstream(t, chatUpstream)
	g, _ := newGateway(t, messagesConfig, a, b)
	t.Run("an Anthropic target counts natively", func(t *testing.T) {
		body := `{"model":"claude-alias","system":"Be brief.","messages":[{"role":"user","content":"hello"}]}`
		rec := postMessages(t, g, "/v1/messages/count_tokens", body)
		if rec.Code != 200 || rec.Body.String() != `{"input_tokens": 17}` || rec.Header().Get(gateway.TokenCountHeader) != "" {
			t.Fatalf("%d %q %s", rec.Code, rec.Header().Get(gateway.TokenCountHeader), rec.Body)
		}
		if got := string(a.lastBody()); got != strings.Replace(body, "claude-alias", "claude-up", 1) {
			t.Errorf("upstream got %s", got)
		}
	})
	t.Run("another target gets the gateway's estimate, marked as one", func(t *testing.T) {
		before := b.calls.Load()
		rec := postMessages(t, g, "/count_tokens", ``)
		if rec.Code != 404 {
			t.Fatalf("an unknown path answered %d", rec.Code)
		}
		rec = postMessages(t, g, "/messages/count_tokens", `{"model":"gpt-up","messages":[{"role":"user","content":"hello there, how are you today?"}]}`)
		var tc messages.TokenCount
		if err := json.Unmarshal(rec.Body.Bytes(), &tc); err != nil || rec.Code != 200 || tc.InputTokens < 5 || rec.Header().Get(gateway.TokenCountHeader) != "estimate" {
			t.Fatalf("%d %q %s", rec.Code, rec.Header().Get(gateway.TokenCountHeader), rec.Body)
		}
		if b.calls.Load() != before {
			t.Error("an estimate called the upstream")
		}
	})
}

func TestMessagesGuardrailsRedactTheNativeBody(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	g := newStateful(t, messagesCached, nil, a, a)
	body := `{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"mail jane.doe@example.com","cache_control":{"type":"ephemeral"}},{"type":"tool_result","tool_use_id":"t","content":"or jd@example.org"}]}],"top_k":2}`
	if rec := postMessages(t, g, "/v1/messages", body); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	want := strings.NewReplacer("jane.doe@example.com", "[REDACTED_EMAIL]", "jd@example.org", "[REDACTED_EMAIL]").Replace(body)
	if got := string(a.lastBody()); got != want {
		t.Errorf("upstream got\n%s\nwant\n%s", got, want)
	}
}

func TestAPanicMidMessagesStreamEndsItWithAnAnthropicErrorEvent(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, _ := newGateway(t, twoProviders, a, a)
	for _, tg := range g.Router.Targets() {
		tg.Provider = panicky{tg.Provider}
	}
	rec := postMessages(t, g, "/v1/messages", `{"model":"only-a","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]}`)
	evs := eventsOf(t, rec.Body.String())
	last := evs[len(evs)-1]
	if last.name != "error" || last.data != `{"type":"error","error":{"type":"api_error","message":"internal error"}}` ||
		strings.Contains(rec.Body.String(), "[DONE]") || !strings.Contains(rec.Body.String(), `"text":"hi"`) {
		t.Fatalf("%s", rec.Body)
	}
}

// TestMessagesGuardrailsReadToolsAndToolInputs: the tools a Messages
// request offers and the inputs of its earlier tool calls meet the content
// rules as chat's do (they reached the model unread): a blocked word in
// either is refused before any upstream call, an address in either reaches
// the native upstream redacted, every other byte as sent.
func TestMessagesGuardrailsReadToolsAndToolInputs(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	g := newStateful(t, messagesCached, nil, a, a)
	const tool = `{"name":"lookup","description":"DESC","input_schema":{"type":"object","properties":{"q":{"type":"string","description":"SCHEMA"}}}}`
	msgs := func(input string) string {
		return `[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"tu1","name":"lookup","input":` + input +
			`}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"tu1","content":"done"}]}]`
	}
	body := func(desc, schema, input string) string {
		return `{"model":"claude-up","max_tokens":5,"tools":[` + strings.NewReplacer("DESC", desc, "SCHEMA", schema).Replace(tool) + `],"messages":` + msgs(input) + `}`
	}
	for name, b := range map[string]string{
		"a tool's description":  body("about Project Nightingale", "a query", `{"q":"x"}`),
		"a schema description":  body("looks things up", "the project nightingale code", `{"q":"x"}`),
		"a tool call's input":   body("looks things up", "a query", `{"q":"project nightingale"}`),
		"an escaped tool input": body("looks things up", "a query", `{"q":"project \u006eightingale"}`),
	} {
		before := a.calls.Load()
		rec := postMessages(t, g, "/v1/messages", b)
		if rec.Code != 400 || a.calls.Load() != before {
			t.Errorf("a blocked word in %s: %d %s (upstream calls %d → %d)", name, rec.Code, rec.Body, before, a.calls.Load())
		}
	}
	sent := body("mail jane.doe@example.com", "or jd@example.org", `{"to": "ann@example.net", "n": 1}`)
	if rec := postMessages(t, g, "/v1/messages", sent); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	got := string(a.lastBody())
	for _, addr := range []string{"jane.doe@example.com", "jd@example.org", "ann@example.net"} {
		if strings.Contains(got, addr) {
			t.Errorf("%s reached the upstream: %s", addr, got)
		}
	}
	if !strings.Contains(got, `"n": 1`) || !strings.Contains(got, `"tool_use_id":"tu1"`) || strings.Count(got, "[REDACTED_EMAIL]") != 3 {
		t.Errorf("upstream got %s", got)
	}
}

// An earlier turn's thinking, which Anthropic reads back in a tool-use loop,
// meets the blocked words; an address in it is left as signed (redacting it
// would break the signature).
func TestMessagesGuardrailsReadEarlierThinking(t *testing.T) {
	a := newUpstream(t, nativeUpstream)
	g := newStateful(t, messagesCached, nil, a, a)
	body := func(thinking string) string {
		return `{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[` +
			`{"type":"thinking","thinking":"` + thinking + `","signature":"sig"},{"type":"text","text":"ok"}]},{"role":"user","content":"go on"}]}`
	}
	before := a.calls.Load()
	rec := postMessages(t, g, "/v1/messages", body("recall project nightingale"))
	if rec.Code != 400 || a.calls.Load() != before || !strings.Contains(rec.Body.String(), "messages.1") {
		t.Errorf("a blocked word in earlier thinking: %d %s (upstream calls %d → %d)", rec.Code, rec.Body, before, a.calls.Load())
	}
	if rec := postMessages(t, g, "/v1/messages", body("write to jane.doe@example.com")); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got := string(a.lastBody()); !strings.Contains(got, `"thinking":"write to jane.doe@example.com","signature":"sig"`) {
		t.Errorf("the signed thinking was changed: %s", got)
	}
}
