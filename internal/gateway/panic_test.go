package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/provider"
)

// panicky wraps a provider whose stream panics after its first chunk.
type panicky struct{ provider.Provider }

func (p panicky) ChatStream(ctx context.Context, req *provider.ChatRequest) (provider.Stream, error) {
	return &panicStream{}, nil
}

type panicStream struct{ n int }

func (s *panicStream) Next() (provider.Chunk, error) {
	s.n++
	if s.n == 1 {
		return provider.Chunk{Data: []byte(`{"id":"p","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}`)}, nil
	}
	panic("provider bug")
}

func (s *panicStream) Close() error { return nil }

func TestAPanicMidStreamEndsTheStreamWithAnErrorEventAndDone(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, logs := newGateway(t, twoProviders, a, a)
	for _, tg := range g.Router.Targets() {
		tg.Provider = panicky{tg.Provider}
	}
	rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"only-a","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	ev := sseEvents(t, rec.Body.String())
	if len(ev) != 3 || !strings.Contains(ev[0], `"hi"`) || !strings.Contains(ev[1], `"internal error"`) || ev[2] != "[DONE]" {
		t.Fatalf("events %q", ev)
	}
	if !strings.Contains(logs.String(), `"msg":"panic"`) || strings.Contains(rec.Body.String(), "provider bug") {
		t.Fatalf("the panic was not logged, or its text reached the client: %s", logs)
	}
}
