package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/gateway"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/testutil"
)

const secretKey = "sk-upstream-SECRET-42"

// upstream is a fake OpenAI-protocol provider that counts its calls.
type upstream struct {
	*httptest.Server
	calls atomic.Int64
	last  atomic.Value // []byte of the last request body
}

func newUpstream(t testing.TB, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		u.last.Store(b)
		r.Body = io.NopCloser(bytes.NewReader(b))
		h(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) lastBody() []byte {
	b, _ := u.last.Load().([]byte)
	return b
}

// okChat answers a non-stream completion naming who answered.
func okChat(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.Stream {
			okStream(name)(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"from %s"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`, req.Model, name)
	}
}

func okStream(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, part := range []string{"from ", name} {
			fmt.Fprintf(w, "data: {\"id\":\"s1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", part)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: {\"id\":\"s1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
		fmt.Fprint(w, "data: {\"id\":\"s1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":6}}\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}
}

func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// newGateway builds a gateway from TOML where {A}, {B}, ... are replaced by
// the fake upstreams' URLs.
func newGateway(t testing.TB, toml string, ups ...*upstream) (*app.App, *testutil.LogBuffer) {
	t.Helper()
	for i, u := range ups {
		toml = strings.ReplaceAll(toml, fmt.Sprintf("{%c}", 'A'+i), u.URL)
	}
	cfg, err := config.Parse(testutil.CacheOffUnlessSet(toml), func(k string) string {
		if k == "UPSTREAM_KEY" {
			return secretKey
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.LogBuffer{}
	g, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return g, logs
}

const twoProviders = `
[defaults.retry]
max_retries = 0
[[providers]]
name = "a"
kind = "custom"
base_url = "{A}"
api_key = "${UPSTREAM_KEY}"
models = ["shared", "only-a"]
[[providers]]
name = "b"
kind = "custom"
base_url = "{B}"
api_key = "${UPSTREAM_KEY}"
models = ["shared"]
[aliases]
fast = "shared"
`

func do(t *testing.T, h http.Handler, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// errorOf decodes an OpenAI error body and fails when the shape is wrong.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder) openai.ErrorDetail {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	var b struct {
		Error *openai.ErrorDetail `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error == nil || b.Error.Message == "" || b.Error.Type == "" {
		t.Fatalf("not an OpenAI error body: %s", rec.Body)
	}
	return *b.Error
}

const hello = `{"model":"shared","messages":[{"role":"user","content":"hello"}]}`

func TestHealthAnswersThatTheGatewayIsHealthy(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, _ := newGateway(t, twoProviders, a, a)
	rec := do(t, g, "GET", "/health", "")
	if rec.Code != 200 || rec.Body.String() != "AI Gateway is healthy" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
}

func TestModelsListsEveryRoutableModelAndAlias(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, _ := newGateway(t, twoProviders, a, a)
	rec := do(t, g, "GET", "/v1/models", "")
	var list openai.ModelList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || list.Object != "list" {
		t.Fatalf("%s", rec.Body)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
		if m.Object != "model" || m.OwnedBy == "" {
			t.Errorf("model entry %+v", m)
		}
	}
	if got := strings.Join(ids, ","); got != "fast,only-a,shared" {
		t.Errorf("models = %s", got)
	}
}

func TestChatFailsOverOnUpstream5xxAndReportsTheTarget(t *testing.T) {
	a := newUpstream(t, status(500, `{"error":{"message":"boom"}}`))
	b := newUpstream(t, okChat("b"))
	g, logs := newGateway(t, twoProviders, a, b)
	rec := do(t, g, "POST", "/v1/chat/completions", hello)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "from b") || rec.Header().Get("X-Gateway-Provider") != "b" {
		t.Errorf("answer %s from %q", rec.Body, rec.Header().Get("X-Gateway-Provider"))
	}
	if a.calls.Load() != 1 || b.calls.Load() != 1 {
		t.Errorf("calls a=%d b=%d", a.calls.Load(), b.calls.Load())
	}
	line := logs.String()
	for _, want := range []string{`"provider":"b"`, `"route":"shared"`, `"failovers":1`, `"prompt_tokens":3`, `"status":200`, `"request_id":`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
	if strings.Contains(line, secretKey) || strings.Contains(line, "hello") {
		t.Errorf("log line leaks a secret or the prompt: %s", line)
	}
}

func TestChatDoesNotFailOverOnAClientError(t *testing.T) {
	a := newUpstream(t, status(400, `{"error":{"message":"bad temperature","type":"invalid_request_error"}}`))
	b := newUpstream(t, okChat("b"))
	g, _ := newGateway(t, twoProviders, a, b)
	rec := do(t, g, "POST", "/v1/chat/completions", hello)
	if rec.Code != 400 {
		t.Fatalf("status %d", rec.Code)
	}
	if e := errorOf(t, rec); e.Message != "bad temperature" || e.Type != "invalid_request_error" {
		t.Errorf("error = %+v", e)
	}
	if b.calls.Load() != 0 {
		t.Error("a client error must not fail over")
	}
}

func TestAllTargetsFailingGivesTheLastErrorWithoutTheKey(t *testing.T) {
	a := newUpstream(t, status(401, `{"error":{"message":"bad key `+secretKey+`"}}`))
	b := newUpstream(t, status(503, "down for maintenance"))
	g, _ := newGateway(t, twoProviders, a, b)
	rec := do(t, g, "POST", "/v1/chat/completions", hello)
	if rec.Code != 502 {
		t.Fatalf("status %d", rec.Code)
	}
	e := errorOf(t, rec)
	if !strings.Contains(e.Message, "provider b") || !strings.Contains(e.Message, "down for maintenance") {
		t.Errorf("message %q", e.Message)
	}
	if strings.Contains(rec.Body.String(), secretKey) {
		t.Error("key leaked")
	}
}

func TestRateLimitedUpstreamKeepsRetryAfter(t *testing.T) {
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		status(429, `{"error":{"message":"slow down"}}`)(w, r)
	})
	g, _ := newGateway(t, strings.Replace(twoProviders, `models = ["shared"]`, `models = ["other"]`, 1), a, a)
	rec := do(t, g, "POST", "/v1/chat/completions", hello)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "30" {
		t.Fatalf("status %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if e := errorOf(t, rec); e.Type != "rate_limit_error" {
		t.Errorf("type %s", e.Type)
	}
}

func TestPinningAProvider(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	b := newUpstream(t, okChat("b"))
	// b also serves any model name: `models = ["shared", "*"]`.
	g, _ := newGateway(t, strings.Replace(twoProviders, `models = ["shared"]`, `models = ["shared", "*"]`, 1), a, b)
	t.Run("by header", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/chat/completions", hello, "X-Gateway-Provider", "B")
		if rec.Header().Get("X-Gateway-Provider") != "b" {
			t.Errorf("answered by %q", rec.Header().Get("X-Gateway-Provider"))
		}
	})
	t.Run("by provider/model name, passing the model upstream", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"b/some-new-model","messages":[{"role":"user","content":"x"}]}`)
		if rec.Code != 200 || rec.Header().Get("X-Gateway-Provider") != "b" {
			t.Fatalf("%d from %q", rec.Code, rec.Header().Get("X-Gateway-Provider"))
		}
		if !bytes.Contains(b.lastBody(), []byte(`"model":"some-new-model"`)) {
			t.Errorf("upstream got %s", b.lastBody())
		}
	})
	t.Run("a model the pinned provider does not serve is a 404 naming how to enable it", func(t *testing.T) {
		for _, body := range []string{`{"model":"a/some-new-model","messages":[{"role":"user","content":"x"}]}`} {
			rec := do(t, g, "POST", "/v1/chat/completions", body)
			if rec.Code != 404 || !strings.Contains(errorOf(t, rec).Message, "models") {
				t.Errorf("%d %s", rec.Code, rec.Body)
			}
		}
		rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"only-a","messages":[{"role":"user","content":"x"}]}`, "X-Gateway-Provider", "a")
		if rec.Code != 200 {
			t.Errorf("a configured model pinned to its provider: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("an unknown pinned provider is a 400", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/chat/completions", hello, "X-Gateway-Provider", "nope")
		if rec.Code != 400 || errorOf(t, rec).Param == nil {
			t.Errorf("%d %s", rec.Code, rec.Body)
		}
	})
}

func TestBadRequestsGetOpenAIErrors(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, _ := newGateway(t, twoProviders+"\n[server]\nmax_body_bytes = 2048\n", a, a)
	tests := []struct {
		name, method, path, body string
		status                   int
		param                    string
	}{
		{"invalid JSON", "POST", "/v1/chat/completions", `{"model":`, 400, ""},
		{"an empty body", "POST", "/v1/chat/completions", ``, 400, ""},
		{"a missing model", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, 400, "model"},
		{"no messages", "POST", "/v1/chat/completions", `{"model":"shared","messages":[]}`, 400, "messages"},
		{"a bad role", "POST", "/v1/chat/completions", `{"model":"shared","messages":[{"role":"wizard","content":"x"}]}`, 400, "messages[0].role"},
		{"a wrong type", "POST", "/v1/chat/completions", `{"model":"shared","messages":[{"role":"user","content":"x"}],"temperature":"hot"}`, 400, "temperature"},
		{"temperature out of range", "POST", "/v1/chat/completions", `{"model":"shared","messages":[{"role":"user","content":"x"}],"temperature":3}`, 400, "temperature"},
		{"n out of range", "POST", "/v1/chat/completions", `{"model":"shared","messages":[{"role":"user","content":"x"}],"n":0}`, 400, "n"},
		{"an unknown model", "POST", "/v1/chat/completions", `{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}`, 404, "model"},
		{"an oversized body", "POST", "/v1/chat/completions", `{"model":"shared","messages":[{"role":"user","content":"` + strings.Repeat("x", 4096) + `"}]}`, 413, ""},
		{"an unknown path", "GET", "/v1/nothing", ``, 404, ""},
		{"a wrong method", "GET", "/v1/chat/completions", ``, 405, ""},
		{"an image URL that is not http or data", "POST", "/v1/chat/completions", `{"model":"shared","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}`, 400, "messages[0].content[0].image_url.url"},
		{"embeddings without input", "POST", "/v1/embeddings", `{"model":"shared"}`, 400, "input"},
		{"generate without prompt", "POST", "/generate", `{"provider":"a"}`, 400, "prompt"},
		{"generate with an unknown provider", "POST", "/generate", `{"prompt":"x","provider":"Nope"}`, 400, "provider"},
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
		})
	}
	if a.calls.Load() != 0 {
		t.Errorf("bad requests reached the upstream %d times", a.calls.Load())
	}
}

// sseEvents reads the data payloads of an SSE body.
func sseEvents(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestStreamFailsOverBeforeTheFirstByte(t *testing.T) {
	a := newUpstream(t, status(502, "bad gateway"))
	b := newUpstream(t, okChat("b"))
	g, _ := newGateway(t, twoProviders, a, b)
	rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"shared","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	ev := sseEvents(t, rec.Body.String())
	if len(ev) != 4 || ev[len(ev)-1] != "[DONE]" {
		t.Fatalf("events = %q", ev)
	}
	if strings.Contains(rec.Body.String(), `"usage"`) {
		t.Error("the usage chunk must only reach clients that asked for it")
	}
	if rec.Header().Get("X-Gateway-Provider") != "b" {
		t.Errorf("provider %q", rec.Header().Get("X-Gateway-Provider"))
	}
}

func TestStreamSendsTheUsageChunkWhenAsked(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, logs := newGateway(t, twoProviders, a, a)
	rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"only-a","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`)
	ev := sseEvents(t, rec.Body.String())
	if len(ev) != 5 {
		t.Fatalf("events = %q", ev)
	}
	var u openai.ChatCompletionChunk
	if err := json.Unmarshal([]byte(ev[3]), &u); err != nil || u.Usage == nil || u.Usage.TotalTokens != 6 || len(u.Choices) != 0 {
		t.Fatalf("usage chunk = %s", ev[3])
	}
	if !strings.Contains(logs.String(), `"completion_tokens":2`) {
		t.Errorf("stream usage not logged: %s", logs)
	}
}

func TestStreamCutAfterTheFirstByteEndsWithAnErrorEventAndDone(t *testing.T) {
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	b := newUpstream(t, okChat("b"))
	g, _ := newGateway(t, twoProviders, a, b)
	rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"shared","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	ev := sseEvents(t, rec.Body.String())
	if len(ev) != 3 || ev[2] != "[DONE]" {
		t.Fatalf("events = %q", ev)
	}
	var e openai.ErrorBody
	if err := json.Unmarshal([]byte(ev[1]), &e); err != nil || !strings.Contains(e.Error.Message, "cut") {
		t.Errorf("error event = %s", ev[1])
	}
	if b.calls.Load() != 0 {
		t.Error("after the first byte there must be no failover")
	}
}

func TestClientDisconnectCancelsTheUpstreamRequest(t *testing.T) {
	cancelled := make(chan struct{})
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(10 * time.Second):
		}
	})
	g, _ := newGateway(t, twoProviders, a, a)
	srv := httptest.NewServer(g)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"only-a","stream":true,"messages":[{"role":"user","content":"x"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	if !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q", line)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled after the client left")
	}
}

func TestGenerateAnswersWithTheProviderTheOutputAndWhetherItWasCached(t *testing.T) {
	a := newUpstream(t, status(500, "down"))
	b := newUpstream(t, okChat("b"))
	g, _ := newGateway(t, twoProviders, a, b)
	t.Run("without a provider it uses the failover order", func(t *testing.T) {
		rec := do(t, g, "POST", "/generate", `{"prompt":"Say hi"}`)
		var out gateway.GenerateResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if out.Provider != "b" || out.Output != "from b" || out.Cached {
			t.Errorf("%+v", out)
		}
	})
	t.Run("the provider is matched case-insensitively", func(t *testing.T) {
		rec := do(t, g, "POST", "/generate", `{"prompt":"Say hi","provider":"B"}`)
		if !strings.Contains(rec.Body.String(), `"output":"from b"`) {
			t.Errorf("%d %s", rec.Code, rec.Body)
		}
	})
}

func TestEmbeddingsOnAProviderWithoutThemIsA400(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, _ := newGateway(t, `
[[providers]]
name = "claude"
kind = "anthropic"
base_url = "{A}"
api_key = "k"
models = ["claude-x"]
`, a)
	rec := do(t, g, "POST", "/v1/embeddings", `{"model":"claude-x","input":"hi"}`)
	if rec.Code != 400 || !strings.Contains(errorOf(t, rec).Message, "does not support embeddings") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = do(t, g, "POST", "/v1/images/generations", `{"model":"claude-x","prompt":"a cat"}`)
	if rec.Code != 400 || !strings.Contains(errorOf(t, rec).Message, "does not support image generation") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if a.calls.Load() != 0 {
		t.Error("unsupported calls must not reach the upstream")
	}
}

func TestCORSPreflight(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, _ := newGateway(t, twoProviders+"\n[server.cors]\nallowed_origins = [\"https://app.example\"]\n", a, a)
	rec := do(t, g, "OPTIONS", "/v1/chat/completions", "", "Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	rec = do(t, g, "OPTIONS", "/v1/chat/completions", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("an unlisted origin was allowed")
	}
	// A browser may read what the gateway tells it: the cache, the cost, the limits.
	rec = do(t, g, "POST", "/v1/chat/completions", hello, "Origin", "https://app.example")
	exposed := rec.Header().Get("Access-Control-Expose-Headers")
	for _, h := range []string{"X-Gateway-Cache", "X-Gateway-Cost-Usd", "X-Gateway-Dropped", "X-Ratelimit-Remaining-Requests", "Retry-After"} {
		if !strings.Contains(exposed, h) {
			t.Errorf("%s is not exposed to browsers: %q", h, exposed)
		}
	}
}

func TestMockServesMockEchoWithoutAnyCredentials(t *testing.T) {
	cfg := config.FromEnv(func(string) string { return "" })
	g, err := app.New(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"mock-echo","messages":[{"role":"user","content":"ping pong"}]}`)
	var cc openai.ChatCompletion
	if err := json.Unmarshal(rec.Body.Bytes(), &cc); err != nil || len(cc.Choices) != 1 || *cc.Choices[0].Message.Content != "echo: ping pong" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
