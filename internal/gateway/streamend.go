package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/sse"
)

// CostComment begins the SSE comment line that carries a stream's cost:
// `: x-gateway-cost-usd=0.000123`. A stream's cost is known only at its end,
// after the headers, and the trailer that carries it over HTTP/1.1 and HTTP/2
// never reaches a Lambda Function URL's or API Gateway's clients; a comment
// does, and SSE parsers (every SDK's) skip it.
const CostComment = ": x-gateway-cost-usd="

// chargeStream is charge for a stream under way: the cost goes to the log
// record, the trailer, and, when the model has a price, into the stream as
// the CostComment line. Every stream writer calls it before its last event
// ([DONE] on chat completions, the terminal event on responses) or, where
// the last event came from the upstream (message_stop on messages), after it.
func chargeStream(w http.ResponseWriter, rec *record, t *admission.Ticket, model string, u openai.Usage) {
	if cost, priced := charge(w, rec, t, model, u); priced {
		_, _ = io.WriteString(w, CostComment+cost+"\n\n")
		flush(w)
	}
}

// clientLeft reports whether a request ended because its client went away
// (its context was cancelled), not because it ran out of time (its deadline
// passed: the request timeout, or on Lambda the invocation's deadline less a
// margin). A stream that runs out of time ends with the gateway's error
// event, so the client learns why; one whose client left has nobody to tell.
func clientLeft(r *http.Request) bool { return errors.Is(r.Context().Err(), context.Canceled) }

// startStream sends the headers of a stream the target res answered: which
// target, SSE, and the cost as a trailer (where the transport has trailers;
// chargeStream also closes the stream with it).
func startStream(w http.ResponseWriter, res *router.Result) {
	setResultHeaders(w, res)
	sse.SetHeaders(w.Header())
	w.Header().Set("Trailer", "X-Gateway-Cost-Usd")
	w.WriteHeader(http.StatusOK)
}

// errPanicked is the error a stream that ends after a panic reports.
var errPanicked = openai.Errorf(openai.CodeInternal, "internal error")

// endsWith leaves on rec how the stream under way ends if its handler
// panics: with fail's frames (the protocol's failure events, numbered on
// from the stream's last one), or with nothing once the stream has ended.
// Call the returned func when the stream's last frame is written.
func (rec *record) endsWith(fail func(error) []byte) (ended func()) {
	done := false
	rec.endStream = func() []byte {
		if done {
			return nil
		}
		done = true
		return fail(errPanicked)
	}
	return func() { done = true }
}

// endAfterPanic ends a stream whose handler panicked with the ending its
// writer left (endsWith); it reports whether there was one. An ending that
// panics itself (the writer's state broke mid-event) ends the stream with
// nothing more: a second panic must not escape the recovery, and a
// half-written frame cannot be mended.
func (rec *record) endAfterPanic(tw *trackingWriter) bool {
	end := rec.endStream
	if end == nil || !tw.wroteHeader || !tw.isSSE() {
		return false
	}
	if tw.failed != nil {
		return true // the client is gone
	}
	frames := func() (b []byte) {
		defer func() {
			if recover() != nil {
				b = nil
			}
		}()
		return end()
	}()
	if len(frames) > 0 {
		_, _ = tw.Write(frames)
		tw.Flush()
	}
	return true
}
