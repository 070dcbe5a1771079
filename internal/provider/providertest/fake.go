package providertest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Request is one request a Fake received.
type Request struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// Fake is a loopback upstream: it records every request, then answers it
// with its handler (which can still read the body). It closes when the test
// ends.
type Fake struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []Request
}

// NewFake starts a Fake answering with h.
func NewFake(t testing.TB, h http.HandlerFunc) *Fake {
	t.Helper()
	f := &Fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.mu.Lock()
		f.reqs = append(f.reqs, Request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		f.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// Requests returns the requests received so far, oldest first.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.reqs...)
}

// Last returns the latest request received, failing the test when there
// was none.
func (f *Fake) Last(t testing.TB) Request {
	t.Helper()
	reqs := f.Requests()
	if len(reqs) == 0 {
		t.Fatal("the fake upstream received no request")
	}
	return reqs[len(reqs)-1]
}

// FuzzFake is a loopback upstream for fuzz targets: it answers every request
// 200 with its content type and the body last given to SetBody (empty
// before). It closes when the target ends.
type FuzzFake struct {
	*httptest.Server
	body atomic.Pointer[[]byte]
}

// NewFuzzFake starts a FuzzFake answering with contentType.
func NewFuzzFake(t testing.TB, contentType string) *FuzzFake {
	t.Helper()
	f := &FuzzFake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		if b := f.body.Load(); b != nil {
			_, _ = w.Write(*b)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

// SetBody sets the body of the next answers.
func (f *FuzzFake) SetBody(b []byte) { f.body.Store(&b) }

// Respond answers with status, the given headers and body: an upstream
// error, JSON or plain text as the headers say.
func Respond(status int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// JSON answers with status and a JSON body.
func JSON(status int, body string) http.HandlerFunc {
	return Respond(status, map[string]string{"Content-Type": "application/json"}, body)
}

// ServeFile answers 200 with the file at path (read once, now) as
// contentType.
func ServeFile(t testing.TB, path, contentType string) http.HandlerFunc {
	t.Helper()
	b := ReadFile(t, path)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(b)
	}
}

// SSE answers 200 with an event stream whose body is events, flushed.
func SSE(events string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, events)
		w.(http.Flusher).Flush()
	}
}

// Cut answers as h does, flushes, then drops the connection instead of
// ending the response: a stream cut mid-way.
func Cut(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h(w, r)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
}
