package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedNow is the clock of every golden test, so "created" is stable.
var fixedNow = time.Unix(1700000000, 0)

func fixedClock() time.Time { return fixedNow }

// normalizeJSON re-indents b with sorted keys so goldens compare by meaning
// and diff readably.
func normalizeJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkGolden compares got (JSON) with the golden file, or rewrites it
// under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = normalizeJSON(t, got)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden (run with -update to create it): %v", err)
	}
	if want = normalizeJSON(t, want); !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// inputs lists the fixtures of a testdata folder, goldens excluded.
func inputs(t *testing.T, dir, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.json") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	return out
}

func goldenPath(input, ext string) string {
	return strings.TrimSuffix(input, ext) + ".golden.json"
}

func TestOpenAIRequestsTranslateToTheGoldenMessagesRequests(t *testing.T) {
	for _, in := range inputs(t, "requests", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var req openai.ChatRequest
			if err := json.Unmarshal(raw, &req); err != nil {
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
			checkGolden(t, goldenPath(in, ".json"), got)
		})
	}
}

func TestMessagesResponsesTranslateToTheGoldenChatCompletions(t *testing.T) {
	for _, in := range inputs(t, "responses", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, usage, err := translateResponse(provider.Upstream{Name: "anthropic"}, raw, fixedNow.Unix())
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
			checkGolden(t, goldenPath(in, ".json"), got)
		})
	}
}

// goldenChunk is how a stream chunk is written in a golden file.
type goldenChunk struct {
	Usage bool            `json:"usage_chunk"`
	Chunk json.RawMessage `json:"chunk"`
}

func TestMessagesStreamsTranslateToTheGoldenChunks(t *testing.T) {
	for _, in := range inputs(t, "stream", ".sse") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			tr := newStreamTranslator(provider.Upstream{Name: "anthropic"}, "claude-upstream-model", fixedClock)
			s := provider.NewSSEStream(context.Background(), "anthropic", io.NopCloser(bytes.NewReader(raw)), tr.translate)
			var chunks []goldenChunk
			for {
				c, err := s.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next after %d chunks: %v", len(chunks), err)
				}
				chunks = append(chunks, goldenChunk{Usage: c.Usage != nil, Chunk: c.Data})
			}
			if len(chunks) == 0 || !chunks[len(chunks)-1].Usage {
				t.Fatalf("the stream did not end with the usage chunk")
			}
			got, err := json.Marshal(chunks)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, goldenPath(in, ".sse"), got)
		})
	}
}
