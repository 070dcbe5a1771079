package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

func TestOpenAIRequestsTranslateToTheGoldenGeminiRequests(t *testing.T) {
	for _, in := range providertest.Fixtures(t, "requests", ".openai.json") {
		name := strings.TrimSuffix(filepath.Base(in), ".openai.json")
		t.Run(name, func(t *testing.T) {
			var req openai.ChatRequest
			if err := json.Unmarshal(providertest.ReadFile(t, in), &req); err != nil {
				t.Fatal(err)
			}
			gr, err := translateRequest("", &req)
			if err != nil {
				t.Fatalf("translateRequest: %v", err)
			}
			got, _ := json.Marshal(gr)
			providertest.CheckGolden(t, strings.TrimSuffix(in, ".openai.json")+".gemini.golden.json", got)
		})
	}
}

func TestGeminiResponsesTranslateToTheGoldenOpenAIResponses(t *testing.T) {
	for _, in := range providertest.Fixtures(t, "responses", ".gemini.json") {
		name := strings.TrimSuffix(filepath.Base(in), ".gemini.json")
		t.Run(name, func(t *testing.T) {
			p := newTestProvider(t, provider.Config{Kind: KindGemini})
			var r generateResponse
			if err := json.Unmarshal(providertest.ReadFile(t, in), &r); err != nil {
				t.Fatal(err)
			}
			cc, err := p.completion(&r, "gemini-test", "chatcmpl-test", 1700000000)
			if err != nil {
				t.Fatalf("completion: %v", err)
			}
			got, _ := json.Marshal(cc)
			providertest.CheckGolden(t, strings.TrimSuffix(in, ".gemini.json")+".openai.golden.json", got)
		})
	}
}

func TestGeminiStreamsTranslateToTheGoldenChunksEndingWithOneUsageChunk(t *testing.T) {
	for _, in := range providertest.Fixtures(t, "streams", ".sse") {
		name := strings.TrimSuffix(filepath.Base(in), ".sse")
		t.Run(name, func(t *testing.T) {
			p := newTestProvider(t, provider.Config{Kind: KindGemini})
			s := streamOver(p, "gemini-test", providertest.ReadFile(t, in))
			defer s.Close()
			chunks, err := providertest.Drain(t, s)
			if err != io.EOF {
				t.Fatalf("stream ended with %v, want a clean end", err)
			}
			assertOneUsageChunkLast(t, chunks)
			providertest.CheckGolden(t, strings.TrimSuffix(in, ".sse")+".chunks.golden.json", chunksJSON(chunks))
		})
	}
}

// streamOver runs the stream translation over a captured body.
func streamOver(p *Provider, model string, body []byte) provider.Stream {
	t := p.newTranslator(model)
	inner := provider.NewSSEStream(context.Background(), p.Name(), io.NopCloser(bytes.NewReader(body)), t.translate)
	inner.EndWithoutMarkerIsClean = true
	return &stream{inner: inner, t: t}
}

func chunksJSON(chunks []provider.Chunk) []byte {
	raws := make([]json.RawMessage, len(chunks))
	for i, c := range chunks {
		raws[i] = c.Data
	}
	b, _ := json.Marshal(raws)
	return b
}

func assertOneUsageChunkLast(t *testing.T, chunks []provider.Chunk) {
	t.Helper()
	n := 0
	for _, c := range chunks {
		if c.Usage != nil {
			n++
		}
	}
	if n != 1 || len(chunks) == 0 || chunks[len(chunks)-1].Usage == nil {
		t.Fatalf("got %d usage chunks (last is usage: %v), want exactly one, last", n, len(chunks) > 0 && chunks[len(chunks)-1].Usage != nil)
	}
}
