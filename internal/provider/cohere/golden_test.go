package cohere

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// fixedNow is the clock of every test, so "created" is stable.
var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const testModel = "command-a-03-2025"

func decodeChatRequest(t testing.TB, raw []byte) *openai.ChatRequest {
	t.Helper()
	var r openai.ChatRequest
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestRequestTranslationMatchesGolden(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
	}{
		{"a system prompt, sampling parameters and a JSON schema map onto Cohere's fields", "chat_request_system"},
		{"tools, an assistant tool call turn and tool results map onto Cohere's tool messages", "chat_request_tools"},
		{"text and image parts of a user message become Cohere content parts", "chat_request_image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decodeChatRequest(t, providertest.ReadFile(t, "testdata/"+tt.fixture+".json"))
			cr, err := translateRequest(testModel, in)
			if err != nil {
				t.Fatalf("translateRequest: %v", err)
			}
			b, merr := provider.Marshal(cr)
			if merr != nil {
				t.Fatal(merr)
			}
			providertest.CheckGolden(t, "testdata/"+tt.fixture+".golden.json", b)
		})
	}
}

func TestResponseTranslationMatchesGolden(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
	}{
		{"a text answer becomes a chat.completion with the model's token counts", "chat_response_text"},
		{"a tool-calling answer becomes tool_calls with the plan as content and billed units as usage", "chat_response_tool_call"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := translateResponse("cohere", testModel, providertest.ReadFile(t, "testdata/"+tt.fixture+".json"), fixedNow.Unix())
			if err != nil {
				t.Fatal(err)
			}
			providertest.CheckGolden(t, "testdata/"+tt.fixture+".golden.json", out)
		})
	}
}

// runStream feeds an SSE body through the shared SSEStream and the
// translator, returning every chunk and the error that ended the stream. It
// uses context.Background, not t.Context: t.Context inside fuzz workers
// stalled the fuzzer.
func runStream(t testing.TB, body []byte) ([]provider.Chunk, error) {
	t.Helper()
	tr := newStreamTranslator(provider.Upstream{Name: "cohere"}, testModel, fixedNow.Unix())
	s := provider.NewSSEStream(context.Background(), "cohere", io.NopCloser(bytes.NewReader(body)), tr.translate)
	defer s.Close()
	return providertest.Drain(t, s)
}

func TestStreamTranslationMatchesGolden(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
	}{
		{"a text stream becomes role, text, finish and usage chunks", "stream_text"},
		{"a tool-calling stream becomes the plan as text and two tool calls indexed 0 and 1", "stream_tool_calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := runStream(t, providertest.ReadFile(t, "testdata/"+tt.fixture+".sse"))
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			if len(chunks) == 0 || chunks[len(chunks)-1].Usage == nil {
				t.Fatal("the stream did not end with the usage chunk")
			}
			for _, c := range chunks[:len(chunks)-1] {
				if c.Usage != nil {
					t.Errorf("usage set on a chunk before the last: %s", c.Data)
				}
			}
			parts := make([]string, len(chunks))
			for i, c := range chunks {
				parts[i] = string(c.Data)
			}
			providertest.CheckGolden(t, "testdata/"+tt.fixture+".golden.json", []byte("["+strings.Join(parts, ",")+"]"))
		})
	}
}

func TestEmbeddingsResponseMatchesGolden(t *testing.T) {
	out, u, err := translateEmbedResponse("cohere", "embed-v4.0", 2, "float", providertest.ReadFile(t, "testdata/embed_response.json"))
	if err != nil {
		t.Fatal(err)
	}
	if u.PromptTokens != 2 || u.TotalTokens != 2 {
		t.Errorf("usage = %+v, want 2 prompt tokens from meta.billed_units", u)
	}
	providertest.CheckGolden(t, "testdata/embed_response.golden.json", out)
}
