package lambdafn_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/gateway"
	"github.com/aigateway/gateway/internal/lambdafn"
	"github.com/aigateway/gateway/internal/runtimeapi"
)

// eventsDir holds the sam-style sample events: events/api/*.json are API
// Gateway HTTP API (payload 2.0) events for functions/api, events/stream/*.json
// are Function URL events and events/rest/*.json API Gateway REST API proxy
// (payload 1.0) events, both for functions/stream.
const eventsDir = "../../events"

// eventWant is what the gateway must answer to one sample event, the same for
// both functions.
type eventWant struct {
	status      int
	contentType string   // prefix of the response Content-Type
	contains    []string // substrings of the body
	sse         bool     // the body is an SSE stream ending with data: [DONE]
}

var eventWants = map[string]eventWant{
	"health": {200, "text/plain", []string{"AI Gateway is healthy"}, false},
	"models": {200, "application/json", []string{`"object":"list"`, `"id":"mock-echo"`}, false},
	"chat": {200, "application/json", []string{`"object":"chat.completion"`, `"content":"echo: hello from lambda"`},
		false},
	// Through API Gateway the stream arrives buffered, but still complete and
	// valid: every chunk, the usage chunk asked for, and [DONE].
	"chat-stream": {200, "text/event-stream", []string{`"object":"chat.completion.chunk"`, `"content":"stream "`,
		`"content":"one "`, `"finish_reason":"stop"`, `"usage":{`}, true},
	"embeddings": {200, "application/json", []string{`"object":"embedding"`, `"index":1`}, false},
	"generate":   {200, "application/json", []string{`"provider":"Mock"`, `"output":"echo: Say hi"`}, false},
	// No Authorization header; its .env file turns authentication on, as the
	// deployed functions run.
	"missing-key": {401, "application/json", []string{`"type":"authentication_error"`}, false},
	"bad-json": {400, "application/json", []string{`"type":"invalid_request_error"`, "not valid JSON"},
		false},
	// About 6 KB; its .env file lowers the body limit to 4 KiB (the deployed
	// default, 10 MiB, is above Lambda's 6 MB invoke payload limit, so an
	// event over it could not be invoked at all).
	"oversized-body": {413, "application/json", []string{`"code":"request_too_large"`}, false},
}

// eventCore is the core an event runs with: the mock provider (an empty
// environment serves model mock-echo) and the event's own .env settings, as
// `make invoke` applies them.
func eventCore(t *testing.T, eventPath string) http.Handler {
	t.Helper()
	env, err := runtimeapi.EventEnv(eventPath)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	cfg := config.FromEnv(func(k string) string { return vars[k] })
	h, err := lambdafn.Build(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type eventResponse struct {
	status int
	header map[string]string
	body   string
}

// TestEveryEventFileGetsItsAnswer decodes every file under events/ and runs it
// through the handler its function runs: lambdafn.API (aws-lambda-go-api-proxy)
// for events/api, lambdafn.Stream (lambdaurl) for events/stream, and
// lambdafn.Streaming, which the stream function runs, for events/rest.
func TestEveryEventFileGetsItsAnswer(t *testing.T) {
	seen := map[string]map[string]bool{"api": {}, "stream": {}, "rest": {}}
	err := filepath.WalkDir(eventsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(eventsDir, path)
		fn, file := filepath.Dir(rel), filepath.Base(rel)
		if filepath.Ext(file) == ".env" {
			if _, err := os.Stat(strings.TrimSuffix(path, ".env") + ".json"); err != nil {
				t.Errorf("%s: an .env file belongs beside its event", rel)
			}
			return nil
		}
		if filepath.Ext(file) != ".json" {
			t.Errorf("%s: events/ holds only .json sample events and their .env settings", rel)
			return nil
		}
		name := strings.TrimSuffix(file, ".json")
		want, ok := eventWants[name]
		if !ok {
			t.Errorf("%s: no expected answer in eventWants: add one", rel)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			h := eventCore(t, path)
			var got eventResponse
			switch fn {
			case "api":
				got = runAPIEvent(t, lambdafn.API(h), data)
			case "stream":
				got = runStreamEvent(t, lambdafn.Stream(h), data)
			case "rest":
				got = runRESTEvent(t, lambdafn.Streaming(h), data)
			default:
				t.Fatalf("events/%s: unknown function folder %q (want api, stream or rest)", rel, fn)
			}
			checkEventResponse(t, want, got)
		})
		if seen[fn] != nil {
			seen[fn][name] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for fn, names := range seen {
		for name := range eventWants {
			if !names[name] {
				t.Errorf("events/%s/%s.json is missing", fn, name)
			}
		}
	}
}

// TestMissingKeyEventIsRefusedWhenAuthIsOn runs events/*/missing-key.json
// as deployed: the CDK stack sets GATEWAY_AUTH=true on every function.
func TestMissingKeyEventIsRefusedWhenAuthIsOn(t *testing.T) {
	cfg := config.FromEnv(func(k string) string {
		if k == "GATEWAY_AUTH" {
			return "true"
		}
		return ""
	})
	h, err := lambdafn.Build(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	want := eventWant{401, "application/json", []string{`"type":"authentication_error"`}, false}
	for fn, run := range map[string]func(*testing.T, []byte) eventResponse{
		"api":    func(t *testing.T, b []byte) eventResponse { return runAPIEvent(t, lambdafn.API(h), b) },
		"stream": func(t *testing.T, b []byte) eventResponse { return runStreamEvent(t, lambdafn.Stream(h), b) },
		"rest":   func(t *testing.T, b []byte) eventResponse { return runRESTEvent(t, lambdafn.Streaming(h), b) },
	} {
		data, err := os.ReadFile(filepath.Join(eventsDir, fn, "missing-key.json"))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fn, func(t *testing.T) { checkEventResponse(t, want, run(t, data)) })
	}
}

func runAPIEvent(t *testing.T, h func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), data []byte) eventResponse {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("not an API Gateway v2 event: %v", err)
	}
	if ev.Version != "2.0" || ev.RequestContext.HTTP.Method == "" {
		t.Fatalf("not a payload 2.0 event: version %q, method %q", ev.Version, ev.RequestContext.HTTP.Method)
	}
	resp, err := h(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	body := resp.Body
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			t.Fatal(err)
		}
		body = string(b)
	}
	return eventResponse{status: resp.StatusCode, header: resp.Headers, body: body}
}

func runStreamEvent(t *testing.T, h func(context.Context, *events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error), data []byte) eventResponse {
	t.Helper()
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("not a Function URL event: %v", err)
	}
	if ev.Version != "2.0" || ev.RequestContext.HTTP.Method == "" || !strings.Contains(ev.RequestContext.DomainName, ".lambda-url.") {
		t.Fatalf("not a Function URL event: version %q, method %q, domain %q",
			ev.Version, ev.RequestContext.HTTP.Method, ev.RequestContext.DomainName)
	}
	resp, err := h(context.Background(), &ev)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return eventResponse{status: resp.StatusCode, header: resp.Headers, body: string(body)}
}

func checkEventResponse(t *testing.T, want eventWant, got eventResponse) {
	t.Helper()
	if got.status != want.status {
		t.Errorf("status %d, want %d; body: %.300s", got.status, want.status, got.body)
	}
	if ct := got.header["Content-Type"]; !strings.HasPrefix(ct, want.contentType) {
		t.Errorf("Content-Type %q, want %s…", ct, want.contentType)
	}
	if got.header["X-Request-Id"] == "" {
		t.Error("no X-Request-Id header")
	}
	for _, s := range want.contains {
		if !strings.Contains(got.body, s) {
			t.Errorf("body lacks %s:\n%.600s", s, got.body)
		}
	}
	if want.sse {
		checkSSE(t, got.body)
	} else if strings.HasPrefix(want.contentType, "application/json") && !json.Valid([]byte(got.body)) {
		t.Errorf("body is not JSON: %.300s", got.body)
	}
}

// checkSSE asserts body is a well-formed SSE stream: data events of JSON,
// each ended by a blank line, the last one [DONE], the cost comment before it.
func checkSSE(t *testing.T, body string) {
	t.Helper()
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("SSE body does not end with data: [DONE]: %q", tail(body, 80))
	}
	events := withoutCost(t, strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n"))
	if len(events) < 4 {
		t.Errorf("%d SSE events, want role, words, finish, usage and [DONE]", len(events))
	}
	for i, ev := range events {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Errorf("event %d is not one data line: %q", i, ev)
			continue
		}
		if i < len(events)-1 && !json.Valid([]byte(data)) {
			t.Errorf("event %d is not JSON: %q", i, data)
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// withoutCost checks that the frames of a chat stream carry the gateway's
// cost comment right before [DONE], the last, and returns them without it.
func withoutCost(t *testing.T, frames []string) []string {
	t.Helper()
	n := len(frames)
	if n < 2 || !strings.HasPrefix(frames[n-2], gateway.CostComment) || strings.Count(strings.Join(frames, "\n\n"), gateway.CostComment) != 1 {
		t.Errorf("want one cost comment (%s...) right before [DONE]: %q", gateway.CostComment, frames[max(0, n-3):])
		return frames
	}
	return append(frames[:n-2:n-2], frames[n-1])
}
