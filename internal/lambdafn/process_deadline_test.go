package lambdafn_test

// Deadlines under the function's own, run as Lambda runs them: the real
// bootstraps against the Runtime API emulator, which enforces the invocation
// deadline (Sandbox.Timedout), with a DynamoDB endpoint or an upstream that
// never answers.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/lambdafn"
	"github.com/aigateway/gateway/internal/runtimeapi"
)

// shortTimeout is the function timeout of these tests: the gateway must
// answer, log and emit its metrics RequestMargin before it.
const shortTimeout = 4 * time.Second

// stalled is a loopback server that accepts requests and never answers them
// (until the test ends); first, when set, runs before the stall.
func stalled(t *testing.T, first func(w http.ResponseWriter)) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first != nil {
			first(w)
		}
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(time.Minute):
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

// answer is an invocation's HTTP answer, from either function.
type answer struct {
	status int
	body   string
}

// answerOf reads inv to its end: a streamed response's prelude and body, or
// an API Gateway proxy response.
func answerOf(t *testing.T, inv *runtimeapi.Invocation) answer {
	t.Helper()
	if len(inv.Header) == 0 {
		t.Fatalf("no answer: %v", inv.Err())
	}
	if inv.Streaming() {
		br := bufio.NewReader(inv.Body)
		pre, err := runtimeapi.ReadPrelude(br)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(br)
		return answer{pre.StatusCode, string(b)}
	}
	raw, _ := io.ReadAll(inv.Body)
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("not an API Gateway response (%v): %s", err, raw)
	}
	return answer{resp.StatusCode, resp.Body}
}

// written finds the request's log line and its EMF line in the process's
// output and returns when each was written (the times they carry: the
// process's output reaches the test a little later).
func (p *process) written(t *testing.T, status int) (logged, emitted time.Time) {
	t.Helper()
	for wait := time.Now().Add(2 * time.Second); time.Now().Before(wait); time.Sleep(20 * time.Millisecond) {
		if logged, emitted = p.find(status); !logged.IsZero() && !emitted.IsZero() {
			return logged, emitted
		}
	}
	t.Fatalf("no request log line (%v) or EMF line (%v) with status %d", logged, emitted, status)
	return
}

func (p *process) find(status int) (logged, emitted time.Time) {
	for _, line := range strings.Split(p.logs.String(), "\n") {
		var v struct {
			Time   time.Time                  `json:"time"`
			Msg    string                     `json:"msg"`
			Status int                        `json:"status"`
			AWS    *struct{ Timestamp int64 } `json:"_aws"`
			EMF    int                        `json:"Status"`
		}
		if json.Unmarshal([]byte(line), &v) != nil {
			continue
		}
		switch {
		case v.Msg == "request" && v.Status == status:
			logged = v.Time
		case v.AWS != nil && v.EMF == status:
			emitted = time.UnixMilli(v.AWS.Timestamp)
		}
	}
	return logged, emitted
}

// inTime checks that inv was answered, logged and counted before its
// deadline, with most of RequestMargin to spare.
func inTime(t *testing.T, p *process, inv *runtimeapi.Invocation, status int) {
	t.Helper()
	if err := inv.Err(); err != nil {
		t.Fatalf("the invocation failed: %v", err)
	}
	logged, emitted := p.written(t, status)
	for what, at := range map[string]time.Time{"answered": inv.Ended(), "logged": logged, "counted in EMF": emitted} {
		if spare := inv.Deadline.Sub(at); spare < lambdafn.RequestMargin/2 {
			t.Errorf("%s %s before the deadline, want about %s", what, spare.Round(time.Millisecond), lambdafn.RequestMargin)
		}
	}
	t.Logf("answered %s before the deadline", inv.Deadline.Sub(inv.Ended()).Round(time.Millisecond))
}

// withBody is a copy of the event file with another request body.
func withBody(t *testing.T, file, body string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	ev["body"] = body
	out, _ := json.Marshal(ev)
	return out
}

// The case: DynamoDB stalls, each of its 3 attempts waits 10 s, and
// the function is killed at its timeout with nothing written. The request's
// deadline ends the call first: the client gets the gateway's 503, and the
// log and EMF lines are written.
func TestProcessAStalledDynamoDBIsAnsweredByTheGatewayBeforeTheDeadline(t *testing.T) {
	for _, fn := range []string{"api", "stream"} {
		t.Run(fn, func(t *testing.T) {
			bin := buildBootstrap(t, fn)
			env := stackEnv() // authentication on, keys in DynamoDB
			env["DYNAMODB_ENDPOINT"] = stalled(t, nil).URL
			env["AWS_REGION"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "us-east-1", "AKIDTEST", "test"
			p := startProcess(t, bin, env, true)
			p.api.Timeout = shortTimeout
			event, err := os.ReadFile(filepath.Join(eventsDir, fn, "chat.json")) // with a key to look up
			if err != nil {
				t.Fatal(err)
			}
			inv := invoke(t, p, event)
			a := answerOf(t, inv)
			if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, `"type":"api_error"`) ||
				!strings.Contains(a.body, "cannot check API keys") {
				t.Fatalf("%d %s, want the gateway's 503", a.status, a.body)
			}
			inTime(t, p, inv, http.StatusServiceUnavailable)
			p.alive(t)
		})
	}
}

// An upstream that never answers (the gateway's upstream timeouts are longer
// than the function's): a 504 before the first byte, the gateway's timeout
// error event and [DONE] once a stream is under way; and the environment
// survives to serve the next invocation.
func TestProcessAStalledUpstreamIsAnsweredByTheGatewayBeforeTheDeadline(t *testing.T) {
	chunk := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"par"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
	}
	for _, tc := range []struct {
		name, fn string
		first    func(http.ResponseWriter)
		status   int
		want     []string
	}{
		{"api, nothing from the upstream", "api", nil, http.StatusGatewayTimeout, []string{`"type":"timeout_error"`, "did not answer in time"}},
		{"stream, nothing from the upstream", "stream", nil, http.StatusGatewayTimeout, []string{`"type":"timeout_error"`}},
		{"stream, stalled after its first chunk", "stream", chunk, http.StatusOK,
			[]string{`"content":"par"`, `"type":"timeout_error"`, "data: [DONE]\n\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := buildBootstrap(t, tc.fn)
			up := stalled(t, tc.first)
			p := startProcess(t, bin, openAccess(map[string]string{"OPENAI_API_KEY": upstreamKey, "OPENAI_BASE_URL": up.URL + "/v1"}), true)
			p.api.Timeout = shortTimeout
			body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"x"}]}`
			inv := invoke(t, p, withBody(t, filepath.Join(eventsDir, tc.fn, "chat.json"), body))
			a := answerOf(t, inv)
			if a.status != tc.status {
				t.Fatalf("%d %s, want %d", a.status, a.body, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(a.body, w) {
					t.Fatalf("%q missing from the answer:\n%s", w, a.body)
				}
			}
			inTime(t, p, inv, tc.status)
			p.alive(t)

			// The same environment serves the next invocation.
			health, err := os.ReadFile(filepath.Join(eventsDir, tc.fn, "health.json"))
			if err != nil {
				t.Fatal(err)
			}
			inv2 := invoke(t, p, health)
			if a := answerOf(t, inv2); inv2.Err() != nil || a.status != http.StatusOK {
				t.Fatalf("next invocation: %v %d %s", inv2.Err(), a.status, a.body)
			}
			if n := p.inits(); n != 1 {
				t.Fatalf("%d inits", n)
			}
		})
	}
}
