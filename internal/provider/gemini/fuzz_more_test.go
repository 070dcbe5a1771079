package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// FuzzEmbeddingsDecoders serves arbitrary embedding answers (AI Studio's
// batchEmbedContents, then Vertex's predict) from a loopback server: the
// answer must be valid JSON or an *openai.Error that does not leak the key.
func FuzzEmbeddingsDecoders(f *testing.F) {
	f.Add([]byte(`{"embeddings":[{"values":[0.1,0.2,0.3]}]}`), false)
	f.Add([]byte(`{"predictions":[{"embeddings":{"values":[1,2],"statistics":{"token_count":4}}}]}`), false)
	f.Add([]byte(`{"embeddings":[{"values":[1e308,-1e308]}]}`), true)
	f.Add([]byte(`{"predictions":[{"embeddings":null}]}`), true)
	f.Add([]byte(`{"embeddings":[]}`), false)
	f.Add([]byte(`[]`), false)
	srv := providertest.NewFuzzFake(f, "application/json")
	providers := []*Provider{
		newTestProvider(f, provider.Config{Kind: KindGemini, BaseURL: srv.URL + "/"}),
		newTestProvider(f, provider.Config{Kind: KindVertex, BaseURL: srv.URL + "/"}),
	}
	f.Fuzz(func(t *testing.T, body []byte, asBase64 bool) {
		srv.SetBody(body)
		raw := `{"model":"client","input":"hello"}`
		if asBase64 {
			raw = `{"model":"client","input":"hello","encoding_format":"base64"}`
		}
		var r openai.EmbeddingsRequest
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatal(err)
		}
		for _, p := range providers {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := p.Embeddings(ctx, &provider.EmbeddingsRequest{Model: "text-embedding-004", Body: &r})
			cancel()
			if err != nil {
				var oe *openai.Error
				if !errors.As(err, &oe) {
					t.Fatalf("%s: error %v (%T) is not an *openai.Error", p.kind, err, err)
				}
				if strings.Contains(oe.Error(), testKey) || strings.Contains(string(oe.JSON()), testKey) {
					t.Fatalf("%s: error leaks the key: %s", p.kind, oe.Error())
				}
				continue
			}
			if !json.Valid(resp.Body) {
				t.Fatalf("%s: answer is not JSON: %s", p.kind, resp.Body)
			}
			if resp.Usage.PromptTokens != resp.Usage.TotalTokens {
				t.Fatalf("%s: usage %+v", p.kind, resp.Usage)
			}
		}
	})
}

// FuzzParseError reads arbitrary error bodies: no panic, a found error is
// non-nil, and the message the upstream mapper extracts is what parseError
// found (or GenericMessage's answer when it found none).
func FuzzParseError(f *testing.F) {
	f.Add([]byte(`{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}`))
	f.Add([]byte(`[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[1]`))
	f.Add([]byte(`{"error":null}`))
	f.Add([]byte(`{"error":"plain"}`))
	f.Add([]byte(`<html>502</html>`))
	p := newTestProvider(f, provider.Config{Kind: KindGemini})
	f.Fuzz(func(t *testing.T, body []byte) {
		e, ok := parseError(body)
		if ok != (e != nil) {
			t.Fatalf("parseError = %v, %v", e, ok)
		}
		u := &upstreamErrors{up: p.up}
		m := u.message(body)
		if ok && m != e.Message {
			t.Fatalf("message %q, want %q", m, e.Message)
		}
		if !ok && m != provider.GenericMessage(body) {
			t.Fatalf("message %q is not GenericMessage's", m)
		}
		if ok {
			if ev := p.errorEvent(e); ev == nil || !json.Valid(ev.JSON()) {
				t.Fatalf("errorEvent does not encode: %v", ev)
			}
		}
	})
}
