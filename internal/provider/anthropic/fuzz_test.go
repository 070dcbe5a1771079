package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// FuzzStreamTranslator feeds arbitrary SSE bodies through the translator: it
// must not panic, a clean end must come after the usage chunk, and failures
// must be gateway errors.
func FuzzStreamTranslator(f *testing.F) {
	providertest.AddSeeds(f, "stream/*.sse")
	f.Add([]byte("data: {\"type\":\"message_stop\"}\n\n"))
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":-1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\n\n"))
	f.Add([]byte("data: {\"type\":\"error\",\"error\":null}\n\n"))
	f.Add([]byte("data: {\"type\":\"message_start\",\"message\":null}\n\ndata: [1,2]\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		tr := newStreamTranslator(provider.Upstream{Name: "anthropic"}, "m", fixedClock)
		s := provider.NewSSEStream(context.Background(), "anthropic", io.NopCloser(bytes.NewReader(body)), tr.translate)
		var last provider.Chunk
		for {
			c, err := s.Next()
			if err == io.EOF {
				if last.Usage == nil {
					t.Fatal("a clean end without the usage chunk last")
				}
				return
			}
			if err != nil {
				var e *openai.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T) is not an *openai.Error", err, err)
				}
				return
			}
			if !json.Valid(c.Data) {
				t.Fatalf("chunk is not JSON: %q", c.Data)
			}
			last = c
		}
	})
}

// FuzzResponseDecoder feeds arbitrary bodies to the response translator: it
// must not panic, and what it returns must be JSON.
func FuzzResponseDecoder(f *testing.F) {
	providertest.AddSeeds(f, "responses/*.json")
	f.Add([]byte(`{"type":"message","content":[{"type":"tool_use","input":null}]}`))
	f.Add([]byte(`{"type":"error","error":null}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, _, err := translateResponse(provider.Upstream{Name: "anthropic"}, body, 0)
		if err != nil {
			var e *openai.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *openai.Error", err, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("output is not JSON: %q", out)
		}
	})
}

// FuzzRequestTranslation feeds arbitrary client requests to the request
// translator: it must not panic, and refusals must be 400s.
func FuzzRequestTranslation(f *testing.F) {
	providertest.AddSeeds(f, "requests/*.json")
	f.Add([]byte(`{"messages":[{"role":"assistant","tool_calls":[{"id":"x","function":{"name":"f","arguments":"null"}}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:;base64,"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req openai.ChatRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		mr, err := translateRequest("m", &req)
		if err != nil {
			var e *openai.Error
			if !errors.As(err, &e) || e.HTTPStatus() != 400 {
				t.Fatalf("refusal %v is not a 400 *openai.Error", err)
			}
			return
		}
		b, err := provider.Marshal(mr)
		if err != nil || !json.Valid(b) {
			t.Fatalf("translated request does not encode: %v", err)
		}
	})
}

// FuzzNativeStream feeds arbitrary bodies through the native frame reader:
// it must not panic, the frames' bytes must be what it read of the body, in
// order and unchanged (no secrets here to redact), a clean end must come
// after message_stop, and failures must be gateway errors.
func FuzzNativeStream(f *testing.F) {
	providertest.AddSeeds(f, "stream/*.sse")
	f.Add([]byte(": hi\r\n\r\nevent: message_stop\r\ndata: {}\r\n\r\n"))
	f.Add([]byte("\n\n\ndata: {\"type\":\"error\",\"error\":{\"message\":\"k\"}}\n\ndata: x"))
	f.Add([]byte("event: message_stop\ndata: {\"type\":\"message_stop\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := &NativeStream{up: provider.Upstream{Name: "anthropic"}, ctx: context.Background(),
			body: io.NopCloser(bytes.NewReader(body))}
		s.br = newFrameReader(s.body)
		var relayed []byte
		stopped := false
		for {
			fr, err := s.Next()
			if err == nil {
				relayed = append(relayed, fr.Raw...)
				stopped = stopped || fr.Event == "message_stop"
				if !bytes.HasPrefix(body, relayed) {
					t.Fatalf("relayed %q of %q", relayed, body)
				}
				continue
			}
			if err == io.EOF {
				if !stopped {
					t.Fatalf("a clean end without message_stop: %q", relayed)
				}
				return
			}
			var e *openai.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *openai.Error", err, err)
			}
			return
		}
	})
}
