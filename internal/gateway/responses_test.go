package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/testutil"
)

// nativeProviders routes gpt-4.1 (alias smart) to an OpenAI-kind upstream,
// which gets the Responses API natively, and "mixed" to it first and to a
// chat-only upstream second.
const nativeProviders = `
[defaults.retry]
max_retries = 0
[[providers]]
name = "oa"
kind = "openai"
base_url = "{A}/v1"
api_key = "${UPSTREAM_KEY}"
models = ["gpt-4.1", "mixed"]
[[providers]]
name = "b"
kind = "custom"
base_url = "{B}"
api_key = "${UPSTREAM_KEY}"
models = ["mixed", "chat-only"]
[aliases]
smart = "gpt-4.1"
`

// upstreamResponse is the response object a native fake answers with.
func upstreamResponse(status, text string) string {
	output := "[]"
	usage := "null"
	if status != "in_progress" {
		output = fmt.Sprintf(`[{"id":"msg_up","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":%q,"annotations":[],"logprobs":[]}]}]`, text)
		usage = `{"input_tokens":7,"input_tokens_details":{"cached_tokens":0},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":11}`
	}
	return fmt.Sprintf(`{"id":"resp_upstream","object":"response","created_at":1,"status":%q,"error":null,"incomplete_details":null,"instructions":null,"model":"gpt-4.1-2025-04-14","output":%s,"parallel_tool_calls":true,"previous_response_id":null,"store":true,"temperature":1,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1,"truncation":"disabled","usage":%s,"user":null,"metadata":{}}`, status, output, usage)
}

// okResponses is a fake OpenAI Responses API answering "native <name>",
// as one object or as its event stream; cut drops the stream after the
// first delta.
func okResponses(name string, cut bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/responses" {
			status(404, `{"error":{"message":"no such path `+r.URL.Path+`"}}`)(w, r)
			return
		}
		var req struct {
			Stream bool `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		text := "native " + name
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, upstreamResponse("completed", text))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		ev := func(typ, data string) {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, data)
			w.(http.Flusher).Flush()
		}
		ev("response.created", `{"type":"response.created","sequence_number":0,"response":`+upstreamResponse("in_progress", "")+`}`)
		ev("response.in_progress", `{"type":"response.in_progress","sequence_number":1,"response":`+upstreamResponse("in_progress", "")+`}`)
		ev("response.output_item.added", `{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_up","type":"message","status":"in_progress","role":"assistant","content":[]}}`)
		ev("response.content_part.added", `{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_up","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}}`)
		ev("response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_up","output_index":0,"content_index":0,"delta":"native ","logprobs":[]}`)
		if cut {
			panic(http.ErrAbortHandler)
		}
		ev("response.output_text.delta", fmt.Sprintf(`{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_up","output_index":0,"content_index":0,"delta":%q,"logprobs":[]}`, name))
		ev("response.output_text.done", fmt.Sprintf(`{"type":"response.output_text.done","sequence_number":6,"item_id":"msg_up","output_index":0,"content_index":0,"text":%q,"logprobs":[]}`, text))
		ev("response.content_part.done", fmt.Sprintf(`{"type":"response.content_part.done","sequence_number":7,"item_id":"msg_up","output_index":0,"content_index":0,"part":{"type":"output_text","text":%q,"annotations":[],"logprobs":[]}}`, text))
		ev("response.output_item.done", fmt.Sprintf(`{"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"msg_up","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":%q,"annotations":[],"logprobs":[]}]}}`, text))
		ev("response.completed", `{"type":"response.completed","sequence_number":9,"response":`+upstreamResponse("completed", text)+`}`)
	}
}

// respObj is the part of a response object the tests read.
type respObj struct {
	ID                 string  `json:"id"`
	Object             string  `json:"object"`
	Status             string  `json:"status"`
	Model              string  `json:"model"`
	PreviousResponseID *string `json:"previous_response_id"`
	Store              bool    `json:"store"`
	Output             []struct {
		Type      string `json:"type"`
		Role      string `json:"role"`
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
		Content   []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"output"`
	Usage *struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (o respObj) text() string {
	var b strings.Builder
	for _, it := range o.Output {
		for _, c := range it.Content {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

// responseOf decodes a 200 response object.
func responseOf(t *testing.T, rec *httptest.ResponseRecorder) respObj {
	t.Helper()
	var o respObj
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &o) != nil || o.Object != "response" {
		t.Fatalf("not a response object: %d %s", rec.Code, rec.Body)
	}
	if !strings.HasPrefix(o.ID, "resp_") || o.ID == "resp_upstream" {
		t.Fatalf("response id %q is not a gateway id", o.ID)
	}
	return o
}

type respEvent struct {
	Type string
	Seq  int
	Data map[string]any
	Raw  string
	// Response is the response object of a lifecycle event.
	Response *respObj
}

// respEvents reads a Responses SSE body, failing on anything but
// `event:` + `data:` frames whose event name is the data's type, and the cost
// comment before the final events.
func respEvents(t *testing.T, body string) []respEvent {
	t.Helper()
	var out []respEvent
	for _, chunk := range withoutCost(t, strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n"),
		"event: error", "event: response.completed", "event: response.incomplete", "event: response.failed") {
		if chunk == "" {
			continue
		}
		lines := strings.Split(chunk, "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
			t.Fatalf("malformed frame %q in\n%s", chunk, body)
		}
		ev := respEvent{Type: strings.TrimPrefix(lines[0], "event: "), Raw: strings.TrimPrefix(lines[1], "data: ")}
		if err := json.Unmarshal([]byte(ev.Raw), &ev.Data); err != nil || ev.Data["type"] != ev.Type {
			t.Fatalf("frame data %s (%v) does not match event %s", ev.Raw, err, ev.Type)
		}
		seq, _ := ev.Data["sequence_number"].(float64)
		ev.Seq = int(seq)
		if r, ok := ev.Data["response"]; ok {
			b, _ := json.Marshal(r)
			ev.Response = &respObj{}
			_ = json.Unmarshal(b, ev.Response)
		}
		out = append(out, ev)
	}
	return out
}

func eventTypes(evs []respEvent) string {
	ts := make([]string, len(evs))
	for i, e := range evs {
		ts[i] = e.Type
	}
	return strings.Join(ts, " ")
}

// checkNumbered fails unless the events are numbered 0, 1, 2, ...
func checkNumbered(t *testing.T, evs []respEvent) {
	t.Helper()
	for i, e := range evs {
		if e.Seq != i {
			t.Fatalf("event %d (%s) has sequence_number %d", i, e.Type, e.Seq)
		}
	}
}

// chatBody is the part of an upstream chat request the tests read.
type chatBody struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func chatSent(t *testing.T, u *upstream) chatBody {
	t.Helper()
	var b chatBody
	if err := json.Unmarshal(u.lastBody(), &b); err != nil {
		t.Fatalf("upstream body %s: %v", u.lastBody(), err)
	}
	return b
}

// roles lists the upstream messages as role:content.
func (b chatBody) roles() string {
	var out []string
	for _, m := range b.Messages {
		var s string
		_ = json.Unmarshal(m.Content, &s)
		out = append(out, m.Role+":"+s)
	}
	return strings.Join(out, " | ")
}

func TestResponsesWithAStringInputThroughAChatProvider(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, logs := newGateway(t, twoProviders, a, a)
	rec := do(t, g, "POST", "/v1/responses", `{"model":"only-a","instructions":"Be brief.","input":"hello","metadata":{"ticket":"7"}}`)
	o := responseOf(t, rec)
	if o.Status != "completed" || o.text() != "from a" || o.Output[0].Role != "assistant" || o.PreviousResponseID != nil || !o.Store {
		t.Fatalf("response = %s", rec.Body)
	}
	if o.Usage == nil || o.Usage.InputTokens != 3 || o.Usage.OutputTokens != 2 || o.Usage.TotalTokens != 5 {
		t.Errorf("usage = %+v", o.Usage)
	}
	if rec.Header().Get("X-Gateway-Provider") != "a" || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", rec.Header())
	}
	sent := chatSent(t, a)
	if sent.Model != "only-a" || sent.roles() != "system:Be brief. | user:hello" || sent.Stream {
		t.Errorf("upstream got %s", a.lastBody())
	}
	if !strings.Contains(rec.Body.String(), `"metadata":{"ticket":"7"}`) {
		t.Errorf("metadata not echoed: %s", rec.Body)
	}
	if line := logs.String(); !strings.Contains(line, `"prompt_tokens":3`) || !strings.Contains(line, `"provider":"a"`) {
		t.Errorf("log line %s", line)
	}
}

func TestResponsesWithItemsToolsAndAJSONSchemaThroughAChatProvider(t *testing.T) {
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"c2","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":8,"total_tokens":38}}`)
	})
	g, _ := newGateway(t, twoProviders, a, a)
	body := `{"model":"only-a","input":[
		{"role":"user","content":[{"type":"input_text","text":"weather in Paris, then Oslo?"}]},
		{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
		{"type":"function_call_output","call_id":"call_1","output":"18C"}],
		"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}],
		"tool_choice":"auto",
		"text":{"format":{"type":"json_schema","name":"weather","schema":{"type":"object"},"strict":true}}}`
	rec := do(t, g, "POST", "/v1/responses", body)
	o := responseOf(t, rec)
	if len(o.Output) != 1 || o.Output[0].Type != "function_call" || o.Output[0].CallID != "call_9" || o.Output[0].Name != "get_weather" || o.Output[0].Arguments != `{"city":"Oslo"}` {
		t.Fatalf("output = %s", rec.Body)
	}
	sent := chatSent(t, a)
	if got := sent.roles(); got != "user:weather in Paris, then Oslo? | assistant: | tool:18C" {
		t.Errorf("messages = %s", got)
	}
	if m := sent.Messages; len(m) != 3 || len(m[1].ToolCalls) != 1 || m[1].ToolCalls[0].ID != "call_1" || m[1].ToolCalls[0].Function.Arguments != `{"city":"Paris"}` || m[2].ToolCallID != "call_1" {
		t.Errorf("tool round trip sent as %s", a.lastBody())
	}
	if len(sent.Tools) != 1 || sent.Tools[0].Type != "function" || sent.Tools[0].Function.Name != "get_weather" {
		t.Errorf("tools sent as %s", a.lastBody())
	}
	if rf := sent.ResponseFormat; rf == nil || rf.Type != "json_schema" || rf.JSONSchema.Name != "weather" || string(rf.JSONSchema.Schema) != `{"type":"object"}` {
		t.Errorf("response_format sent as %s", a.lastBody())
	}
	if !strings.Contains(rec.Body.String(), `"format":{"type":"json_schema","name":"weather"`) {
		t.Errorf("text.format not echoed: %s", rec.Body)
	}
}

func TestResponsesStreamThroughAChatProvider(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, logs := newGateway(t, twoProviders, a, a)
	rec := do(t, g, "POST", "/v1/responses", `{"model":"only-a","input":"hello","stream":true}`)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	evs := respEvents(t, rec.Body.String())
	want := "response.created response.in_progress response.output_item.added response.content_part.added " +
		"response.output_text.delta response.output_text.delta response.output_text.done response.content_part.done " +
		"response.output_item.done response.completed"
	if got := eventTypes(evs); got != want {
		t.Fatalf("events:\n%s\nwant:\n%s", got, want)
	}
	checkNumbered(t, evs)
	created, done := evs[0].Response, evs[len(evs)-1].Response
	if !strings.HasPrefix(created.ID, "resp_") || done.ID != created.ID || done.Status != "completed" || done.text() != "from a" {
		t.Fatalf("created %+v, completed %+v", created, done)
	}
	if done.Usage == nil || done.Usage.InputTokens != 4 || done.Usage.OutputTokens != 2 {
		t.Errorf("usage = %+v", done.Usage)
	}
	if sent := chatSent(t, a); !sent.Stream || sent.StreamOptions == nil || !sent.StreamOptions.IncludeUsage {
		t.Errorf("upstream got %s", a.lastBody())
	}
	if !strings.Contains(logs.String(), `"completion_tokens":2`) || !strings.Contains(logs.String(), `"stream":true`) {
		t.Errorf("stream usage not logged: %s", logs)
	}
	// The streamed response is stored under its id.
	if got := responseOf(t, do(t, g, "GET", "/v1/responses/"+done.ID, "")); got.ID != done.ID || got.text() != "from a" {
		t.Errorf("GET after the stream = %+v", got)
	}
}

func TestResponsesToAnOpenAIUpstreamPassTheBodyThroughNatively(t *testing.T) {
	oa := newUpstream(t, okResponses("oa", false))
	b := newUpstream(t, okChat("b"))
	g, logs := newGateway(t, nativeProviders, oa, b)
	body := `{"model":"smart","input":"hi","tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"],"some_new_field":{"x":[1,2]}}`
	rec := do(t, g, "POST", "/v1/responses", body)
	o := responseOf(t, rec)
	if o.text() != "native oa" || o.Model != "gpt-4.1-2025-04-14" || o.Usage == nil || o.Usage.InputTokens != 7 {
		t.Fatalf("response = %s", rec.Body)
	}
	if sent := string(oa.lastBody()); sent != strings.Replace(body, `"model":"smart"`, `"model":"gpt-4.1"`, 1) {
		t.Errorf("upstream got %s\nwant the client's body with only the model patched", sent)
	}
	if rec.Header().Get("X-Gateway-Provider") != "oa" || !strings.Contains(logs.String(), `"prompt_tokens":7`) {
		t.Errorf("provider %q, log %s", rec.Header().Get("X-Gateway-Provider"), logs)
	}

	t.Run("streamed, every upstream event is relayed with the gateway's id", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/responses", `{"model":"smart","input":"hi","stream":true}`)
		evs := respEvents(t, rec.Body.String())
		if len(evs) != 10 || evs[len(evs)-1].Type != "response.completed" {
			t.Fatalf("events %s", eventTypes(evs))
		}
		checkNumbered(t, evs)
		id := evs[0].Response.ID
		if !strings.HasPrefix(id, "resp_") || id == "resp_upstream" || evs[1].Response.ID != id || evs[9].Response.ID != id {
			t.Fatalf("lifecycle ids %q %q %q", id, evs[1].Response.ID, evs[9].Response.ID)
		}
		if evs[4].Raw != `{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_up","output_index":0,"content_index":0,"delta":"native ","logprobs":[]}` {
			t.Errorf("a delta was not relayed byte for byte: %s", evs[4].Raw)
		}
		if !bytes.Contains(oa.lastBody(), []byte(`"stream":true`)) {
			t.Errorf("upstream got %s", oa.lastBody())
		}
		if got := responseOf(t, do(t, g, "GET", "/v1/responses/"+id, "")); got.ID != id || got.text() != "native oa" {
			t.Errorf("GET after the stream = %+v", got)
		}
	})

	t.Run("a built-in tool cannot go to a chat-only target", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/responses", strings.Replace(body, `"smart"`, `"chat-only"`, 1))
		if e := errorOf(t, rec); rec.Code != 400 || e.Param == nil || *e.Param != "tools[0].type" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if b.calls.Load() != 0 {
			t.Error("the chat-only upstream was called")
		}
	})
}

func TestResponsesFailOverFromANativeToATranslatedTarget(t *testing.T) {
	oa := newUpstream(t, status(500, `{"error":{"message":"boom"}}`))
	b := newUpstream(t, okChat("b"))
	g, _ := newGateway(t, nativeProviders, oa, b)
	for _, stream := range []bool{false, true} {
		rec := do(t, g, "POST", "/v1/responses", fmt.Sprintf(`{"model":"mixed","input":"hi","stream":%v}`, stream))
		if rec.Header().Get("X-Gateway-Provider") != "b" {
			t.Fatalf("stream=%v: answered by %q: %s", stream, rec.Header().Get("X-Gateway-Provider"), rec.Body)
		}
		var id string
		if stream {
			evs := respEvents(t, rec.Body.String())
			if last := evs[len(evs)-1]; last.Type != "response.completed" || last.Response.text() != "from b" {
				t.Fatalf("events %s", eventTypes(evs))
			}
			id = evs[0].Response.ID
		} else {
			o := responseOf(t, rec)
			if o.text() != "from b" {
				t.Fatalf("%s", rec.Body)
			}
			id = o.ID
		}
		// A follow-up continues from the translated answer on either kind.
		rec = do(t, g, "POST", "/v1/responses", `{"model":"mixed","previous_response_id":"`+id+`","input":"and?"}`)
		if o := responseOf(t, rec); *o.PreviousResponseID != id {
			t.Fatalf("follow-up %s", rec.Body)
		}
		if got := chatSent(t, b).roles(); got != "user:hi | assistant:from b | user:and?" {
			t.Errorf("follow-up sent %s", got)
		}
	}
	if oa.calls.Load() != 4 {
		t.Errorf("the native target was tried %d times, want once per request", oa.calls.Load())
	}
}

func TestPreviousResponseIDSendsOnlyTheNewInputAndTheUpstreamSeesTheHistory(t *testing.T) {
	t.Run("translated", func(t *testing.T) {
		a := newUpstream(t, okChat("a"))
		g, _ := newGateway(t, twoProviders, a, a)
		first := responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"only-a","instructions":"Be brief.","input":"hello"}`))
		second := responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"only-a","previous_response_id":"`+first.ID+`","input":[{"role":"user","content":"more"}]}`))
		if second.PreviousResponseID == nil || *second.PreviousResponseID != first.ID || second.ID == first.ID {
			t.Fatalf("second = %+v", second)
		}
		// Instructions are not carried over, as the API specifies.
		if got := chatSent(t, a).roles(); got != "user:hello | assistant:from a | user:more" {
			t.Errorf("upstream messages = %s", got)
		}
		third := responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"only-a","previous_response_id":"`+second.ID+`","input":"again"}`))
		if got := chatSent(t, a).roles(); got != "user:hello | assistant:from a | user:more | assistant:from a | user:again" || third.ID == second.ID {
			t.Errorf("third turn sent %s", got)
		}
	})
	t.Run("native: the history is inlined and previous_response_id dropped", func(t *testing.T) {
		oa := newUpstream(t, okResponses("oa", false))
		g, _ := newGateway(t, nativeProviders, oa, oa)
		first := responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"smart","input":"hi"}`))
		responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"smart","previous_response_id":"`+first.ID+`","input":"more","store":false}`))
		want := `{"model":"gpt-4.1","input":[{"type":"message","role":"user","content":"hi"},` +
			`{"type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"native oa","annotations":[],"logprobs":[]}]},` +
			`{"type":"message","role":"user","content":"more"}],"store":false}`
		if got := string(oa.lastBody()); got != want {
			t.Errorf("upstream got  %s\nwant %s", got, want)
		}
	})
	t.Run("an unknown id is a 404 naming the parameter, and store:false keeps nothing", func(t *testing.T) {
		a := newUpstream(t, okChat("a"))
		g, _ := newGateway(t, twoProviders, a, a)
		rec := do(t, g, "POST", "/v1/responses", `{"model":"only-a","previous_response_id":"resp_nope","input":"x"}`)
		if e := errorOf(t, rec); rec.Code != 404 || e.Param == nil || *e.Param != "previous_response_id" || !strings.Contains(e.Message, "resp_nope") {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		unstored := responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"only-a","input":"x","store":false}`))
		if unstored.Store {
			t.Error("store:false answered store:true")
		}
		if rec := do(t, g, "GET", "/v1/responses/"+unstored.ID, ""); rec.Code != 404 {
			t.Errorf("an unstored response was found: %d", rec.Code)
		}
		if rec := do(t, g, "POST", "/v1/responses", `{"model":"only-a","previous_response_id":"`+unstored.ID+`","input":"x"}`); rec.Code != 404 {
			t.Errorf("continuing an unstored response: %d", rec.Code)
		}
		if a.calls.Load() != 1 {
			t.Errorf("upstream called %d times, want only for the stored:false turn", a.calls.Load())
		}
	})
}

func TestStoredResponsesBelongToTheirKey(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, stateful, nil, a, a)
	alice, _ := createKey(t, g, `{"name":"alice"}`)
	bob, _ := createKey(t, g, `{"name":"bob"}`)
	as := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	created := do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"alice's secret plan"}`, as(alice)...)
	id := responseOf(t, created).ID

	if rec := do(t, g, "GET", "/v1/responses/"+id, "", as(alice)...); rec.Code != 200 || rec.Body.String() != created.Body.String() {
		t.Fatalf("the owner's GET: %d %s", rec.Code, rec.Body)
	}
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/v1/responses/" + id, ""},
		{"DELETE", "/v1/responses/" + id, ""},
		{"POST", "/v1/responses", `{"model":"shared","previous_response_id":"` + id + `","input":"tell me"}`},
	} {
		rec := do(t, g, tt.method, tt.path, tt.body, as(bob)...)
		if e := errorOf(t, rec); rec.Code != 404 || strings.Contains(rec.Body.String(), "secret plan") || e.Type != "invalid_request_error" {
			t.Errorf("another key's %s %s: %d %s", tt.method, tt.path, rec.Code, rec.Body)
		}
	}
	if rec := do(t, g, "GET", "/v1/responses/"+id, ""); rec.Code != 401 {
		t.Errorf("GET without a key: %d", rec.Code)
	}
	if rec := do(t, g, "PUT", "/v1/responses/"+id, "", as(alice)...); rec.Code != 405 || rec.Header().Get("Allow") != "GET, DELETE" {
		t.Errorf("PUT: %d %v", rec.Code, rec.Header())
	}
	if rec := do(t, g, "GET", "/v1/responses/"+id+"?stream=true", "", as(alice)...); !strings.HasSuffix(eventTypes(respEvents(t, rec.Body.String())), "response.completed") {
		t.Errorf("GET ?stream=true: %s", rec.Body)
	}
	rec := do(t, g, "DELETE", "/v1/responses/"+id, "", as(alice)...)
	if rec.Code != 200 || rec.Body.String() != `{"id":"`+id+`","object":"response","deleted":true}` {
		t.Fatalf("the owner's DELETE: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, g, "GET", "/v1/responses/"+id, "", as(alice)...); rec.Code != 404 {
		t.Errorf("GET after DELETE: %d", rec.Code)
	}
	if rec := do(t, g, "DELETE", "/v1/responses/"+id, "", as(alice)...); rec.Code != 404 {
		t.Errorf("a second DELETE: %d", rec.Code)
	}
}

func TestStoredResponsesInDynamoDB(t *testing.T) {
	client := testutil.DynamoClient(t, testutil.DynamoEndpoint(t))
	store := dynamo.New(client, testutil.NewTable(t, client, "gw-responses"))
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, stateful, store, a, a)
	alice, _ := createKey(t, g, `{}`)
	bob, _ := createKey(t, g, `{}`)
	as := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	// A long first turn: its stored form is compressed.
	first := responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"`+strings.Repeat("long question ", 2000)+`"}`, as(alice)...))
	responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"shared","previous_response_id":"`+first.ID+`","input":"more"}`, as(alice)...))
	if got := chatSent(t, a).roles(); !strings.HasSuffix(got, " | assistant:from a | user:more") || !strings.HasPrefix(got, "user:long question ") {
		t.Errorf("follow-up sent %.80s…", got)
	}
	if rec := do(t, g, "GET", "/v1/responses/"+first.ID, "", as(bob)...); rec.Code != 404 {
		t.Errorf("another key's GET: %d", rec.Code)
	}
	if rec := do(t, g, "DELETE", "/v1/responses/"+first.ID, "", as(alice)...); rec.Code != 200 {
		t.Errorf("DELETE: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, g, "GET", "/v1/responses/"+first.ID, "", as(alice)...); rec.Code != 404 {
		t.Errorf("GET after DELETE: %d", rec.Code)
	}
}

func TestResponsesKeepAuthLimitsAndBudgets(t *testing.T) {
	a := newUpstream(t, okChat("a")) // 3 prompt + 2 completion tokens: $7 at stateful's prices
	g := newStateful(t, stateful, nil, a, a)
	if rec := do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"x"}`); rec.Code != 401 || errorOf(t, rec).Type != "authentication_error" {
		t.Fatalf("no key: %d %s", rec.Code, rec.Body)
	}
	limited, _ := createKey(t, g, `{"limits":{"rpm":1}}`)
	if rec := do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"one"}`, "Authorization", "Bearer "+limited); rec.Code != 200 || rec.Header().Get("X-Ratelimit-Limit-Requests") != "1" {
		t.Fatalf("first: %d %v", rec.Code, rec.Header())
	}
	if rec := do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"two","stream":true}`, "Authorization", "Bearer "+limited); rec.Code != 429 || errorOf(t, rec).Type != "rate_limit_error" {
		t.Fatalf("over the limit: %d %s", rec.Code, rec.Body)
	}
	budget, _ := createKey(t, g, `{"budget":{"total_usd":5}}`)
	rec := do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"spend"}`, "Authorization", "Bearer "+budget)
	if rec.Code != 200 || rec.Header().Get("X-Gateway-Cost-Usd") != "7" {
		t.Fatalf("cost %q: %d %s", rec.Header().Get("X-Gateway-Cost-Usd"), rec.Code, rec.Body)
	}
	if rec := do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"more"}`, "Authorization", "Bearer "+budget); rec.Code != 429 || !strings.Contains(errorOf(t, rec).Message, "budget") {
		t.Fatalf("over budget: %d %s", rec.Code, rec.Body)
	}
	usage := do(t, g, "GET", "/admin/usage", "", "Authorization", "Bearer "+adminKey)
	if !strings.Contains(usage.Body.String(), `"total_usd":7`) {
		t.Errorf("spend not recorded: %s", usage.Body)
	}
}

func TestResponsesGuardrailsRefuseAndRedact(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, guarded, nil, a, a)
	key, _ := createKey(t, g, `{}`)
	auth := []string{"Authorization", "Bearer " + key}
	rec := do(t, g, "POST", "/v1/responses", `{"model":"shared","input":[{"role":"user","content":[{"type":"input_text","text":"status of Project Nightingale?"}]}]}`, auth...)
	if e := errorOf(t, rec); rec.Code != 400 || e.Code == nil || *e.Code != "content_filter" || a.calls.Load() != 0 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = do(t, g, "POST", "/v1/responses", `{"model":"shared","instructions":"reply to jane.doe@example.com","input":"mail bob@example.org"}`, auth...)
	responseOf(t, rec)
	if sent := a.lastBody(); bytes.Contains(sent, []byte("@example")) || bytes.Count(sent, []byte("[REDACTED_EMAIL]")) != 2 {
		t.Errorf("upstream got %s", sent)
	}
	rec = do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"fine","INPUT":"project nightingale"}`, auth...)
	if rec.Code != 400 {
		t.Errorf("a duplicated input key passed the policy: %d %s", rec.Code, rec.Body)
	}

	t.Run("a native body is redacted in place", func(t *testing.T) {
		oa := newUpstream(t, okResponses("oa", false))
		g, _ := newGateway(t, nativeProviders+"\n[guardrails.global]\nredact_emails = true\n", oa, oa)
		responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"smart","input":"mail bob@example.org","future":1}`))
		if got := string(oa.lastBody()); got != `{"model":"gpt-4.1","input":"mail [REDACTED_EMAIL]","future":1}` {
			t.Errorf("upstream got %s", got)
		}
	})
}

func TestResponsesCacheReplaysWithANewID(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, strings.Replace(stateful, "enabled = true\nadmin_key", "enabled = false\nadmin_key", 1), nil, a, a)
	body := `{"model":"shared","input":"cache me","temperature":0}`
	first := do(t, g, "POST", "/v1/responses", body)
	second := do(t, g, "POST", "/v1/responses", strings.Replace(body, "}", `,"metadata":{"run":"2"}}`, 1))
	if first.Header().Get("X-Gateway-Cache") != "miss" || second.Header().Get("X-Gateway-Cache") != "hit" || a.calls.Load() != 1 {
		t.Fatalf("cache %q then %q, upstream calls %d", first.Header().Get("X-Gateway-Cache"), second.Header().Get("X-Gateway-Cache"), a.calls.Load())
	}
	one, two := responseOf(t, first), responseOf(t, second)
	if one.ID == two.ID || two.text() != one.text() || second.Header().Get("X-Gateway-Cost-Usd") != "0" {
		t.Fatalf("first %+v, replay %+v", one, two)
	}
	if !strings.Contains(second.Body.String(), `"metadata":{"run":"2"}`) {
		t.Errorf("the replay carries the cached request's metadata: %s", second.Body)
	}
	if got := responseOf(t, do(t, g, "GET", "/v1/responses/"+two.ID, "")); got.ID != two.ID {
		t.Errorf("the replayed response was not stored: %+v", got)
	}
	t.Run("a stream request replays the cached response as events", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/responses", strings.Replace(body, "}", `,"stream":true}`, 1))
		evs := respEvents(t, rec.Body.String())
		checkNumbered(t, evs)
		last := evs[len(evs)-1]
		if rec.Header().Get("X-Gateway-Cache") != "hit" || last.Type != "response.completed" || last.Response.text() != "from a" || last.Response.ID == one.ID || evs[0].Response.ID != last.Response.ID {
			t.Fatalf("%q %s", rec.Header().Get("X-Gateway-Cache"), eventTypes(evs))
		}
	})
	t.Run("a follow-up is keyed on the history it continues", func(t *testing.T) {
		follow := `{"model":"shared","previous_response_id":"%s","input":"next","temperature":0}`
		x := do(t, g, "POST", "/v1/responses", fmt.Sprintf(follow, one.ID))
		y := do(t, g, "POST", "/v1/responses", fmt.Sprintf(follow, two.ID))
		if x.Header().Get("X-Gateway-Cache") != "miss" || y.Header().Get("X-Gateway-Cache") != "hit" {
			t.Errorf("two ids of the same conversation: %q then %q", x.Header().Get("X-Gateway-Cache"), y.Header().Get("X-Gateway-Cache"))
		}
		z := do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"next","temperature":0}`)
		if z.Header().Get("X-Gateway-Cache") != "miss" {
			t.Error("a turn without the history hit the follow-up's entry")
		}
	})
}

func TestACutResponsesStreamEndsWithErrorAndResponseFailed(t *testing.T) {
	t.Run("translated", func(t *testing.T) {
		a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		})
		b := newUpstream(t, okChat("b"))
		g, _ := newGateway(t, twoProviders, a, b)
		rec := do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"x","stream":true}`)
		evs := respEvents(t, rec.Body.String())
		checkNumbered(t, evs)
		if !strings.HasSuffix(eventTypes(evs), "response.output_text.delta error response.failed") {
			t.Fatalf("events %s", eventTypes(evs))
		}
		failed := evs[len(evs)-1].Response
		if failed.Status != "failed" || failed.Error == nil || !strings.Contains(failed.Error.Message, "cut") || failed.ID != evs[0].Response.ID {
			t.Fatalf("response.failed = %+v", failed)
		}
		if b.calls.Load() != 0 {
			t.Error("after the first event there must be no failover")
		}
		if rec := do(t, g, "GET", "/v1/responses/"+failed.ID, ""); rec.Code != 404 {
			t.Errorf("a failed response was stored: %d", rec.Code)
		}
	})
	t.Run("native", func(t *testing.T) {
		oa := newUpstream(t, okResponses("oa", true))
		g, _ := newGateway(t, nativeProviders, oa, oa)
		rec := do(t, g, "POST", "/v1/responses", `{"model":"smart","input":"x","stream":true}`)
		evs := respEvents(t, rec.Body.String())
		checkNumbered(t, evs)
		if got := eventTypes(evs); !strings.HasSuffix(got, "response.output_text.delta error response.failed") || len(evs) != 7 {
			t.Fatalf("events %s", got)
		}
		failed := evs[6].Response
		if failed.Status != "failed" || failed.ID != evs[0].Response.ID || failed.ID == "resp_upstream" || failed.Error == nil {
			t.Fatalf("response.failed = %s", evs[6].Raw)
		}
		var e openai.ErrorBody
		if err := json.Unmarshal([]byte(evs[5].Raw), &e); err != nil || !strings.Contains(e.Error.Message, "cut") {
			t.Errorf("error event %s", evs[5].Raw)
		}
	})
}

func TestResponsesErrorsHaveOpenAIsShape(t *testing.T) {
	var calls atomic.Int64
	oa := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":{"message":"Unsupported parameter: 'top_k'.","type":"invalid_request_error","param":"top_k","code":"unsupported_parameter"}}`)
	})
	b := newUpstream(t, okChat("b"))
	g, _ := newGateway(t, nativeProviders, oa, b)
	tests := []struct {
		name, method, path, body string
		status                   int
		param                    string
		message                  string
	}{
		{"invalid JSON", "POST", "/v1/responses", `{"model":`, 400, "", ""},
		{"an empty body", "POST", "/v1/responses", ``, 400, "", ""},
		{"a missing model", "POST", "/v1/responses", `{"input":"x"}`, 400, "model", ""},
		{"a missing input", "POST", "/v1/responses", `{"model":"chat-only"}`, 400, "input", ""},
		{"an input of the wrong type", "POST", "/v1/responses", `{"model":"chat-only","input":42}`, 400, "input", ""},
		{"a bad item role", "POST", "/v1/responses", `{"model":"chat-only","input":[{"role":"wizard","content":"x"}]}`, 400, "input[0].role", ""},
		{"background mode", "POST", "/v1/responses", `{"model":"smart","input":"x","background":true}`, 400, "background", ""},
		{"an unknown model", "POST", "/v1/responses", `{"model":"gpt-9","input":"x"}`, 404, "model", ""},
		{"a wrong method", "GET", "/v1/responses", ``, 405, "", ""},
		{"an upstream refusal keeps its status and message", "POST", "/v1/responses", `{"model":"smart","input":"x","top_k":3}`, 400, "", "Unsupported parameter: 'top_k'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, g, tt.method, tt.path, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			e := errorOf(t, rec)
			if tt.param != "" && (e.Param == nil || *e.Param != tt.param) {
				t.Errorf("param = %v, want %s", e.Param, tt.param)
			}
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("message = %q, want %q", e.Message, tt.message)
			}
		})
	}
	if calls.Load() != 1 || b.calls.Load() != 0 {
		t.Errorf("upstream calls: native %d, chat %d; only the refused request may reach one", calls.Load(), b.calls.Load())
	}
}

// TestTheREADMEsResponsesExamplesRunOnTheMockProvider pins the README's curl
// examples: a response, its stream, a follow-up, GET and DELETE on mock-echo.
func TestTheREADMEsResponsesExamplesRunOnTheMockProvider(t *testing.T) {
	cfg := config.FromEnv(func(string) string { return "" })
	g, err := app.New(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"mock-echo","input":"hello"}`))
	if first.text() != "echo: hello" {
		t.Fatalf("first = %+v", first)
	}
	evs := respEvents(t, do(t, g, "POST", "/v1/responses", `{"model":"mock-echo","input":"hello","stream":true}`).Body.String())
	if last := evs[len(evs)-1]; last.Type != "response.completed" || last.Response.text() != "echo: hello" {
		t.Fatalf("stream %s", eventTypes(evs))
	}
	next := responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"mock-echo","previous_response_id":"`+first.ID+`","input":"and again"}`))
	if next.text() != "echo: and again" || *next.PreviousResponseID != first.ID {
		t.Fatalf("follow-up = %+v", next)
	}
	if rec := do(t, g, "GET", "/v1/responses/"+first.ID, ""); rec.Code != 200 {
		t.Fatalf("GET: %d", rec.Code)
	}
	if rec := do(t, g, "DELETE", "/v1/responses/"+first.ID, ""); rec.Code != 200 {
		t.Fatalf("DELETE: %d", rec.Code)
	}
}

// TestResponsesGuardrailsReadEverythingTheModelReads: the function tools,
// the function-call arguments of the input and the output schema meet the
// rules too (they reached the model unread), refusals name the Responses
// field, the length limit counts the texts together (each was measured on
// its own), and a native body is redacted in place in all of them.
func TestResponsesGuardrailsReadEverythingTheModelReads(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, guarded, nil, a, a)
	key, _ := createKey(t, g, `{}`)
	auth := []string{"Authorization", "Bearer " + key}
	tool := func(desc string) string {
		return `"tools":[{"type":"function","name":"lookup","description":"` + desc + `","parameters":{"type":"object","properties":{}}}]`
	}
	call := func(args string) string {
		return `"input":[{"role":"user","content":"hi"},{"type":"function_call","call_id":"c1","name":"lookup","arguments":"` + args +
			`"},{"type":"function_call_output","call_id":"c1","output":"done"}]`
	}
	long := strings.Repeat("a", 900)
	for _, tc := range []struct{ name, body, param string }{
		{"a tool's description", `{"model":"shared","input":"hi",` + tool("about Project Nightingale") + `}`, "tools[0].function.description"},
		{"a function call's arguments", `{"model":"shared",` + call(`{\"q\":\"project nightingale\"}`) + `}`, "input[1].arguments"},
		{"the output schema", `{"model":"shared","input":"hi","text":{"format":{"type":"json_schema","name":"r","schema":{"type":"object","description":"the project nightingale plan"}}}}`, "text.format"},
		{"three texts over the limit together", `{"model":"shared","instructions":"` + long + `","input":[{"role":"user","content":"` + long + `"},{"role":"user","content":"` + long + `"}]}`, "input"},
	} {
		before := a.calls.Load()
		rec := do(t, g, "POST", "/v1/responses", tc.body, auth...)
		e := errorOf(t, rec)
		if rec.Code != 400 || a.calls.Load() != before || e.Param == nil || !strings.HasPrefix(*e.Param, tc.param) {
			t.Errorf("%s: %d %s, want a 400 naming %s", tc.name, rec.Code, rec.Body, tc.param)
		}
	}

	oa := newUpstream(t, okResponses("oa", false))
	ng, _ := newGateway(t, nativeProviders+"\n[guardrails.global]\nredact_emails = true\n", oa, oa)
	body := `{"model":"smart",` + call(`{\"to\":\"ann@example.net\"}`) + `,` + tool("mail bob@example.org") +
		`,"text":{"format":{"type":"json_schema","name":"r","description":"for jd@example.com","schema":{"type":"object"}}}}`
	responseOf(t, do(t, ng, "POST", "/v1/responses", body))
	got := string(oa.lastBody())
	if strings.Contains(got, "@example") || strings.Count(got, "[REDACTED_EMAIL]") != 3 || !strings.Contains(got, `"call_id":"c1"`) {
		t.Errorf("upstream got %s", got)
	}
	// A custom tool's description reaches the model as a function's does.
	responseOf(t, do(t, ng, "POST", "/v1/responses", `{"model":"smart","input":"hi","tools":[{"type":"custom","name":"grammar","description":"mail ann@example.net"}]}`))
	if got := string(oa.lastBody()); strings.Contains(got, "ann@example.net") || !strings.Contains(got, `"type":"custom"`) {
		t.Errorf("upstream got %s", got)
	}
}
