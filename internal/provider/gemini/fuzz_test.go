package gemini

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
	"github.com/aigateway/gateway/internal/sse"
)

// FuzzResponseDecoder feeds arbitrary upstream answers through the decoding
// and translation of a non-stream response: it must answer or fail with an
// *openai.Error, never panic, and what it answers must be valid JSON.
func FuzzResponseDecoder(f *testing.F) {
	providertest.AddSeeds(f, "responses/*.gemini.json")
	f.Add([]byte(`{"promptFeedback":{"blockReason":"OTHER"}}`))
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":null}}]}}]}`))
	f.Add([]byte(`{"candidates":[{"index":-5,"content":null}]}`))
	f.Add([]byte(`[{"error":{"code":500}}]`))
	p := newTestProvider(f, provider.Config{Kind: KindGemini})
	f.Fuzz(func(t *testing.T, body []byte) {
		var r generateResponse
		if json.Unmarshal(body, &r) != nil {
			return
		}
		cc, err := p.completion(&r, "m", "id", 1)
		if err != nil {
			var oe *openai.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is not an *openai.Error", err)
			}
			return
		}
		out, err := json.Marshal(cc)
		if err != nil || !json.Valid(out) {
			t.Fatalf("answer does not encode: %v", err)
		}
		for _, c := range cc.Choices {
			for _, tc := range c.Message.ToolCalls {
				if !json.Valid([]byte(tc.Function.Arguments)) {
					t.Fatalf("arguments %q are not JSON", tc.Function.Arguments)
				}
			}
		}
	})
}

// FuzzStreamEventTranslator feeds arbitrary event data (twice, as two events)
// through the stream translator and the end-of-stream check: no panic, only
// *openai.Error failures, valid JSON chunks, and a clean end always closed by
// exactly one usage chunk.
func FuzzStreamEventTranslator(f *testing.F) {
	providertest.AddSeeds(f, "responses/*.gemini.json")
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"text":"a"}]},"index":3,"finishReason":"STOP"}]}`))
	f.Add([]byte(`{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}`))
	f.Add([]byte(`{"usageMetadata":{"promptTokenCount":-1}}`))
	f.Add([]byte(`not json`))
	p := newTestProvider(f, provider.Config{Kind: KindGemini})
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := p.newTranslator("m")
		for range 2 {
			chunks, done, err := tr.translate(sse.Event{Data: data})
			if done {
				t.Fatal("the translator reported an end marker; Gemini has none")
			}
			if err != nil {
				var oe *openai.Error
				if !errors.As(err, &oe) {
					t.Fatalf("error %v is not an *openai.Error", err)
				}
				return
			}
			for _, c := range chunks {
				if !json.Valid(c.Data) || c.Usage != nil {
					t.Fatalf("bad chunk %s", c.Data)
				}
			}
		}
		s := &stream{inner: provider.NewSSEStream(t.Context(), "g", io.NopCloser(emptyReader{}), tr.translate), t: tr}
		s.inner.EndWithoutMarkerIsClean = true
		c, err := s.Next()
		if tr.complete() {
			if err != nil || c.Usage == nil {
				t.Fatalf("a complete stream ended with %v, usage %v", err, c.Usage)
			}
			if _, err := s.Next(); !errors.Is(err, io.EOF) {
				t.Fatalf("after the usage chunk: %v, want io.EOF", err)
			}
		} else if err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("an incomplete stream ended with %v, want a cut error", err)
		}
	})
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, io.EOF }

// FuzzRequestTranslation feeds arbitrary client bodies through the request
// translation: it must produce JSON or a 400, never panic.
func FuzzRequestTranslation(f *testing.F) {
	providertest.AddSeeds(f, "requests/*.openai.json")
	f.Add([]byte(`{"messages":[{"role":"tool","content":"x"}]}`))
	f.Add([]byte(`{"messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":[1,null],"anyOf":5}}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r openai.ChatRequest
		if json.Unmarshal(body, &r) != nil {
			return
		}
		gr, err := translateRequest("", &r)
		if err != nil {
			var oe *openai.Error
			if !errors.As(err, &oe) || oe.HTTPStatus() != 400 {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if _, err := json.Marshal(gr); err != nil {
			t.Fatalf("request does not encode: %v", err)
		}
	})
}
