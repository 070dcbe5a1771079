package lambdafn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
)

// ErrClientGone is the cause of a request context cancelled because a write
// to the client failed.
var ErrClientGone = errors.New("client went away")

// Recover wraps h for the Lambda adapters.
//
// A panic, including http.ErrAbortHandler, is recovered: lambdaurl runs the
// handler on its own goroutine, where an unrecovered panic would kill the
// execution environment. Before anything was written the client gets a 500 in
// OpenAI's error shape; inside an SSE stream it gets an error event and
// `data: [DONE]`, so SDKs end the stream with an error instead of hanging or
// seeing a cut.
//
// A write that fails (the client went away, so the Runtime API closed the
// response stream) cancels the request context with ErrClientGone: the
// upstream request stops at once instead of running, and billing, until the
// function's timeout.
func Recover(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancelCause(r.Context())
		defer cancel(nil)
		rw := &responseWriter{w: w, cancel: cancel}
		defer func() {
			if p := recover(); p != nil {
				rw.recovered(p)
			}
		}()
		h.ServeHTTP(rw, r.WithContext(ctx))
	})
}

// responseWriter tracks what was written so a recovered panic can end the
// response in a form the client understands.
type responseWriter struct {
	w           http.ResponseWriter
	cancel      context.CancelCauseFunc
	wroteHeader bool
	sse         bool
	failed      error
}

func (w *responseWriter) Header() http.Header { return w.w.Header() }

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		w.sse = strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream")
	}
	w.w.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.w.Write(b)
	if err != nil && w.failed == nil {
		w.failed = err
		w.cancel(fmt.Errorf("%w: %w", ErrClientGone, err))
	}
	return n, err
}

// Flush implements http.Flusher. The Function URL writer has none (each
// Write already reaches the client); the call is passed on where one exists.
func (w *responseWriter) Flush() {
	if f, ok := w.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.w }

func (w *responseWriter) recovered(p any) {
	if p != http.ErrAbortHandler {
		slog.Error("panic in the gateway handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	}
	e := openai.Errorf(openai.CodeInternal, "internal error")
	switch {
	case !w.wroteHeader:
		e.Write(w)
	case w.sse && w.failed == nil:
		_, _ = w.Write([]byte("data: " + string(e.JSON()) + "\n\ndata: [DONE]\n\n"))
	}
	// Otherwise a non-SSE body was already under way (or the client is
	// gone): nothing can be appended that the client would understand.
}
