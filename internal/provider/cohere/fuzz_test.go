package cohere

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// FuzzTranslateResponse checks that no upstream answer panics the decoder and
// that whatever it accepts is a valid chat.completion.
func FuzzTranslateResponse(f *testing.F) {
	f.Add(providertest.ReadFile(f, "testdata/chat_response_text.json"))
	f.Add(providertest.ReadFile(f, "testdata/chat_response_tool_call.json"))
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"finish_reason":"ERROR"}`,
		`{"message":{"content":"x"}}`, `{"usage":{"tokens":{"input_tokens":1e300,"output_tokens":-5}}}`,
		`{"message":{"tool_calls":[{"function":{}}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, _, err := translateResponse("cohere", testModel, raw, 1)
		if err != nil {
			var oe *openai.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is not an *openai.Error", err)
			}
			return
		}
		var cc openai.ChatCompletion
		if err := json.Unmarshal(out, &cc); err != nil || len(cc.Choices) != 1 {
			t.Fatalf("accepted answer is not a chat.completion: %s", out)
		}
	})
}

// FuzzStreamTranslator checks that no upstream stream panics the translator,
// and that a stream that ends cleanly always ends with the usage chunk.
func FuzzStreamTranslator(f *testing.F) {
	f.Add(providertest.ReadFile(f, "testdata/stream_text.sse"))
	f.Add(providertest.ReadFile(f, "testdata/stream_tool_calls.sse"))
	for _, s := range []string{``, "data: {}\n\n", "data: [DONE]\n\n",
		"event: message-end\ndata: {}\n\n",
		"data: {\"type\":\"tool-call-start\",\"delta\":{\"message\":{\"tool_calls\":[]}}}\n\n",
		"data: {\"type\":\"content-delta\",\"delta\":{\"message\":{\"content\":[]}}}\n\n",
		"data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"ERROR\"}}\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		chunks, err := runStream(t, body)
		if !errors.Is(err, io.EOF) {
			var oe *openai.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is not an *openai.Error", err)
			}
			return
		}
		if len(chunks) == 0 || chunks[len(chunks)-1].Usage == nil {
			t.Fatal("a stream that ended cleanly did not end with the usage chunk")
		}
		for _, c := range chunks {
			if !json.Valid(c.Data) {
				t.Fatalf("chunk is not JSON: %s", c.Data)
			}
		}
	})
}

// FuzzTranslateEmbedResponse checks that no embeddings answer panics the
// decoder.
func FuzzTranslateEmbedResponse(f *testing.F) {
	f.Add(providertest.ReadFile(f, "testdata/embed_response.json"), 2, true)
	f.Add([]byte(`{"embeddings":[[1,2],[3]]}`), 2, false)
	f.Add([]byte(`{"embeddings":{"float":[null]}}`), 1, true)
	f.Fuzz(func(t *testing.T, raw []byte, want int, b64 bool) {
		format := "float"
		if b64 {
			format = "base64"
		}
		out, _, err := translateEmbedResponse("cohere", "embed-v4.0", want, format, raw)
		if err == nil && !json.Valid(out) {
			t.Fatalf("accepted answer is not JSON: %s", out)
		}
	})
}
