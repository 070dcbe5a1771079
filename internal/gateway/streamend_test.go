package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/gateway"
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

// withoutCost returns a stream's frames without its cost comment, which, when
// there is one, must come once, carry a decimal number, and be followed only
// by frames that begin with one of last (the endpoint's final events).
func withoutCost(t *testing.T, frames []string, last ...string) []string {
	t.Helper()
	at := -1
	for i, f := range frames {
		if !strings.Contains(f, gateway.CostComment) {
			continue
		}
		if _, err := strconv.ParseFloat(strings.TrimPrefix(f, gateway.CostComment), 64); at >= 0 || err != nil {
			t.Fatalf("a second or malformed cost comment %q in %q", f, frames)
		}
		at = i
	}
	if at < 0 {
		return frames
	}
	for _, f := range frames[at+1:] {
		final := false
		for _, l := range last {
			final = final || strings.HasPrefix(f, l)
		}
		if !final {
			t.Fatalf("the cost comment is followed by %q, want only final events %q", f, last)
		}
	}
	return append(append([]string(nil), frames[:at]...), frames[at+1:]...)
}

// Function URL and API Gateway clients never see a trailer: a stream's cost
// reaches them as a comment before its last event (after message_stop on
// the Messages API, whose last event is the upstream's), only when the model
// has a price, and it is the cost the log line reports.
func TestEveryStreamCarriesItsCostInACommentBeforeItsEnd(t *testing.T) {
	priced := twoProviders + `
[pricing.only-a]
input = 1.0
output = 2.0
`
	const cost = gateway.CostComment + "0.000008" // 4 prompt tokens at $1/M, 2 completion tokens at $2/M
	for _, tc := range []struct {
		name, path, body string
		last             string // the stream's last frame
		fromEnd          int    // where the comment is: 1 last, 2 before the last, 0 anywhere before it
	}{
		{"chat completions", "/v1/chat/completions",
			`{"model":"only-a","stream":true,"messages":[{"role":"user","content":"x"}]}`, "data: [DONE]", 2},
		{"responses", "/v1/responses", `{"model":"only-a","stream":true,"input":"x"}`, "event: response.completed", 0},
		{"messages", "/v1/messages", `{"model":"only-a","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"x"}]}`,
			gateway.CostComment, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newUpstream(t, okChat("a"))
			g, logs := newGateway(t, priced, a, a)
			rec := do(t, g, http.MethodPost, tc.path, tc.body)
			frames := strings.Split(strings.TrimSuffix(rec.Body.String(), "\n\n"), "\n\n")
			at := -1
			for i, f := range frames {
				if strings.HasPrefix(f, gateway.CostComment) {
					at = i
				}
			}
			n := len(frames)
			switch {
			case at < 0 || frames[at] != cost:
				t.Fatalf("no %q in the stream:\n%s", cost, rec.Body)
			case !strings.HasPrefix(frames[n-1], tc.last):
				t.Fatalf("the stream ends with %q, want %q", frames[n-1], tc.last)
			case tc.fromEnd > 0 && at != n-tc.fromEnd, tc.fromEnd == 0 && at >= n-1:
				t.Fatalf("the cost comment is frame %d of %d:\n%s", at+1, n, rec.Body)
			case strings.Contains(strings.Join(frames[at+1:], ""), `"delta"`):
				t.Fatalf("content after the cost comment:\n%s", rec.Body)
			}
			if !strings.Contains(logs.String(), `"cost_usd":0.000008`) {
				t.Fatalf("log: %s", logs)
			}
		})
	}
	t.Run("no comment for a model without a price", func(t *testing.T) {
		a := newUpstream(t, okChat("a"))
		g, _ := newGateway(t, priced, a, a)
		rec := do(t, g, http.MethodPost, "/v1/chat/completions", `{"model":"shared","stream":true,"messages":[{"role":"user","content":"x"}]}`)
		if strings.Contains(rec.Body.String(), gateway.CostComment) || !strings.HasSuffix(rec.Body.String(), "data: [DONE]\n\n") {
			t.Fatalf("%s", rec.Body)
		}
		if got := rec.Result().Trailer.Get("X-Gateway-Cost-Usd"); got != "unpriced" {
			t.Fatalf("trailer %q, want unpriced", got)
		}
	})
}
