package cohere

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

const testKey = "co-test-key-5f2c9a81"

// receivedJSON decodes the body of the latest request the fake received.
func receivedJSON(t *testing.T, u *providertest.Fake) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(u.Last(t).Body, &m); err != nil {
		t.Fatalf("upstream body is not JSON: %v", err)
	}
	return m
}

// checkAuth fails unless the latest request the fake received carried the key.
func checkAuth(t *testing.T, u *providertest.Fake) {
	t.Helper()
	if got := u.Last(t).Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization received = %q, want the bearer key", got)
	}
}

// call is the method and path of the latest request the fake received.
func call(t *testing.T, u *providertest.Fake) string {
	t.Helper()
	r := u.Last(t)
	return r.Method + " " + r.Path
}

func newTestProvider(t *testing.T, u *providertest.Fake) *Provider {
	t.Helper()
	p, err := New(provider.Config{Name: "cohere-test", Kind: "cohere", BaseURL: u.URL + "/", APIKey: testKey},
		provider.Deps{HTTP: u.Client()})
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return fixedNow }
	return p
}

func clientRequest(t testing.TB, raw string) *provider.ChatRequest {
	t.Helper()
	return &provider.ChatRequest{Model: testModel, Body: decodeChatRequest(t, []byte(raw)), Raw: []byte(raw)}
}

const helloRequest = `{"model":"command-a","messages":[{"role":"user","content":"What is Coca-Cola?"}]}`

// text joins the content deltas of chunks.
func text(t *testing.T, chunks []provider.Chunk) string {
	t.Helper()
	var sb strings.Builder
	for _, c := range chunks {
		var v openai.ChatCompletionChunk
		if err := json.Unmarshal(c.Data, &v); err != nil {
			t.Fatal(err)
		}
		for _, ch := range v.Choices {
			if ch.Delta.Content != nil {
				sb.WriteString(*ch.Delta.Content)
			}
		}
	}
	return sb.String()
}

func TestChatSendsTheKeyAndTranslatesTheAnswer(t *testing.T) {
	u := providertest.NewFake(t, providertest.ServeFile(t, "testdata/chat_response_text.json", "application/json"))
	p := newTestProvider(t, u)
	resp, err := p.Chat(t.Context(), clientRequest(t, helloRequest))
	if err != nil {
		t.Fatal(err)
	}
	checkAuth(t, u)
	if got := call(t, u); got != "POST /v2/chat" {
		t.Errorf("request = %s, want POST /v2/chat", got)
	}
	if body := receivedJSON(t, u); body["stream"] != nil || body["model"] != testModel {
		t.Errorf("upstream body = %v, want the upstream model and no stream flag", body)
	}
	want := openai.Usage{PromptTokens: 71, CompletionTokens: 18, TotalTokens: 89}
	if resp.Usage != want {
		t.Errorf("usage = %+v, want %+v", resp.Usage, want)
	}
	providertest.CheckGolden(t, "testdata/chat_response_text.golden.json", resp.Body)
}

func TestChatStreamDeliversEveryChunkThenTheUsageChunk(t *testing.T) {
	u := providertest.NewFake(t, providertest.ServeFile(t, "testdata/stream_text.sse", "text/event-stream"))
	p := newTestProvider(t, u)
	s, err := p.ChatStream(t.Context(), clientRequest(t, helloRequest))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks, err := providertest.Drain(t, s)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	checkAuth(t, u)
	if body := receivedJSON(t, u); body["stream"] != true {
		t.Errorf("upstream body stream = %v, want true", body["stream"])
	}
	if got := text(t, chunks); got != "Coca-Cola is a soft drink." {
		t.Errorf("text = %q", got)
	}
	last := chunks[len(chunks)-1]
	want := openai.Usage{PromptTokens: 186, CompletionTokens: 7, TotalTokens: 193}
	if last.Usage == nil || *last.Usage != want {
		t.Errorf("last chunk usage = %v, want %+v", last.Usage, want)
	}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the end = %v, want io.EOF again", err)
	}
}

func TestChatStreamThatBreaksIsARetryableError(t *testing.T) {
	full := providertest.ReadFile(t, "testdata/stream_text.sse")
	beforeEnd := full[:bytes.Index(full, []byte("event: message-end"))]
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"a connection cut mid-way is reported, not taken for the end", providertest.Cut(providertest.SSE(string(beforeEnd[:len(beforeEnd)-40])))},
		{"a body that ends cleanly without message-end is reported", providertest.SSE(string(beforeEnd))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t, providertest.NewFake(t, tt.handler))
			s, err := p.ChatStream(t.Context(), clientRequest(t, helloRequest))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			chunks, err := providertest.Drain(t, s)
			if errors.Is(err, io.EOF) {
				t.Fatal("a broken stream ended with io.EOF")
			}
			var oe *openai.Error
			if !errors.As(err, &oe) || !oe.Retryable || oe.HTTPStatus() != http.StatusBadGateway {
				t.Fatalf("error = %#v, want a retryable 502", err)
			}
			if !strings.HasPrefix(text(t, chunks), "Coca") {
				t.Errorf("the text before the break was not delivered: %q", text(t, chunks))
			}
			for _, c := range chunks {
				if c.Usage != nil {
					t.Error("a broken stream delivered a usage chunk")
				}
			}
		})
	}
}

func TestChatStreamEndingWithErrorIsARetryableError(t *testing.T) {
	u := providertest.NewFake(t, providertest.SSE("event: message-start\ndata: {\"id\":\"x\",\"type\":\"message-start\"}\n\n"+
		"event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"ERROR\",\"error\":\"model overloaded for "+testKey+"\"}}\n\n"))
	s, err := newTestProvider(t, u).ChatStream(t.Context(), clientRequest(t, helloRequest))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = providertest.Drain(t, s)
	var oe *openai.Error
	if !errors.As(err, &oe) || !oe.Retryable || !strings.Contains(oe.Message, "model overloaded") {
		t.Fatalf("error = %v, want a retryable error carrying Cohere's message", err)
	}
	if strings.Contains(oe.Message, testKey) {
		t.Errorf("the error echoes the key: %s", oe.Message)
	}
}

func TestUpstreamErrorsMapToGatewayErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		header        map[string]string
		body          string
		wantStatus    int
		wantRetryable bool
		wantMessage   string
		wantRetry     time.Duration
	}{
		{name: "a JSON 400 keeps its status and Cohere's message", status: 400,
			body:       `{"id":"4a4e3d36","message":"invalid request: message must be at least 1 token long or tool results must be specified."}`,
			wantStatus: 400, wantMessage: "message must be at least 1 token long"},
		{name: "a 400 that echoes the key has the key removed", status: 400,
			body:       `{"message":"invalid parameter near ` + testKey + `"}`,
			wantStatus: 400, wantMessage: "invalid parameter near [REDACTED]"},
		{name: "a refused key becomes a 502 that names the provider", status: 401,
			body:       `{"message":"invalid api token ` + testKey + `"}`,
			wantStatus: 502, wantRetryable: true, wantMessage: "cohere-test refused the gateway's credentials"},
		{name: "a 429 stays 429 and keeps Retry-After", status: 429, header: map[string]string{"Retry-After": "7"},
			body:       `{"message":"You are using a Trial key, which is limited to 10 API calls / minute."}`,
			wantStatus: 429, wantRetryable: true, wantMessage: "limited to 10 API calls", wantRetry: 7 * time.Second},
		{name: "a 500 becomes a retryable 502", status: 500,
			body:       `{"message":"internal server error, this has been reported to our developers"}`,
			wantStatus: 502, wantRetryable: true, wantMessage: "internal server error"},
		{name: "a plain-text 503 becomes a retryable 502 carrying the text", status: 503,
			header:     map[string]string{"Content-Type": "text/plain"},
			body:       "upstream connect error or disconnect/reset before headers",
			wantStatus: 502, wantRetryable: true, wantMessage: "upstream connect error"},
	}
	calls := []struct {
		name string
		call func(context.Context, *Provider) error
	}{
		{"Chat", func(ctx context.Context, p *Provider) error {
			_, err := p.Chat(ctx, clientRequest(t, helloRequest))
			return err
		}},
		{"ChatStream", func(ctx context.Context, p *Provider) error {
			s, err := p.ChatStream(ctx, clientRequest(t, helloRequest))
			if s != nil {
				s.Close()
			}
			return err
		}},
		{"Embeddings", func(ctx context.Context, p *Provider) error {
			_, err := p.Embeddings(ctx, &provider.EmbeddingsRequest{Model: "embed-v4.0",
				Body: &openai.EmbeddingsRequest{Input: json.RawMessage(`"hello"`)}})
			return err
		}},
	}
	for _, tt := range tests {
		for _, c := range calls {
			t.Run(tt.name+" ("+c.name+")", func(t *testing.T) {
				u := providertest.NewFake(t, providertest.Respond(tt.status, tt.header, tt.body))
				err := c.call(t.Context(), newTestProvider(t, u))
				checkAuth(t, u)
				var oe *openai.Error
				if !errors.As(err, &oe) {
					t.Fatalf("error = %v, want *openai.Error", err)
				}
				if oe.HTTPStatus() != tt.wantStatus || oe.Retryable != tt.wantRetryable {
					t.Errorf("status %d retryable %v, want %d %v", oe.HTTPStatus(), oe.Retryable, tt.wantStatus, tt.wantRetryable)
				}
				if !strings.Contains(oe.Message, tt.wantMessage) {
					t.Errorf("message %q does not contain %q", oe.Message, tt.wantMessage)
				}
				if oe.RetryAfter != tt.wantRetry {
					t.Errorf("RetryAfter = %v, want %v", oe.RetryAfter, tt.wantRetry)
				}
				if strings.Contains(oe.Message, testKey) || strings.Contains(err.Error(), testKey) || strings.Contains(string(oe.JSON()), testKey) {
					t.Errorf("the error echoes the key: %s", oe.Message)
				}
			})
		}
	}
}

func TestEmbeddingsRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		format string
	}{
		{"float vectors come back as JSON numbers", ""},
		{"base64 vectors come back as little-endian float32 bytes", "base64"},
	}
	want := [][]float64{{0.016296387, -0.008354187, -0.04699707, -0.07104492}, {-0.0006942749, 0.02027893, -0.02760315, 0.04800415}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := providertest.NewFake(t, providertest.ServeFile(t, "testdata/embed_response.json", "application/json"))
			p := newTestProvider(t, u)
			resp, err := p.Embeddings(t.Context(), &provider.EmbeddingsRequest{Model: "embed-v4.0", Body: &openai.EmbeddingsRequest{
				Model: "my-embedder", Input: json.RawMessage(`["hello","goodbye"]`), Dimensions: openai.Ptr(4), EncodingFormat: tt.format}})
			if err != nil {
				t.Fatal(err)
			}
			checkAuth(t, u)
			if got := call(t, u); got != "POST /v2/embed" {
				t.Errorf("request = %s, want POST /v2/embed", got)
			}
			sent := providertest.NormalizeJSON(t, u.Last(t).Body)
			wantSent := providertest.NormalizeJSON(t, []byte(`{"model":"embed-v4.0","texts":["hello","goodbye"],"input_type":"search_document","embedding_types":["float"],"output_dimension":4}`))
			if !bytes.Equal(sent, wantSent) {
				t.Errorf("upstream body:\n%s\nwant:\n%s", sent, wantSent)
			}
			if resp.Usage.PromptTokens != 2 || resp.Usage.TotalTokens != 2 {
				t.Errorf("usage = %+v, want 2 prompt tokens", resp.Usage)
			}
			var out struct {
				Object string `json:"object"`
				Model  string `json:"model"`
				Data   []struct {
					Index     int             `json:"index"`
					Embedding json.RawMessage `json:"embedding"`
				} `json:"data"`
			}
			if err := json.Unmarshal(resp.Body, &out); err != nil {
				t.Fatal(err)
			}
			if out.Object != "list" || out.Model != "embed-v4.0" || len(out.Data) != 2 {
				t.Fatalf("answer = %s", resp.Body)
			}
			for i, d := range out.Data {
				got := decodeVector(t, d.Embedding, tt.format)
				if d.Index != i || len(got) != len(want[i]) {
					t.Fatalf("data[%d] = index %d, %d values", i, d.Index, len(got))
				}
				for j := range got {
					if math.Abs(got[j]-want[i][j]) > 1e-6 {
						t.Errorf("data[%d][%d] = %v, want %v", i, j, got[j], want[i][j])
					}
				}
			}
		})
	}
}

func decodeVector(t *testing.T, raw json.RawMessage, format string) []float64 {
	t.Helper()
	if format != "base64" {
		var v []float64
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("embedding is not a base64 string: %s", raw)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%4 != 0 {
		t.Fatalf("bad base64 embedding %q: %v", s, err)
	}
	v := make([]float64, len(b)/4)
	for i := range v {
		v[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return v
}

func TestRequestsCohereCannotServeAreRefusedBeforeTheUpstream(t *testing.T) {
	tests := []struct {
		name      string
		call      func(context.Context, *Provider) error
		wantParam string
	}{
		{"more than one choice is refused", func(ctx context.Context, p *Provider) error {
			_, err := p.Chat(ctx, clientRequest(t, `{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`))
			return err
		}, "n"},
		{"more than one choice is refused on a stream too", func(ctx context.Context, p *Provider) error {
			_, err := p.ChatStream(ctx, clientRequest(t, `{"model":"m","n":3,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
			return err
		}, "n"},
		{"token-array embeddings input is refused", func(ctx context.Context, p *Provider) error {
			_, err := p.Embeddings(ctx, &provider.EmbeddingsRequest{Model: "embed-v4.0",
				Body: &openai.EmbeddingsRequest{Input: json.RawMessage(`[[15339, 1917]]`)}})
			return err
		}, "input"},
		{"a single token array is refused", func(ctx context.Context, p *Provider) error {
			_, err := p.Embeddings(ctx, &provider.EmbeddingsRequest{Model: "embed-v4.0",
				Body: &openai.EmbeddingsRequest{Input: json.RawMessage(`[15339, 1917]`)}})
			return err
		}, "input"},
		{"an audio part is refused", func(ctx context.Context, p *Provider) error {
			_, err := p.Chat(ctx, clientRequest(t, `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`))
			return err
		}, "messages[0].content[0].type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {})
			err := tt.call(t.Context(), newTestProvider(t, u))
			var oe *openai.Error
			if !errors.As(err, &oe) || oe.HTTPStatus() != http.StatusBadRequest || oe.Param != tt.wantParam {
				t.Fatalf("error = %#v, want a 400 on %s", err, tt.wantParam)
			}
			if n := len(u.Requests()); n != 0 {
				t.Errorf("the upstream was called %d times", n)
			}
		})
	}
}

func TestNewRejectsABaseURLThatIsNotHTTP(t *testing.T) {
	if _, err := New(provider.Config{Name: "c", BaseURL: "ftp://example.com"}, provider.Deps{}); err == nil {
		t.Error("New accepted an ftp base URL")
	}
	p, err := New(provider.Config{}, provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if p.base != DefaultBaseURL || p.Name() != "cohere" || p.Kind() != "cohere" {
		t.Errorf("defaults = %q %q %q", p.base, p.Name(), p.Kind())
	}
}

// batchingCohere is a fake /v2/embed that refuses more than 96 texts, as
// Cohere does, and embeds each text "t<i>" as the vector [i], billing one
// token a text. failCall (1-based; 0 for none) answers 500 instead.
func batchingCohere(t *testing.T, failCall int) *providertest.Fake {
	t.Helper()
	var calls int
	return providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		var req embedRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("embed body: %v", err)
		}
		if len(req.Texts) > 96 {
			providertest.JSON(400, `{"message":"invalid request: total number of texts must be at most 96"}`)(w, r)
			return
		}
		if calls == failCall {
			providertest.JSON(500, `{"message":"internal error"}`)(w, r)
			return
		}
		vectors := make([][]float64, len(req.Texts))
		for i, text := range req.Texts {
			var n float64
			if _, err := fmt.Sscanf(text, "t%g", &n); err != nil {
				t.Errorf("text %q: %v", text, err)
			}
			vectors[i] = []float64{n}
		}
		b, _ := json.Marshal(map[string]any{"embeddings": map[string]any{"float": vectors},
			"meta": map[string]any{"billed_units": map[string]any{"input_tokens": len(req.Texts)}}})
		providertest.JSON(200, string(b))(w, r)
	})
}

func embedInputs(n int) json.RawMessage {
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("t%d", i)
	}
	b, _ := json.Marshal(texts)
	return b
}

func TestEmbeddingsOver96InputsAreBatchedAndReassembledInOrder(t *testing.T) {
	for _, tt := range []struct {
		inputs    int
		wantSizes []int
	}{
		{1, []int{1}},
		{96, []int{96}},
		{97, []int{96, 1}},
		{250, []int{96, 96, 58}},
	} {
		t.Run(fmt.Sprintf("%d inputs", tt.inputs), func(t *testing.T) {
			u := batchingCohere(t, 0)
			p := newTestProvider(t, u)
			resp, err := p.Embeddings(t.Context(), &provider.EmbeddingsRequest{Model: "embed-v4.0",
				Body: &openai.EmbeddingsRequest{Model: "embed-v4.0", Input: embedInputs(tt.inputs), Dimensions: openai.Ptr(8)}})
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for _, r := range u.Requests() {
				var req embedRequest
				if err := json.Unmarshal(r.Body, &req); err != nil {
					t.Fatal(err)
				}
				if req.Model != "embed-v4.0" || req.InputType != embedInputType || req.OutputDimension == nil || *req.OutputDimension != 8 {
					t.Errorf("batch lost its parameters: %s", r.Body)
				}
				sizes = append(sizes, len(req.Texts))
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tt.wantSizes) {
				t.Errorf("batch sizes = %v, want %v", sizes, tt.wantSizes)
			}
			var out struct {
				Data []struct {
					Index     int       `json:"index"`
					Embedding []float64 `json:"embedding"`
				} `json:"data"`
				Usage embedUsage `json:"usage"`
			}
			if err := json.Unmarshal(resp.Body, &out); err != nil {
				t.Fatal(err)
			}
			if len(out.Data) != tt.inputs {
				t.Fatalf("%d embeddings for %d inputs", len(out.Data), tt.inputs)
			}
			for i, d := range out.Data {
				if d.Index != i || len(d.Embedding) != 1 || d.Embedding[0] != float64(i) {
					t.Fatalf("data[%d] = index %d vector %v, want index %d vector [%d]", i, d.Index, d.Embedding, i, i)
				}
			}
			if out.Usage.PromptTokens != tt.inputs || out.Usage.TotalTokens != tt.inputs ||
				resp.Usage.PromptTokens != tt.inputs || resp.Usage.TotalTokens != tt.inputs {
				t.Errorf("usage = %+v (reported %+v), want the %d billed tokens of all batches summed", out.Usage, resp.Usage, tt.inputs)
			}
		})
	}
}

func TestAFailedEmbeddingsBatchFailsTheRequestAndStopsThere(t *testing.T) {
	u := batchingCohere(t, 2)
	p := newTestProvider(t, u)
	_, err := p.Embeddings(t.Context(), &provider.EmbeddingsRequest{Model: "embed-v4.0",
		Body: &openai.EmbeddingsRequest{Input: embedInputs(250)}})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.HTTPStatus() != http.StatusBadGateway || !oe.Retryable {
		t.Fatalf("err = %v, want the second batch's retryable 502", err)
	}
	if n := len(u.Requests()); n != 2 {
		t.Errorf("%d calls, want 2: nothing is sent after a failed batch", n)
	}
}
