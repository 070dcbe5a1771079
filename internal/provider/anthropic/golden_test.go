package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// fixedNow is the clock of every golden test, so "created" is stable.
var fixedNow = time.Unix(1700000000, 0)

func fixedClock() time.Time { return fixedNow }

// goldenPath is the golden file of a fixture: its name with ext replaced.
func goldenPath(input, ext string) string {
	return strings.TrimSuffix(input, ext) + ".golden.json"
}

func TestOpenAIRequestsTranslateToTheGoldenMessagesRequests(t *testing.T) {
	for _, in := range providertest.Fixtures(t, "requests", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var req openai.ChatRequest
			if err := json.Unmarshal(providertest.ReadFile(t, in), &req); err != nil {
				t.Fatal(err)
			}
			mr, err := translateRequest("claude-upstream-model", &req)
			if err != nil {
				t.Fatalf("translateRequest: %v", err)
			}
			got, err := provider.Marshal(mr)
			if err != nil {
				t.Fatal(err)
			}
			providertest.CheckGolden(t, goldenPath(in, ".json"), got)
		})
	}
}

func TestMessagesResponsesTranslateToTheGoldenChatCompletions(t *testing.T) {
	for _, in := range providertest.Fixtures(t, "responses", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			got, usage, err := translateResponse(provider.Upstream{Name: "anthropic"}, providertest.ReadFile(t, in), fixedNow.Unix())
			if err != nil {
				t.Fatalf("translateResponse: %v", err)
			}
			var body openai.ChatCompletion
			if err := json.Unmarshal(got, &body); err != nil {
				t.Fatal(err)
			}
			if u := body.Usage; u == nil || u.PromptTokens != usage.PromptTokens || u.CompletionTokens != usage.CompletionTokens ||
				u.TotalTokens != usage.TotalTokens || u.CachedTokens() != usage.CachedTokens() {
				t.Errorf("returned usage %+v differs from the body's %+v", usage, body.Usage)
			}
			providertest.CheckGolden(t, goldenPath(in, ".json"), got)
		})
	}
}

// goldenChunk is how a stream chunk is written in a golden file.
type goldenChunk struct {
	Usage bool            `json:"usage_chunk"`
	Chunk json.RawMessage `json:"chunk"`
}

func TestMessagesStreamsTranslateToTheGoldenChunks(t *testing.T) {
	for _, in := range providertest.Fixtures(t, "stream", ".sse") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw := providertest.ReadFile(t, in)
			tr := newStreamTranslator(provider.Upstream{Name: "anthropic"}, "claude-upstream-model", fixedClock)
			s := provider.NewSSEStream(context.Background(), "anthropic", io.NopCloser(bytes.NewReader(raw)), tr.translate)
			read, err := providertest.Drain(t, s)
			if err != io.EOF {
				t.Fatalf("Next after %d chunks: %v", len(read), err)
			}
			var chunks []goldenChunk
			for _, c := range read {
				chunks = append(chunks, goldenChunk{Usage: c.Usage != nil, Chunk: c.Data})
			}
			if len(chunks) == 0 || !chunks[len(chunks)-1].Usage {
				t.Fatalf("the stream did not end with the usage chunk")
			}
			got, err := json.Marshal(chunks)
			if err != nil {
				t.Fatal(err)
			}
			providertest.CheckGolden(t, goldenPath(in, ".sse"), got)
		})
	}
}
