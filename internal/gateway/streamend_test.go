package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// stallAfterFirstChunk streams one chat chunk and then nothing until the
// gateway gives up on it.
func stallAfterFirstChunk(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"par\"},\"finish_reason\":null}]}\n\n")
	w.(http.Flusher).Flush()
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// A stream whose request runs out of time (on Lambda: the invocation's
// deadline less a margin) is not a client that left: it ends with the
// gateway's timeout error in the endpoint's shape, and the log line says so.
func TestAStreamThatRunsOutOfTimeEndsWithTheGatewaysTimeoutError(t *testing.T) {
	for _, tc := range []struct{ name, path, body, last string }{
		{"chat completions", "/v1/chat/completions",
			`{"model":"only-a","stream":true,"messages":[{"role":"user","content":"x"}]}`, "data: [DONE]"},
		{"messages", "/v1/messages",
			`{"model":"only-a","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"x"}]}`, "event: error"},
		{"responses", "/v1/responses", `{"model":"only-a","stream":true,"input":"x"}`, "event: response.failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newUpstream(t, stallAfterFirstChunk)
			g, logs := newGateway(t, twoProviders, a, a)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, req)
			body := rec.Body.String()
			frames := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
			if rec.Code != http.StatusOK || !strings.Contains(body, "did not answer in time") ||
				!strings.HasPrefix(frames[len(frames)-1], tc.last) {
				t.Fatalf("%d, want the stream to end with the timeout error (%s last):\n%s", rec.Code, tc.last, body)
			}
			if strings.Contains(logs.String(), "client disconnected") || !strings.Contains(logs.String(), "did not answer in time") {
				t.Fatalf("log: %s", logs)
			}
		})
	}
}
