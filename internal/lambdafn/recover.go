package lambdafn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ErrClientGone is the cause of a request context cancelled because a write
// to the client failed.
var ErrClientGone = errors.New("client went away")

// ClientGone wraps h for the Lambda adapters: a write that fails (the reader
// of the response is gone) cancels the request context with ErrClientGone, so
// the upstream request stops at once instead of running, and billing, until
// the function's timeout. A Function URL client that disconnects does not
// make writes fail — Lambda keeps reading the response and the function is
// never told (see internal/runtimeapi) — so on AWS it is the invocation's
// deadline that bounds an abandoned stream; this guards the writes that can
// fail: the runtime client closes the response reader when its POST to the
// Runtime API fails.
//
// Panics are not recovered here: the core built with app.Options{Lambda: true}
// recovers every panic, http.ErrAbortHandler included (lambdaurl runs the
// handler on a goroutine of its own, where an unrecovered panic would end the
// execution environment).
func ClientGone(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancelCause(r.Context())
		defer cancel(nil)
		h.ServeHTTP(&cancelOnFailedWrite{ResponseWriter: w, cancel: cancel}, r.WithContext(ctx))
	})
}

// cancelOnFailedWrite cancels the request on the first failed write.
type cancelOnFailedWrite struct {
	http.ResponseWriter
	cancel context.CancelCauseFunc
	failed bool
}

func (w *cancelOnFailedWrite) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	if err != nil && !w.failed {
		w.failed = true
		w.cancel(fmt.Errorf("%w: %w", ErrClientGone, err))
	}
	return n, err
}

// Flush implements http.Flusher. The Function URL writer has none (each
// Write already reaches the client); the call is passed on where one exists.
func (w *cancelOnFailedWrite) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *cancelOnFailedWrite) Unwrap() http.ResponseWriter { return w.ResponseWriter }
