package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/provider"
)

// panickyNative is a provider serving the Responses API natively whose
// stream panics after its first two events.
type panickyNative struct{ provider.Provider }

func (panickyNative) ServesResponses() bool { return true }

func (panickyNative) Responses(context.Context, *provider.RawRequest) (*provider.Response, error) {
	return nil, errors.New("not used")
}

func (panickyNative) ResponsesStream(context.Context, *provider.RawRequest) (provider.Stream, error) {
	return &panicNativeStream{}, nil
}

type panicNativeStream struct{ n int }

func (s *panicNativeStream) Next() (provider.Chunk, error) {
	s.n++
	switch s.n {
	case 1:
		return provider.Chunk{Data: []byte(`{"type":"response.created","sequence_number":0,"response":` + upstreamResponse("in_progress", "") + `}`)}, nil
	case 2:
		return provider.Chunk{Data: []byte(`{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_up","type":"message","status":"in_progress","role":"assistant","content":[]}}`)}, nil
	}
	panic("provider bug")
}

func (s *panicNativeStream) Close() error { return nil }

// A panic inside a Responses stream ends it the Responses way: an error event
// and response.failed, numbered on from the last event, never chat's error
// chunk and [DONE].
func TestAPanicMidResponsesStreamEndsItWithErrorAndResponseFailed(t *testing.T) {
	for _, tc := range []struct {
		name, toml, model, want string
		wrap                    func(provider.Provider) provider.Provider
	}{
		{"translated", twoProviders, "only-a",
			"response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta error response.failed",
			func(p provider.Provider) provider.Provider { return panicky{p} }},
		{"native", nativeProviders, "smart",
			"response.created response.output_item.added error response.failed",
			func(p provider.Provider) provider.Provider { return panickyNative{p} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newUpstream(t, okChat("a"))
			g, logs := newGateway(t, tc.toml, a, a)
			for _, tg := range g.Router.Targets() {
				tg.Provider = tc.wrap(tg.Provider)
			}
			rec := do(t, g, "POST", "/v1/responses", `{"model":"`+tc.model+`","stream":true,"input":"x"}`)
			body := rec.Body.String()
			if strings.Contains(body, "[DONE]") || strings.Contains(body, "data: {\"error\"") || strings.Contains(body, "provider bug") {
				t.Fatalf("chat-style ending or the panic's text:\n%s", body)
			}
			evs := respEvents(t, body)
			checkNumbered(t, evs)
			if got := eventTypes(evs); got != tc.want {
				t.Fatalf("events %s\nwant   %s\n%s", got, tc.want, body)
			}
			last := evs[len(evs)-1].Response
			if last.Status != "failed" || last.Error == nil || last.Error.Code != "server_error" || !strings.HasPrefix(last.ID, "resp_") || last.ID == "resp_upstream" {
				t.Fatalf("response.failed carries %+v", last)
			}
			if !strings.Contains(logs.String(), `"msg":"panic"`) {
				t.Errorf("the panic was not logged: %s", logs)
			}
		})
	}
}
