package faults

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/testutil"
)

// Bounds every test in this package keeps.
const (
	// attemptTimeout is the per-attempt timeout of upstream a when a test
	// injects a fault that only a timeout ends (hang, slow first byte).
	attemptTimeout = 200 * time.Millisecond
	// healthyTimeout is the per-attempt timeout of an upstream that answers:
	// roomy, so that a loaded machine (-race, parallel packages) never turns
	// a healthy answer into a timeout.
	healthyTimeout = time.Second
	// clientTimeout is the most a client waits for a whole answer; no test
	// may get near it.
	clientTimeout = 5 * time.Second
	// answerBound is what an answer over both targets may take at most: both
	// attempt timeouts plus slack for the race detector.
	answerBound = attemptTimeout + healthyTimeout + 2*time.Second
	// logWait bounds the wait for a request's log line.
	logWait = 5 * time.Second
)

// gatewayTOML is two OpenAI-protocol providers serving "shared" (a first), a
// serving "only-a" alone, with no retries, so that each fault costs one
// attempt and failover is visible.
func gatewayTOML(aTimeout time.Duration) string {
	return `
[defaults.retry]
max_retries = 0
[[providers]]
name = "a"
kind = "custom"
base_url = "{A}"
models = ["shared", "only-a"]
timeout = "` + aTimeout.String() + `"
[[providers]]
name = "b"
kind = "custom"
base_url = "{B}"
models = ["shared"]
timeout = "` + healthyTimeout.String() + `"
`
}

// breakerTOML sets the breaker; the default suite never opens it on its own
// within a test (threshold 100).
func breakerTOML(threshold int, recovery time.Duration) string {
	return fmt.Sprintf("[defaults.breaker]\nfailure_threshold = %d\nrecovery_timeout = %q\n", threshold, recovery.String())
}

// logSink collects the gateway's JSON log lines and lets a test wait for the
// line of one request.
type logSink struct {
	mu      sync.Mutex
	lines   []map[string]any
	raw     bytes.Buffer
	changed chan struct{} // closed and replaced on every line
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

// Write takes one JSON line (slog's JSON handler writes each record at once).
func (l *logSink) Write(p []byte) (int, error) {
	var m map[string]any
	_ = json.Unmarshal(p, &m)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.raw.Write(p)
	if m != nil {
		l.lines = append(l.lines, m)
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw.String()
}

// find returns the first line matching msg (and request id when set).
func (l *logSink) find(msg, id string) (map[string]any, chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.lines {
		if m["msg"] == msg && (id == "" || m["request_id"] == id) {
			return m, nil
		}
	}
	return nil, l.changed
}

// request waits (bounded) for the "request" line of request id.
func (l *logSink) request(id string) (logLine, error) {
	deadline := time.NewTimer(logWait)
	defer deadline.Stop()
	for {
		m, changed := l.find("request", id)
		if m != nil {
			return logLine(m), nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, fmt.Errorf("no log line for request %s within %s (usage record lost); log:\n%s", id, logWait, l)
		}
	}
}

// logLine is one decoded JSON log line.
type logLine map[string]any

func (l logLine) int(k string) int {
	f, _ := l[k].(float64)
	return int(f)
}

func (l logLine) str(k string) string {
	s, _ := l[k].(string)
	return s
}

// suite is a gateway over two fault-injecting upstreams, served on loopback.
type suite struct {
	a, b   *Upstream
	g      *app.App
	url    string
	logs   *logSink
	client *http.Client
	seq    atomic.Int64
}

// options tune a suite.
type options struct {
	// aTimeout is upstream a's attempt timeout (default healthyTimeout).
	aTimeout time.Duration
	// extra is TOML appended to the configuration.
	extra string
	// store is the gateway's state (default: in memory).
	store *state.Store
}

// newSuite starts upstreams a and b with their default faults and a gateway
// over them.
func newSuite(t *testing.T, fa, fb Fault, o options) *suite {
	t.Helper()
	s := &suite{a: New("a", fa), b: New("b", fb), logs: newLogSink()}
	t.Cleanup(s.b.Close)
	t.Cleanup(s.a.Close)
	s.g = newGateway(t, gatewayTOML(cmp.Or(o.aTimeout, healthyTimeout))+o.extra, s.logs, o.store, s.a, s.b)
	srv := httptest.NewServer(s.g)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	tr := http.DefaultTransport.(*http.Transport).Clone()
	s.client = &http.Client{Timeout: clientTimeout, Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	t.Cleanup(func() {
		if m, _ := s.logs.find("panic", ""); m != nil {
			t.Errorf("the gateway recovered a panic: %v", m)
		}
	})
	return s
}

// newGateway builds the real gateway from TOML where {A}, {B} are the
// upstreams' URLs.
func newGateway(t *testing.T, toml string, logs io.Writer, store *state.Store, ups ...*Upstream) *app.App {
	t.Helper()
	for i, u := range ups {
		toml = strings.ReplaceAll(toml, fmt.Sprintf("{%c}", 'A'+i), u.URL)
	}
	cfg, err := config.Parse(testutil.CacheOffUnlessSet(toml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	hc := provider.NewHTTPClient()
	t.Cleanup(hc.CloseIdleConnections)
	g, err := app.New(context.Background(), cfg, app.Options{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), HTTP: hc, Store: store,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// answer is what a client received, with the request's log line.
type answer struct {
	status int
	header http.Header
	body   string
	took   time.Duration
	log    logLine
}

func chatBody(model string, stream bool) string {
	if stream {
		return fmt.Sprintf(`{"model":%q,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, model)
	}
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}]}`, model)
}

// do sends one request and reads the whole answer within clientTimeout,
// then waits (bounded) for its log line. A client timeout is an error: the
// gateway must always answer. Safe to call from any goroutine.
func (s *suite) do(path, body string, hdr ...string) (answer, error) {
	id := fmt.Sprintf("faults-%d", s.seq.Add(1))
	req, err := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", id)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("no answer within the client's %s: %w", clientTimeout, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return answer{}, fmt.Errorf("answer body not complete within the client's %s: %w (got %q)", clientTimeout, err, b)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(b), took: time.Since(start)}
	if a.log, err = s.logs.request(id); err != nil {
		return a, err
	}
	if got := a.log.int("status"); got != a.status {
		return a, fmt.Errorf("log line status %d, client got %d", got, a.status)
	}
	return a, nil
}

// post is do for the test goroutine: any error fails the test at once.
func (s *suite) post(t *testing.T, path, body string, hdr ...string) answer {
	t.Helper()
	a, err := s.do(path, body, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (s *suite) chat(t *testing.T, model string, stream bool, hdr ...string) answer {
	t.Helper()
	return s.post(t, "/v1/chat/completions", chatBody(model, stream), hdr...)
}

// breaker returns the state of provider/model's circuit breaker.
func (s *suite) breaker(t *testing.T, key string) router.BreakerState {
	t.Helper()
	for _, tg := range s.g.Router.Targets() {
		if tg.Key() == key {
			return tg.Breaker.State()
		}
	}
	t.Fatalf("no target %s", key)
	return 0
}

// waitBreaker waits, bounded, for a breaker to reach a state: the recovery
// timeout is wall-clock time, so this polls.
func (s *suite) waitBreaker(t *testing.T, key string, want router.BreakerState, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.breaker(t, key) != want {
		if time.Now().After(deadline) {
			t.Fatalf("breaker of %s is %s after %s, want %s", key, s.breaker(t, key), bound, want)
		}
		<-tick.C
	}
}

// checkOpenAIError asserts an OpenAI-shaped JSON error with status and type.
func checkOpenAIError(t *testing.T, a answer, status int, typ string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q", ct)
	}
	var e struct {
		Error *struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(a.body), &e); err != nil || e.Error == nil || e.Error.Message == "" {
		t.Fatalf("not an OpenAI error body: %q", a.body)
	}
	if e.Error.Type != typ {
		t.Errorf("error type %q, want %q (%s)", e.Error.Type, typ, a.body)
	}
	if a.log.str("error") == "" {
		t.Errorf("the log line of a failed request names no error: %v", a.log)
	}
}

// sseEvents checks the framing of an SSE body (every event is one `data: `
// line followed by a blank line; every event but the last is a JSON object;
// the last is `[DONE]`) and returns the events' data.
func sseEvents(t *testing.T, a answer) []string {
	t.Helper()
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("not an SSE answer: %d %q %q", a.status, a.header.Get("Content-Type"), a.body)
	}
	if !strings.HasSuffix(a.body, "\n\n") {
		t.Fatalf("SSE body does not end with a blank line: %q", a.body)
	}
	var events []string
	for _, ev := range strings.Split(strings.TrimSuffix(a.body, "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("malformed SSE event %q in %q", ev, a.body)
		}
		events = append(events, data)
	}
	for i, d := range events {
		last := i == len(events)-1
		if last != (d == "[DONE]") {
			t.Fatalf("[DONE] must be the last event and only there: %q", events)
		}
		if !last && (!json.Valid([]byte(d)) || d[0] != '{') {
			t.Fatalf("event %d is not a JSON object: %q", i, d)
		}
	}
	return events
}

// streamText joins the content deltas of SSE events and returns the error
// event's message, if any.
func streamText(t *testing.T, events []string) (text, errMsg string) {
	t.Helper()
	for _, d := range events[:len(events)-1] {
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("event %q: %v", d, err)
		}
		for _, ch := range c.Choices {
			text += ch.Delta.Content
		}
		if c.Error != nil {
			errMsg = c.Error.Message
		}
	}
	return text, errMsg
}

// checkUsageLogged asserts the log line carries the upstream's token counts.
func checkUsageLogged(t *testing.T, a answer) {
	t.Helper()
	if a.log.int("prompt_tokens") != PromptTokens || a.log.int("completion_tokens") != CompletionTokens {
		t.Errorf("log line lacks the answer's usage (%d/%d): %v", PromptTokens, CompletionTokens, a.log)
	}
}
