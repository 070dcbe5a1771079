package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

const testKey = "sk-ant-test-0123456789abcdef"

// Interface checks: a chat provider, and no embeddings.
var _ provider.Provider = (*Provider)(nil)

func TestProviderHasNoEmbeddings(t *testing.T) {
	if _, ok := any(&Provider{}).(provider.Embedder); ok {
		t.Error("the Anthropic provider claims embeddings, which Anthropic does not offer")
	}
}

// fake starts an upstream and a provider pointed at it.
func fake(t *testing.T, cfg provider.Config, h http.HandlerFunc) (*Provider, *providertest.Fake) {
	t.Helper()
	up := providertest.NewFake(t, h)
	cfg.BaseURL = up.URL
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	p, err := New(cfg, provider.Deps{HTTP: up.Client()})
	if err != nil {
		t.Fatal(err)
	}
	p.now = fixedClock
	return p, up
}

func chatRequest(t *testing.T) *provider.ChatRequest {
	t.Helper()
	raw := `{"model":"claude-alias","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}]}`
	return &provider.ChatRequest{Model: "claude-upstream-model", Body: decodeChat(t, raw), Raw: []byte(raw)}
}

// upstreamRequest is what the fake saw.
type upstreamRequest struct {
	method, path string
	header       http.Header
	body         map[string]any
}

// received is the one request the fake got, its body decoded.
func received(t *testing.T, up *providertest.Fake) upstreamRequest {
	t.Helper()
	reqs := up.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the upstream got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Errorf("upstream body is not JSON: %v", err)
	}
	return upstreamRequest{r.Method, r.Path, r.Header, body}
}

func checkHeaders(t *testing.T, got upstreamRequest, wantVersion string) {
	t.Helper()
	if got.method != http.MethodPost || got.path != "/v1/messages" {
		t.Errorf("upstream got %s %s, want POST /v1/messages", got.method, got.path)
	}
	if k := got.header.Get("x-api-key"); k != testKey {
		t.Errorf("x-api-key = %q, want the configured key", k)
	}
	if v := got.header.Get("anthropic-version"); v != wantVersion {
		t.Errorf("anthropic-version = %q, want %q", v, wantVersion)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type = %q", ct)
	}
	if a := got.header.Get("Authorization"); a != "" {
		t.Errorf("an Authorization header was sent: Anthropic authenticates with x-api-key")
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     provider.Config
		wantErr bool
		wantURL string
	}{
		{"an empty base URL means Anthropic's API", provider.Config{Name: "a"}, false, "https://api.anthropic.com/v1/messages"},
		{"a trailing slash on the base URL is ignored", provider.Config{Name: "a", BaseURL: "http://proxy.local/anthropic/"}, false, "http://proxy.local/anthropic/v1/messages"},
		{"a base URL that is not http(s) is refused", provider.Config{Name: "a", BaseURL: "ftp://x"}, true, ""},
		{"a base URL without a host is refused", provider.Config{Name: "a", BaseURL: "https://"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg, provider.Deps{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if p.url != tt.wantURL || p.Kind() != "anthropic" || p.Name() != tt.cfg.Name || p.version != DefaultAPIVersion {
				t.Errorf("url %q kind %q name %q version %q", p.url, p.Kind(), p.Name(), p.version)
			}
		})
	}
}

func TestChatSendsAMessagesRequestAndReturnsAChatCompletion(t *testing.T) {
	p, up := fake(t, provider.Config{Name: "claude"}, providertest.ServeFile(t, "testdata/responses/tool_use.json", "application/json"))
	resp, err := p.Chat(context.Background(), chatRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	got := received(t, up)
	checkHeaders(t, got, DefaultAPIVersion)
	if got.body["model"] != "claude-upstream-model" || got.body["system"] != "Be brief." || got.body["max_tokens"] != float64(4096) {
		t.Errorf("upstream body = %v", got.body)
	}
	if _, ok := got.body["stream"]; ok {
		t.Errorf("a non-stream request sent stream: %v", got.body["stream"])
	}
	var cc openai.ChatCompletion
	if err := json.Unmarshal(resp.Body, &cc); err != nil {
		t.Fatal(err)
	}
	if len(cc.Choices) != 1 || cc.Choices[0].FinishReason != "tool_calls" || len(cc.Choices[0].Message.ToolCalls) != 2 {
		t.Errorf("completion = %s", resp.Body)
	}
	if resp.Usage.PromptTokens != 2112 || resp.Usage.CompletionTokens != 87 || resp.Usage.CachedTokens() != 2000 {
		t.Errorf("usage = %+v", resp.Usage)
	}
}

func TestConfiguredVersionAndExtraHeadersReachTheUpstream(t *testing.T) {
	cfg := provider.Config{Name: "claude", APIVersion: "2099-01-01",
		Headers: map[string]provider.Secret{"anthropic-beta": "some-beta", "anthropic-version": "ignored"}}
	p, up := fake(t, cfg, providertest.ServeFile(t, "testdata/responses/text.json", "application/json"))
	if _, err := p.Chat(context.Background(), chatRequest(t)); err != nil {
		t.Fatal(err)
	}
	got := received(t, up)
	checkHeaders(t, got, "2099-01-01")
	if b := got.header.Get("anthropic-beta"); b != "some-beta" {
		t.Errorf("anthropic-beta = %q", b)
	}
}

func TestChatStreamRelaysAFullStreamEndingWithTheUsageChunk(t *testing.T) {
	p, up := fake(t, provider.Config{Name: "claude"}, providertest.ServeFile(t, "testdata/stream/text_and_tools.sse", "text/event-stream"))
	s, err := p.ChatStream(context.Background(), chatRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks, err := providertest.Drain(t, s)
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	got := received(t, up)
	checkHeaders(t, got, DefaultAPIVersion)
	if got.body["stream"] != true {
		t.Errorf("upstream body stream = %v, want true", got.body["stream"])
	}
	if a := got.header.Get("Accept"); a != "text/event-stream" {
		t.Errorf("Accept = %q", a)
	}
	var text strings.Builder
	args := map[int]string{}
	for _, c := range chunks[:len(chunks)-1] {
		var ch openai.ChatCompletionChunk
		if err := json.Unmarshal(c.Data, &ch); err != nil {
			t.Fatal(err)
		}
		if c.Usage != nil {
			t.Fatalf("a usage chunk before the end: %s", c.Data)
		}
		if d := ch.Choices[0].Delta; d.Content != nil {
			text.WriteString(*d.Content)
		} else {
			for _, tc := range d.ToolCalls {
				args[tc.Index] += tc.Function.Arguments
			}
		}
	}
	if text.String() != "Okay, let me check both cities." {
		t.Errorf("text = %q", text.String())
	}
	if args[0] != `{"city": "Paris"}` || args[1] != `{"city": "Rome"}` {
		t.Errorf("tool arguments = %v", args)
	}
	last := chunks[len(chunks)-1]
	if last.Usage == nil || last.Usage.PromptTokens != 600 || last.Usage.CompletionTokens != 89 || last.Usage.TotalTokens != 689 {
		t.Errorf("last chunk usage = %+v", last.Usage)
	}
	if _, err := s.Next(); err != io.EOF {
		t.Errorf("Next after the end = %v, want io.EOF", err)
	}
}

// streamEvents is the first events of the fixture stream, for fakes that
// stop early.
const streamEvents = "event: message_start\n" +
	`data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}` + "\n\n" +
	"event: content_block_start\n" +
	`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
	"event: content_block_delta\n" +
	`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}` + "\n\n"

func TestChatStreamFailures(t *testing.T) {
	tests := []struct {
		name          string
		handler       http.HandlerFunc
		wantInMessage string
	}{
		{
			name:          "a connection cut mid-stream is a retryable error, not a clean end",
			handler:       providertest.Cut(providertest.SSE(streamEvents)),
			wantInMessage: "stream was cut",
		},
		{
			name: "a stream that ends without message_stop is an error",
			handler: providertest.SSE(streamEvents +
				"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}` + "\n\n"),
			wantInMessage: "before its end event",
		},
		{
			name: "an error event mid-stream keeps Anthropic's message",
			handler: providertest.SSE(streamEvents +
				"event: error\n" + `data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}` + "\n\n"),
			wantInMessage: "Overloaded",
		},
		{
			name: "an error event that echoes the key is redacted",
			handler: providertest.SSE(streamEvents +
				"event: error\n" + `data: {"type":"error","error":{"type":"api_error","message":"bad key ` + testKey + `"}}` + "\n\n"),
			wantInMessage: "bad key [REDACTED]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := fake(t, provider.Config{Name: "claude"}, tt.handler)
			s, err := p.ChatStream(context.Background(), chatRequest(t))
			if err != nil {
				t.Fatalf("ChatStream failed before the first event: %v", err)
			}
			defer s.Close()
			chunks, err := providertest.Drain(t, s)
			if err == io.EOF || err == nil {
				t.Fatalf("stream ended cleanly after %d chunks, want an error", len(chunks))
			}
			var e *openai.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *openai.Error", err, err)
			}
			if e.HTTPStatus() != http.StatusBadGateway || !e.Retryable {
				t.Errorf("status %d retryable %v, want a retryable 502", e.HTTPStatus(), e.Retryable)
			}
			if !strings.Contains(e.Message, tt.wantInMessage) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantInMessage)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the error contains the API key: %v", err)
			}
			if len(chunks) < 2 {
				t.Errorf("got %d chunks before the failure, want the role and text chunks", len(chunks))
			}
		})
	}
}

func TestUpstreamErrorsAreMappedForChatAndChatStream(t *testing.T) {
	anthropicError := func(typ, msg string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"}}`
	}
	tests := []struct {
		name           string
		status         int
		header         map[string]string
		body           string
		wantStatus     int
		wantType       string
		wantRetryable  bool
		wantRetryAfter time.Duration
		wantMessage    string // a substring
	}{
		{
			name: "a 400 keeps its status and Anthropic's message", status: 400,
			body:       anthropicError("invalid_request_error", "max_tokens: 999999 > 64000, which is the maximum allowed"),
			wantStatus: 400, wantType: "invalid_request_error",
			wantMessage: "max_tokens: 999999 > 64000, which is the maximum allowed",
		},
		{
			name: "a 400 whose message echoes the API key is redacted", status: 400,
			body:       anthropicError("invalid_request_error", "unexpected header value "+testKey),
			wantStatus: 400, wantType: "invalid_request_error", wantMessage: "unexpected header value [REDACTED]",
		},
		{
			name: "a 404 is a model not found", status: 404,
			body:       anthropicError("not_found_error", "model: claude-nope"),
			wantStatus: 404, wantType: "invalid_request_error", wantMessage: "model: claude-nope",
		},
		{
			name: "a 429 keeps Retry-After", status: 429, header: map[string]string{"Retry-After": "17"},
			body:       anthropicError("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
			wantStatus: 429, wantType: "rate_limit_error", wantRetryable: true, wantRetryAfter: 17 * time.Second,
			wantMessage: "per-minute rate limit",
		},
		{
			name: "a 529 overloaded is a retryable 502", status: 529,
			body:       anthropicError("overloaded_error", "Overloaded"),
			wantStatus: 502, wantType: "api_error", wantRetryable: true, wantMessage: "Overloaded",
		},
		{
			name: "a 500 is a retryable 502", status: 500,
			body:       anthropicError("api_error", "Internal server error"),
			wantStatus: 502, wantType: "api_error", wantRetryable: true, wantMessage: "Internal server error",
		},
		{
			name: "a 401 is a 502 that does not repeat the key", status: 401,
			body:       anthropicError("authentication_error", "invalid x-api-key "+testKey),
			wantStatus: 502, wantType: "api_error", wantRetryable: true, wantMessage: "refused the gateway's credentials",
		},
		{
			name: "a plain-text 503 becomes the message", status: 503,
			header:     map[string]string{"Content-Type": "text/plain"},
			body:       "upstream connect error or disconnect/reset before headers",
			wantStatus: 502, wantType: "api_error", wantRetryable: true,
			wantMessage: "upstream connect error or disconnect/reset before headers",
		},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name + " (chat)"
			if stream {
				name = tt.name + " (stream)"
			}
			t.Run(name, func(t *testing.T) {
				header := map[string]string{"Content-Type": "application/json"}
				maps.Copy(header, tt.header)
				p, _ := fake(t, provider.Config{Name: "claude"}, providertest.Respond(tt.status, header, tt.body))
				var err error
				if stream {
					var s provider.Stream
					s, err = p.ChatStream(context.Background(), chatRequest(t))
					if s != nil {
						t.Errorf("ChatStream returned a stream with the error")
					}
				} else {
					var resp *provider.Response
					resp, err = p.Chat(context.Background(), chatRequest(t))
					if resp != nil {
						t.Errorf("Chat returned a response with the error")
					}
				}
				var e *openai.Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v (%T), want *openai.Error", err, err)
				}
				if e.HTTPStatus() != tt.wantStatus || e.Type() != tt.wantType || e.Retryable != tt.wantRetryable {
					t.Errorf("got %d %s retryable=%v, want %d %s retryable=%v",
						e.HTTPStatus(), e.Type(), e.Retryable, tt.wantStatus, tt.wantType, tt.wantRetryable)
				}
				if e.RetryAfter != tt.wantRetryAfter {
					t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.wantRetryAfter)
				}
				if !strings.Contains(e.Message, tt.wantMessage) {
					t.Errorf("message %q does not contain %q", e.Message, tt.wantMessage)
				}
				if strings.Contains(e.Message, testKey) || strings.Contains(err.Error(), testKey) || strings.Contains(string(e.JSON()), testKey) {
					t.Errorf("the error exposes the API key: %v", err)
				}
			})
		}
	}
}

func TestInvalidRequestsNeverReachTheUpstream(t *testing.T) {
	p, up := fake(t, provider.Config{Name: "claude"}, func(w http.ResponseWriter, r *http.Request) {})
	req := chatRequest(t)
	req.Body.N = openai.Ptr(3)
	for _, stream := range []bool{false, true} {
		var err error
		if stream {
			_, err = p.ChatStream(context.Background(), req)
		} else {
			_, err = p.Chat(context.Background(), req)
		}
		var e *openai.Error
		if !errors.As(err, &e) || e.HTTPStatus() != 400 || e.Param != "n" {
			t.Errorf("stream=%v: err = %v, want a 400 on n", stream, err)
		}
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("the upstream was called %d times", n)
	}
}

func TestAnUnreachableUpstreamIsARetryable502WithoutTheKey(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	p, err := New(provider.Config{Name: "claude", BaseURL: base, APIKey: testKey}, provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Chat(context.Background(), chatRequest(t))
	var e *openai.Error
	if !errors.As(err, &e) || e.HTTPStatus() != 502 || !e.Retryable {
		t.Fatalf("err = %v, want a retryable 502", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("the error exposes the API key: %v", err)
	}
}
