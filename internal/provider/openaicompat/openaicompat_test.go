package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

const testKey = "sk-test-SECRET-123"

func newProvider(t *testing.T, kind, base string, mod func(*provider.Config)) *Provider {
	t.Helper()
	cfg := provider.Config{Name: kind + "-test", Kind: kind, BaseURL: base, APIKey: testKey}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg, provider.Deps{HTTP: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func chatReq(t *testing.T, raw string) *provider.ChatRequest {
	t.Helper()
	var body openai.ChatRequest
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		t.Fatal(err)
	}
	return &provider.ChatRequest{Model: "upstream-model", Body: &body, Raw: []byte(raw)}
}

func TestChatPatchesOnlyTheModelAndKeepsUnknownFields(t *testing.T) {
	up := providertest.NewFake(t, providertest.ServeFile(t, "testdata/chat_response.json", "application/json"))
	p := newProvider(t, "openai", up.URL+"/v1", nil)
	raw := `{"model":"my-alias","messages":[{"role":"user","content":"hi"}],"future_param":{"x":[1,2]},"seed":7}`
	resp, err := p.Chat(context.Background(), chatReq(t, raw))
	if err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	if got.Path != "/v1/chat/completions" {
		t.Errorf("path = %q", got.Path)
	}
	if got.Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got.Header.Get("Authorization"))
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(got.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if string(sent["model"]) != `"upstream-model"` {
		t.Errorf("model sent = %s", sent["model"])
	}
	if string(sent["future_param"]) != `{"x":[1,2]}` || string(sent["seed"]) != "7" {
		t.Errorf("unknown fields not passed through: %s", got.Body)
	}
	if resp.Usage.PromptTokens != 1117 || resp.Usage.CompletionTokens != 46 {
		t.Errorf("usage = %+v", resp.Usage)
	}
	want, _ := os.ReadFile("testdata/chat_response.json")
	if !bytes.Equal(resp.Body, want) {
		t.Error("response body was not relayed byte for byte")
	}
}

func TestChatStreamRelaysToolCallDeltasAndMarksUsageChunk(t *testing.T) {
	up := providertest.NewFake(t, providertest.ServeFile(t, "testdata/stream_tool_calls.sse", "text/event-stream"))
	p := newProvider(t, "groq", up.URL, nil)
	s, err := p.ChatStream(context.Background(), chatReq(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks, err := providertest.Drain(t, s)
	if err != io.EOF {
		t.Fatal(err)
	}
	got := up.Last(t)
	var sent struct {
		Stream        bool `json:"stream"`
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	_ = json.Unmarshal(got.Body, &sent)
	if !sent.Stream || !sent.StreamOptions.IncludeUsage {
		t.Errorf("upstream request must ask for usage: %s", got.Body)
	}
	if len(chunks) != 6 {
		t.Fatalf("got %d chunks, want 6", len(chunks))
	}
	var second openai.ChatCompletionChunk
	if err := json.Unmarshal(chunks[3].Data, &second); err != nil {
		t.Fatal(err)
	}
	if tc := second.Choices[0].Delta.ToolCalls; len(tc) != 1 || tc[0].Index != 1 || tc[0].Function.Name != "get_time" {
		t.Errorf("second tool call delta = %+v", tc)
	}
	last := chunks[len(chunks)-1]
	if last.Usage == nil || last.Usage.PromptTokens != 82 || last.Usage.CachedTokens() != 64 {
		t.Fatalf("last chunk usage = %+v", last.Usage)
	}
	for _, c := range chunks[:len(chunks)-1] {
		if c.Usage != nil {
			t.Error("only the last chunk may be marked as the usage chunk")
		}
	}
}

func TestChatStreamBuildsUsageChunkWhenUpstreamAttachesUsageToLastContentChunk(t *testing.T) {
	up := providertest.NewFake(t, providertest.ServeFile(t, "testdata/stream_usage_in_last_chunk.sse", "text/event-stream"))
	p := newProvider(t, "mistral", up.URL, nil)
	s, err := p.ChatStream(context.Background(), chatReq(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks, err := providertest.Drain(t, s)
	if err != io.EOF {
		t.Fatal(err)
	}
	got := up.Last(t)
	if bytes.Contains(got.Body, []byte("stream_options")) {
		t.Error("mistral must not be sent stream_options")
	}
	if len(chunks) != 4 {
		t.Fatalf("got %d chunks, want 3 relayed + 1 usage", len(chunks))
	}
	u := chunks[3]
	if u.Usage == nil || u.Usage.PromptTokens != 10 || u.Usage.CompletionTokens != 3 || u.Usage.TotalTokens != 13 {
		t.Fatalf("usage chunk = %+v", u.Usage)
	}
	var c openai.ChatCompletionChunk
	if err := json.Unmarshal(u.Data, &c); err != nil || len(c.Choices) != 0 || c.ID != "cmpl-7" {
		t.Errorf("usage chunk data = %s (%v)", u.Data, err)
	}
}

func TestChatStreamFailures(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"a connection cut mid-stream is a retryable error",
			providertest.Cut(providertest.SSE("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"))},
		{"a body that ends without [DONE] is a retryable error",
			providertest.SSE("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n")},
		{"an error object mid-stream is a retryable error",
			providertest.SSE("data: {\"id\":\"x\",\"choices\":[]}\n\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.NewFake(t, tt.h)
			p := newProvider(t, "openai", up.URL, nil)
			s, err := p.ChatStream(context.Background(), chatReq(t, `{"model":"m","stream":true,"messages":[]}`))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			chunks, err := providertest.Drain(t, s)
			var e *openai.Error
			if !errors.As(err, &e) || !e.Retryable || e.HTTPStatus() != http.StatusBadGateway {
				t.Fatalf("err = %#v after %d chunks, want retryable 502", err, len(chunks))
			}
			if len(chunks) != 1 {
				t.Errorf("got %d chunks before the failure, want 1", len(chunks))
			}
		})
	}
}

func TestUpstreamErrorsMapToOpenAIErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		header      map[string]string
		wantStatus  int
		wantType    string
		wantMsg     string
		retryable   bool
		retryAfter  time.Duration
		mustNotLeak bool
	}{
		{"a 400 keeps its status and the upstream message", 400, `{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error"}}`, nil,
			400, "invalid_request_error", "Invalid value for 'temperature'", false, 0, false},
		{"a 429 keeps Retry-After and is retryable", 429, `{"error":{"message":"Rate limit reached"}}`, map[string]string{"Retry-After": "7"},
			429, "rate_limit_error", "Rate limit reached", true, 7 * time.Second, false},
		{"a 401 becomes a 502 naming the provider without the key", 401, `{"error":{"message":"Incorrect API key provided: sk-test-SECRET-123"}}`, nil,
			502, "api_error", "refused the gateway's credentials", true, 0, true},
		{"a 500 becomes a retryable 502", 500, `{"error":{"message":"server exploded"}}`, nil,
			502, "api_error", "server exploded", true, 0, false},
		{"a plain-text 503 body becomes the message", 503, "upstream connect error or disconnect/reset before headers", nil,
			502, "api_error", "upstream connect error", true, 0, false},
		{"a 504 becomes a retryable 504", 504, "<html>gateway timeout</html>", nil,
			504, "timeout_error", "timed out", true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.NewFake(t, providertest.Respond(tt.status, tt.header, tt.body))
			p := newProvider(t, "openai", up.URL, nil)
			_, err := p.Chat(context.Background(), chatReq(t, `{"model":"m","messages":[]}`))
			var e *openai.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *openai.Error", err)
			}
			if e.HTTPStatus() != tt.wantStatus || e.Type() != tt.wantType || e.Retryable != tt.retryable {
				t.Errorf("status=%d type=%s retryable=%v, want %d %s %v", e.HTTPStatus(), e.Type(), e.Retryable, tt.wantStatus, tt.wantType, tt.retryable)
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantMsg)
			}
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if strings.Contains(string(e.JSON()), testKey) || strings.Contains(e.Error(), testKey) {
				t.Error("the API key leaked into the error")
			}
		})
	}
}

func TestAzureUsesDeploymentPathAPIVersionAndAPIKeyHeader(t *testing.T) {
	up := providertest.NewFake(t, providertest.ServeFile(t, "testdata/chat_response.json", "application/json"))
	p := newProvider(t, "azure", up.URL, func(c *provider.Config) {
		c.Deployments = map[string]string{"upstream-model": "prod-gpt4o"}
		c.APIVersion = "2024-10-21"
	})
	if _, err := p.Chat(context.Background(), chatReq(t, `{"model":"x","messages":[{"role":"user","content":"hi"}]}`)); err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	if got.Path != "/openai/deployments/prod-gpt4o/chat/completions" || got.Query != "api-version=2024-10-21" {
		t.Errorf("url = %s?%s", got.Path, got.Query)
	}
	if got.Header.Get("api-key") != testKey || got.Header.Get("Authorization") != "" {
		t.Errorf("auth headers: api-key=%q Authorization=%q", got.Header.Get("api-key"), got.Header.Get("Authorization"))
	}
}

func TestCustomProviderSendsConfiguredHeaders(t *testing.T) {
	up := providertest.NewFake(t, providertest.ServeFile(t, "testdata/chat_response.json", "application/json"))
	p := newProvider(t, "custom", up.URL+"/api", func(c *provider.Config) {
		c.Headers = map[string]provider.Secret{"X-Tenant": "acme"}
		c.APIKey = ""
	})
	if _, err := p.Chat(context.Background(), chatReq(t, `{"model":"x","messages":[]}`)); err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	if got.Path != "/api/chat/completions" || got.Header.Get("X-Tenant") != "acme" || got.Header.Get("Authorization") != "" {
		t.Errorf("path=%s tenant=%q auth=%q", got.Path, got.Header.Get("X-Tenant"), got.Header.Get("Authorization"))
	}
}

func TestNewRejectsMissingOrBadBaseURL(t *testing.T) {
	for _, cfg := range []provider.Config{
		{Name: "c", Kind: "custom"},
		{Name: "a", Kind: "azure"},
		{Name: "o", Kind: "openai", BaseURL: "ftp://example"},
		{Name: "x", Kind: "anthropic"},
	} {
		if _, err := New(cfg, provider.Deps{}); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

func TestEmbeddingsForwardsAndReadsUsage(t *testing.T) {
	up := providertest.NewFake(t, providertest.Respond(http.StatusOK, nil,
		`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":5,"total_tokens":5}}`))
	p := newProvider(t, "openai", up.URL, nil)
	raw := `{"model":"emb","input":"hello","dimensions":2}`
	var body openai.EmbeddingsRequest
	_ = json.Unmarshal([]byte(raw), &body)
	resp, err := p.Embeddings(context.Background(), &provider.EmbeddingsRequest{Model: "text-embedding-3-small", Body: &body, Raw: []byte(raw)})
	if err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	if got.Path != "/embeddings" || !bytes.Contains(got.Body, []byte(`"model":"text-embedding-3-small"`)) || !bytes.Contains(got.Body, []byte(`"dimensions":2`)) {
		t.Errorf("sent %s to %s", got.Body, got.Path)
	}
	if resp.Usage.PromptTokens != 5 {
		t.Errorf("usage = %+v", resp.Usage)
	}
}

func TestAudioTranscriptionsReplacesModelAndKeepsTheFile(t *testing.T) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("model", "whisper-alias")
	fw, _ := mw.CreateFormFile("file", "a.wav")
	audio := []byte("RIFF....WAVEfmt \x00\x01\x02binary")
	_, _ = fw.Write(audio)
	_ = mw.WriteField("language", "en")
	_ = mw.Close()

	up := providertest.NewFake(t, providertest.JSON(http.StatusOK, `{"text":"hello"}`))
	p := newProvider(t, "openai", up.URL, nil)
	resp, err := p.AudioTranscriptions(context.Background(), &provider.RawRequest{Model: "whisper-1", Body: buf.Bytes(), ContentType: mw.FormDataContentType()})
	if err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	if string(resp.Body) != `{"text":"hello"}` {
		t.Errorf("body = %s", resp.Body)
	}
	req, _ := http.NewRequest("POST", "/", bytes.NewReader(got.Body))
	req.Header.Set("Content-Type", got.Header.Get("Content-Type"))
	if err := req.ParseMultipartForm(1 << 20); err != nil {
		t.Fatal(err)
	}
	if req.FormValue("model") != "whisper-1" || req.FormValue("language") != "en" {
		t.Errorf("fields = %v", req.MultipartForm.Value)
	}
	f, _, err := req.FormFile("file")
	if err != nil {
		t.Fatal(err)
	}
	gotAudio, _ := io.ReadAll(f)
	if !bytes.Equal(gotAudio, audio) {
		t.Error("the audio file was changed in transit")
	}
}

func TestMultipartFieldRejectsNonMultipartBodies(t *testing.T) {
	if _, err := MultipartField([]byte("{}"), "application/json", "model"); err == nil {
		t.Fatal("want an error for a JSON body")
	}
}

func FuzzStreamTranslator(f *testing.F) {
	providertest.AddSeeds(f, "stream_*.sse")
	f.Add([]byte("data: {\"usage\":5}\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := provider.NewSSEStream(context.Background(), "fuzz", io.NopCloser(bytes.NewReader(data)), (&streamTranslator{up: provider.Upstream{Name: "fuzz"}}).translate)
		for i := 0; i < 10000; i++ {
			if _, err := s.Next(); err != nil {
				return
			}
		}
	})
}

// TestUpstreamErrorsEchoingSecretsAreRedacted: an upstream error that repeats
// the configured key or a configured header's value reaches the client with
// them redacted, from every endpoint and from an error event mid-stream.
func TestUpstreamErrorsEchoingSecretsAreRedacted(t *testing.T) {
	const headerSecret = "tenant-secret-42abc"
	echo := "key " + testKey + " tenant " + headerSecret
	statuses := []struct {
		status int
		body   string
	}{
		{400, `{"error":{"message":"Incorrect API key provided: ` + echo + `"}}`},
		{429, `{"error":{"message":"` + echo + ` is over its quota"}}`},
		{500, `{"error":"` + echo + `"}`},
		{502, "bad gateway: " + echo},
	}
	calls := map[string]func(p *Provider) error{
		"chat": func(p *Provider) error {
			_, err := p.Chat(context.Background(), chatReq(t, `{"model":"m","messages":[]}`))
			return err
		},
		"stream": func(p *Provider) error {
			s, err := p.ChatStream(context.Background(), chatReq(t, `{"model":"m","messages":[]}`))
			return providertest.StreamErr(t, s, err)
		},
		"embeddings": func(p *Provider) error {
			_, err := p.Embeddings(context.Background(), &provider.EmbeddingsRequest{Model: "e", Raw: []byte(`{"model":"e","input":"x"}`)})
			return err
		},
	}
	for _, st := range statuses {
		for name, call := range calls {
			t.Run(name+" "+http.StatusText(st.status), func(t *testing.T) {
				up := providertest.NewFake(t, providertest.Respond(st.status, nil, st.body))
				p := newProvider(t, "openai", up.URL, func(c *provider.Config) {
					c.Headers = map[string]provider.Secret{"X-Tenant-Token": headerSecret}
				})
				e := openai.AsError(call(p))
				if e == nil {
					t.Fatal("the call succeeded")
				}
				if !strings.Contains(e.Message, "key [REDACTED] tenant [REDACTED]") {
					t.Errorf("message %q does not carry the redacted echo", e.Message)
				}
				for _, s := range []string{e.Error(), string(e.JSON())} {
					if strings.Contains(s, testKey) || strings.Contains(s, headerSecret) {
						t.Errorf("a secret leaked: %s", s)
					}
				}
			})
		}
	}

	t.Run("an error event mid-stream", func(t *testing.T) {
		up := providertest.NewFake(t, providertest.SSE(`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`+"\n\n"+
			`data: {"error":{"message":"`+echo+`","type":"server_error"}}`+"\n\n"))
		p := newProvider(t, "openai", up.URL, func(c *provider.Config) {
			c.Headers = map[string]provider.Secret{"X-Tenant-Token": headerSecret}
		})
		s, err := p.ChatStream(context.Background(), chatReq(t, `{"model":"m","messages":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		chunks, err := providertest.Drain(t, s)
		e := openai.AsError(err)
		if e == nil || len(chunks) != 1 || !e.Retryable || !strings.Contains(e.Message, "key [REDACTED] tenant [REDACTED]") {
			t.Fatalf("%d chunks, then %v", len(chunks), err)
		}
		if strings.Contains(string(e.JSON()), testKey) || strings.Contains(e.Error(), headerSecret) {
			t.Errorf("a secret leaked: %s", e.JSON())
		}
	})
}
