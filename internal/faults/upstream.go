// Package faults is the gateway's reliability suite: a fake OpenAI-protocol
// upstream that fails on demand, and tests that run each failure through the
// real gateway handler (failover, circuit breakers, clean errors, usage logs)
// and stop DynamoDB Local under a running gateway.
package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is how the fake upstream answers one request.
type Fault string

// The faults the upstream can inject. Every blocking fault ends when the
// request's context ends, when the upstream is closed, or after MaxBlock.
const (
	// OK is a complete, well-formed answer (JSON or SSE as asked).
	OK Fault = "ok"
	// ServerError is a 500 with an OpenAI error body.
	ServerError Fault = "server-error"
	// RateLimited is a 429 with Retry-After.
	RateLimited Fault = "rate-limited"
	// SlowFirstByte is a complete answer whose headers come after SlowDelay.
	SlowFirstByte Fault = "slow-first-byte"
	// Hang sends nothing until the request ends.
	Hang Fault = "hang"
	// ResetBeforeHeaders closes the connection before any byte of the answer.
	ResetBeforeHeaders Fault = "reset-before-headers"
	// ResetMidBody sends the headers and part of the answer, then closes the
	// connection (for a stream: one chunk, then the cut).
	ResetMidBody Fault = "reset-mid-body"
	// MalformedJSON is a 200 application/json that is not JSON (for a
	// stream: an event whose data is not JSON).
	MalformedJSON Fault = "malformed-json"
	// WrongContentType is a 200 text/html error page.
	WrongContentType Fault = "wrong-content-type"
	// EmptyBody is a 200 with the right content type and no body.
	EmptyBody Fault = "empty-body"
	// NoDone is a stream with every chunk, usage included, that ends
	// cleanly without `data: [DONE]`.
	NoDone Fault = "no-done"
	// HeartbeatOnly is a stream of SSE comments only, until the request ends.
	HeartbeatOnly Fault = "heartbeat-only"
	// Endless is a stream that sends a content chunk every Tick until the
	// request ends (to watch cancellation reach the upstream).
	Endless Fault = "endless"
)

// Header chooses the fault of one request when the request carries it (a
// provider's configured headers can set it); it wins over the script.
const Header = "X-Fault"

// Usage the upstream reports in every complete answer.
const (
	PromptTokens     = 7
	CompletionTokens = 3
)

// Upstream is a fake OpenAI-protocol provider (chat completions, streamed or
// not, and embeddings) whose answer to each request is a Fault: the request's
// X-Fault header, else the next scripted fault, else the default.
type Upstream struct {
	*httptest.Server
	// Name appears in the answers' content ("from <name>").
	Name string
	// SlowDelay is how long SlowFirstByte waits (default 3 s: beyond the
	// attempt timeouts a test sets).
	SlowDelay time.Duration
	// RetryAfter is the Retry-After value of RateLimited (default "1").
	RetryAfter string
	// MaxBlock bounds every blocking fault (default 10 s).
	MaxBlock time.Duration
	// Tick is the pace of Endless and HeartbeatOnly (default 10 ms).
	Tick time.Duration

	calls     atomic.Int64
	mu        sync.Mutex
	def       Fault
	script    []Fault
	stop      chan struct{}
	closeOnce sync.Once
	cancelled chan Fault
}

// New starts an upstream that answers with def unless told otherwise. Close
// it (t.Cleanup(u.Close)) to end its blocked handlers and its server.
func New(name string, def Fault) *Upstream {
	u := &Upstream{Name: name, def: def, stop: make(chan struct{}), cancelled: make(chan Fault, 64)}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	return u
}

// Close ends every blocked handler, then stops the server.
func (u *Upstream) Close() {
	u.closeOnce.Do(func() { close(u.stop) })
	u.Server.Close()
}

// Calls is the number of requests received.
func (u *Upstream) Calls() int64 { return u.calls.Load() }

// SetDefault sets the fault of requests with no header and no script left.
func (u *Upstream) SetDefault(f Fault) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.def = f
}

// Script queues faults for the next requests, in order.
func (u *Upstream) Script(fs ...Fault) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.script = append(u.script, fs...)
}

// Cancelled receives the fault of every request whose context ended while a
// blocking fault (Hang, HeartbeatOnly, Endless, SlowFirstByte) waited.
func (u *Upstream) Cancelled() <-chan Fault { return u.cancelled }

func (u *Upstream) next(r *http.Request) Fault {
	if f := r.Header.Get(Header); f != "" {
		return Fault(f)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.script) > 0 {
		f := u.script[0]
		u.script = u.script[1:]
		return f
	}
	return u.def
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// wait blocks for d (d < 0: until the request ends), bounded by MaxBlock and
// the upstream's closing. It reports false when the request ended first.
func (u *Upstream) wait(r *http.Request, f Fault, d time.Duration) bool {
	if d < 0 || d > orDefault(u.MaxBlock, 10*time.Second) {
		d = orDefault(u.MaxBlock, 10*time.Second)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		u.noteCancelled(f)
		return false
	case <-u.stop:
		return false
	case <-t.C:
		return true
	}
}

func (u *Upstream) noteCancelled(f Fault) {
	select {
	case u.cancelled <- f:
	default:
	}
}

// request is the part of a client request the upstream looks at.
type request struct {
	Model  string `json:"model"`
	Stream bool   `json:"stream"`
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	var req request
	_ = json.Unmarshal(body, &req)
	embeddings := strings.HasSuffix(r.URL.Path, "/embeddings")
	stream := req.Stream && !embeddings
	f := u.next(r)
	switch f {
	case OK:
	case ServerError:
		writeJSON(w, http.StatusInternalServerError, `{"error":{"message":"injected server error","type":"server_error"}}`)
		return
	case RateLimited:
		w.Header().Set("Retry-After", orDefault(u.RetryAfter, "1"))
		writeJSON(w, http.StatusTooManyRequests, `{"error":{"message":"injected rate limit","type":"rate_limit_error"}}`)
		return
	case SlowFirstByte:
		if !u.wait(r, f, orDefault(u.SlowDelay, 3*time.Second)) {
			return
		}
	case Hang:
		u.wait(r, f, -1)
		return
	case ResetBeforeHeaders:
		reset(w)
	case ResetMidBody:
		if stream {
			u.startStream(w)
			u.chunk(w, req.Model, "partial ")
			panic(http.ErrAbortHandler)
		}
		full := u.completion(req.Model)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(full)))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, full[:len(full)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the server closes the connection mid-body
	case MalformedJSON:
		if stream {
			u.startStream(w)
			_, _ = io.WriteString(w, "data: {\"id\":\"s1\",\"choices\":[{\"delta\":\n\n")
			_, _ = io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		writeJSON(w, http.StatusOK, `{"id":"c1","object":"chat.completion","choices":[{"message":`)
		return
	case WrongContentType:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html><body><h1>Welcome to nginx!</h1></body></html>\n")
		return
	case EmptyBody:
		if stream {
			u.startStream(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		return
	case NoDone:
		if stream {
			u.streamAll(w, req.Model, false)
			return
		}
	case HeartbeatOnly:
		u.startStream(w)
		for u.wait(r, f, orDefault(u.Tick, 10*time.Millisecond)) {
			_, _ = io.WriteString(w, ": keep-alive\n\n")
			w.(http.Flusher).Flush()
		}
		return
	case Endless:
		u.startStream(w)
		for i := 0; ; i++ {
			u.chunk(w, req.Model, fmt.Sprintf("word%d ", i))
			if !u.wait(r, f, orDefault(u.Tick, 10*time.Millisecond)) {
				return
			}
		}
	default:
		writeJSON(w, http.StatusBadRequest, fmt.Sprintf(`{"error":{"message":"unknown fault %q"}}`, f))
		return
	}
	switch {
	case embeddings:
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"object":"list","model":%q,"data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"usage":{"prompt_tokens":%d,"total_tokens":%d}}`,
			req.Model, PromptTokens, PromptTokens))
	case stream:
		u.streamAll(w, req.Model, true)
	default:
		writeJSON(w, http.StatusOK, u.completion(req.Model))
	}
}

// Reply is the content of a complete answer from the upstream named name.
func Reply(name string) string { return "from " + name }

func (u *Upstream) completion(model string) string {
	return fmt.Sprintf(`{"id":"c1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`,
		model, Reply(u.Name), PromptTokens, CompletionTokens, PromptTokens+CompletionTokens)
}

func (u *Upstream) startStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

func (u *Upstream) chunk(w http.ResponseWriter, model, text string) {
	fmt.Fprintf(w, "data: {\"id\":\"s1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", model, text)
	w.(http.Flusher).Flush()
}

// streamAll sends a complete stream: content, finish, usage and, when done is
// set, the [DONE] marker.
func (u *Upstream) streamAll(w http.ResponseWriter, model string, done bool) {
	u.startStream(w)
	for _, part := range strings.SplitAfter(Reply(u.Name), " ") {
		u.chunk(w, model, part)
	}
	fmt.Fprintf(w, "data: {\"id\":\"s1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", model)
	fmt.Fprintf(w, "data: {\"id\":\"s1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n",
		model, PromptTokens, CompletionTokens, PromptTokens+CompletionTokens)
	if done {
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}
	w.(http.Flusher).Flush()
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// reset closes the connection before any byte of the answer.
func reset(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with a TCP reset, not a clean FIN
			}
			_ = conn.Close()
		}
	}
	panic(http.ErrAbortHandler)
}
