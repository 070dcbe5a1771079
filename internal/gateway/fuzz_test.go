package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/faults"
	"github.com/aigateway/gateway/internal/provider/openaicompat"
)

// fuzzTOML routes every client-facing endpoint: the mock provider answers
// chat, streams, embeddings and /generate in-process; "oa" is an
// OpenAI-protocol upstream on loopback for transcriptions (and any model
// pinned to it). The cache is on, so cached answers are replayed too.
const fuzzTOML = `
generate = ["mock/mock-echo"]
[[providers]]
name = "mock"
kind = "mock"
models = ["mock-echo"]
[[providers]]
name = "oa"
kind = "custom"
base_url = "{U}"
models = ["whisper-1"]
[cache]
enabled = true
`

// panicLog counts recovered panics in the gateway's log.
type panicLog struct{ n atomic.Int64 }

func (p *panicLog) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(`"msg":"panic"`)) {
		p.n.Add(1)
	}
	return len(b), nil
}

// fuzzGateway builds one gateway per fuzzing process.
func fuzzGateway(f *testing.F) (*app.App, *panicLog) {
	f.Helper()
	up := faults.New("oa", faults.OK)
	f.Cleanup(up.Close)
	cfg, err := config.Parse(strings.ReplaceAll(fuzzTOML, "{U}", up.URL), func(string) string { return "" })
	if err != nil {
		f.Fatal(err)
	}
	logs := &panicLog{}
	g, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		f.Fatal(err)
	}
	return g, logs
}

// fuzzBound is the most one request may take: the mock answers at once.
const fuzzBound = 5 * time.Second

// fuzzServe sends one request through the whole handler and checks what any
// input must get: no panic, no 5xx, and a JSON object or well-framed SSE.
func fuzzServe(t *testing.T, g *app.App, logs *panicLog, path, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	before := logs.n.Load()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.ServeHTTP(rec, req)
	}()
	select {
	case <-done:
	case <-time.After(fuzzBound):
		buf := make([]byte, 1<<20)
		t.Fatalf("no answer within %s on %q; goroutines:\n%s", fuzzBound, body, buf[:runtime.Stack(buf, true)])
	}
	if logs.n.Load() != before {
		t.Fatalf("the handler panicked on %q", body)
	}
	if rec.Code >= 500 {
		t.Fatalf("status %d on %q: %s", rec.Code, body, rec.Body)
	}
	out := rec.Body.Bytes()
	switch ct := rec.Header().Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/json"):
		if !json.Valid(out) || len(bytes.TrimSpace(out)) == 0 || bytes.TrimSpace(out)[0] != '{' {
			t.Fatalf("%d: not a JSON object: %q", rec.Code, out)
		}
	case ct == "text/event-stream" && strings.Contains(path, "/messages"):
		checkFuzzMessagesSSE(t, out)
	case ct == "text/event-stream":
		checkFuzzSSE(t, out)
	default:
		t.Fatalf("%d with Content-Type %q: %q", rec.Code, ct, out)
	}
	return rec
}

// checkFuzzSSE checks SSE framing: `data: ` events separated by blank lines,
// JSON objects, and `[DONE]` last and only last, after the cost comment if
// any.
func checkFuzzSSE(t *testing.T, body []byte) {
	t.Helper()
	s := string(body)
	if !strings.HasSuffix(s, "data: [DONE]\n\n") {
		t.Fatalf("stream does not end with [DONE]: %q", s)
	}
	events := withoutCost(t, strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n"), "data: [DONE]")
	for i, ev := range events {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("malformed event %q", ev)
		}
		if i == len(events)-1 {
			break
		}
		if data == "[DONE]" || !json.Valid([]byte(data)) || !strings.HasPrefix(data, "{") {
			t.Fatalf("event %d is not a JSON object: %q", i, data)
		}
	}
}

// checkFuzzMessagesSSE checks a Messages stream's framing: `event: <type>`
// and `data: <JSON object of that type>` events separated by blank lines,
// message_start first, message_stop or error last but for the cost comment.
func checkFuzzMessagesSSE(t *testing.T, body []byte) {
	t.Helper()
	s := string(body)
	if !strings.HasSuffix(s, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", s)
	}
	events := withoutCost(t, strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n"))
	for i, ev := range events {
		name, data, ok := strings.Cut(ev, "\n")
		name, ok1 := strings.CutPrefix(name, "event: ")
		data, ok2 := strings.CutPrefix(data, "data: ")
		var v struct {
			Type string `json:"type"`
		}
		if !ok || !ok1 || !ok2 || strings.Contains(data, "\n") || json.Unmarshal([]byte(data), &v) != nil || v.Type != name {
			t.Fatalf("malformed event %q", ev)
		}
		switch {
		case i == 0 && name != "message_start" && name != "error":
			t.Fatalf("first event %q", name)
		case i == len(events)-1 && name != "message_stop" && name != "error":
			t.Fatalf("last event %q", name)
		}
	}
}

var chatSeeds = []string{
	`{"model":"mock-echo","messages":[{"role":"user","content":"hello"}]}`,
	`{"stream":true,"model":"mock-echo","messages":[{"role":"user","content":"hello"}]}`, // replayed from the cache
	`{"model":"mock-echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi there"}]}`,
	`{"model":"mock/mock-echo","n":3,"temperature":0.7,"top_p":1,"max_tokens":5,"stop":["x","y"],"seed":42,"user":"u1","metadata":{"a":"b"}}`,
	`{"model":"mock-echo","messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}`,
	`{"model":"mock-echo","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto"}`,
	`{"model":"oa/gpt-4o","stream":true,"messages":[{"role":"user","content":"pinned"}]}`,
	`{"model":"nope","messages":[{"role":"user","content":"x"}]}`,
	`{"model":"mock-echo","messages":[{"role":"wizard","content":"x"}],"n":0,"max_tokens":9223372036854775807}`,
	`{"model":"mock-echo","messages":[],"stream_options":{"include_usage":true}}`,
	`{"model":1,"messages":"x"}`,
	`{"model":"mock-echo","messages":[{"role":"user","content":"x"}]}trailing`,
	`[]`, `null`, `"x"`, `{`, ``, "\xff\xfe",
}

func FuzzChatRequest(f *testing.F) {
	for _, s := range chatSeeds {
		f.Add([]byte(s))
	}
	g, logs := fuzzGateway(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, g, logs, "/v1/chat/completions", "application/json", body)
	})
}

func FuzzMessagesRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"mock-echo","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`,
		`{"model":"mock-echo","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hello"}]}`, // replayed from the cache
		`{"model":"mock-echo","max_tokens":16,"stream":true,"system":[{"type":"text","text":"be brief"}],"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]}`,
		`{"model":"mock-echo","max_tokens":16,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"},"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"42"}]}]}`,
		`{"model":"oa/gpt-4o","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"pinned"}]}`,
		`{"model":"mock-echo","max_tokens":16,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"AA=="}}]}]}`,
		`{"model":"nope","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`,
		`{"model":"mock-echo","messages":[{"role":"user","content":"no max_tokens"}]}`,
		`{"model":"mock-echo","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"a","Text":"b"}]}]}`,
		`[]`, `null`, `{`, ``, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	g, logs := fuzzGateway(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, g, logs, "/v1/messages", "application/json", body)
		fuzzServe(t, g, logs, "/v1/messages/count_tokens", "application/json", body)
	})
}

func FuzzEmbeddingsRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"mock-echo","input":"hello world"}`,
		`{"model":"mock-echo","input":["a","b c"],"encoding_format":"base64","dimensions":8,"user":"u"}`,
		`{"model":"mock-echo","input":[[1,2,3]]}`,
		`{"model":"mock-echo","input":[],"encoding_format":"hex"}`,
		`{"model":"oa/text-embedding-3-small","input":"pinned"}`,
		`{"model":"mock-echo","input":null}`, `{"input":"x"}`, `{"model":"mock-echo","input":""}`,
		`[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	g, logs := fuzzGateway(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, g, logs, "/v1/embeddings", "application/json", body)
	})
}

func FuzzGenerateRequest(f *testing.F) {
	for _, s := range []string{
		`{"prompt":"hello"}`,
		`{"prompt":"hello","provider":"mock"}`,
		`{"prompt":"hello","provider":"MOCK"}`,
		`{"prompt":"hello","provider":"oa","model":"gpt-4o"}`,
		`{"prompt":"hello","model":"mock-echo"}`,
		`{"prompt":"hello","provider":"nope"}`,
		`{"prompt":"   "}`, `{"prompt":1}`, `{}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	g, logs := fuzzGateway(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, g, logs, "/generate", "application/json", body)
	})
}

// multipartSeed builds a transcription form.
func multipartSeed(fields map[string]string, file bool) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.SetBoundary("fuzzboundary")
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = w.WriteField(k, fields[k])
	}
	if file {
		fw, _ := w.CreateFormFile("file", "a.wav")
		_, _ = io.WriteString(fw, "RIFF\x00\x00WAVEfmt ")
	}
	_ = w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func FuzzMultipartTranscription(f *testing.F) {
	for _, s := range []struct {
		fields map[string]string
		file   bool
	}{
		{map[string]string{"model": "whisper-1"}, true},
		{map[string]string{"model": "whisper-1", "language": "en", "response_format": "json"}, true},
		{map[string]string{"model": "mock-echo"}, true},
		{map[string]string{"language": "en"}, true},
		{map[string]string{"model": "oa/whisper-2"}, false},
	} {
		ct, body := multipartSeed(s.fields, s.file)
		f.Add(ct, body)
	}
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"model\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nwhisper=2D1\r\n--x--\r\n"))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1"))
	f.Add("multipart/form-data", []byte("--x--"))
	f.Add("application/json", []byte(`{"model":"whisper-1"}`))
	g, logs := fuzzGateway(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		// The decoders: a form whose model field reads back must read back
		// the replaced value after ReplaceMultipartField.
		if _, err := openaicompat.MultipartField(body, contentType, "model"); err == nil {
			out, ct, err := openaicompat.ReplaceMultipartField(body, contentType, "model", "replaced")
			if err == nil {
				got, err := openaicompat.MultipartField(out, ct, "model")
				if err != nil || got != "replaced" {
					t.Fatalf("the re-encoded form reads back %q, %v:\n%q\n→ %q", got, err, body, out)
				}
			}
		}
		// The whole handler.
		fuzzServe(t, g, logs, "/v1/audio/transcriptions", contentType, body)
	})
}
