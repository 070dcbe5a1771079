package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

func TestOpenAIRequestsTranslateToTheGoldenGeminiRequests(t *testing.T) {
	for _, in := range globCases(t, "requests", ".openai.json") {
		name := strings.TrimSuffix(filepath.Base(in), ".openai.json")
		t.Run(name, func(t *testing.T) {
			var req openai.ChatRequest
			if err := json.Unmarshal(readFile(t, in), &req); err != nil {
				t.Fatal(err)
			}
			gr, err := translateRequest(&req)
			if err != nil {
				t.Fatalf("translateRequest: %v", err)
			}
			got, _ := json.Marshal(gr)
			assertGolden(t, strings.TrimSuffix(in, ".openai.json")+".gemini.golden.json", got)
		})
	}
}

func TestGeminiResponsesTranslateToTheGoldenOpenAIResponses(t *testing.T) {
	for _, in := range globCases(t, "responses", ".gemini.json") {
		name := strings.TrimSuffix(filepath.Base(in), ".gemini.json")
		t.Run(name, func(t *testing.T) {
			p := newTestProvider(t, provider.Config{Kind: KindGemini})
			var r generateResponse
			if err := json.Unmarshal(readFile(t, in), &r); err != nil {
				t.Fatal(err)
			}
			cc, err := p.completion(&r, "gemini-test", "chatcmpl-test", 1700000000)
			if err != nil {
				t.Fatalf("completion: %v", err)
			}
			got, _ := json.Marshal(cc)
			assertGolden(t, strings.TrimSuffix(in, ".gemini.json")+".openai.golden.json", got)
		})
	}
}

func TestGeminiStreamsTranslateToTheGoldenChunksEndingWithOneUsageChunk(t *testing.T) {
	for _, in := range globCases(t, "streams", ".sse") {
		name := strings.TrimSuffix(filepath.Base(in), ".sse")
		t.Run(name, func(t *testing.T) {
			p := newTestProvider(t, provider.Config{Kind: KindGemini})
			chunks, err := drain(streamOver(p, "gemini-test", readFile(t, in)))
			if err != nil {
				t.Fatalf("stream ended with %v, want a clean end", err)
			}
			assertOneUsageChunkLast(t, chunks)
			assertGolden(t, strings.TrimSuffix(in, ".sse")+".chunks.golden.json", chunksJSON(chunks))
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

// drain reads a stream to its end; the error is nil after a clean end.
func drain(s provider.Stream) ([]provider.Chunk, error) {
	defer s.Close()
	var out []provider.Chunk
	for {
		c, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
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
