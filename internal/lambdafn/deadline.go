package lambdafn

import (
	"context"
	"net/http"
	"time"

	"github.com/aigateway/gateway/internal/state/dynamo"
)

// What a request keeps under its invocation's deadline. Lambda ends an
// invocation at its deadline without a word from the function: the client
// gets API Gateway's or the Function URL's error, and no log line or metric
// is written. So the gateway's own deadlines come first.
const (
	// RequestMargin: the request's context ends this long before the
	// invocation's deadline. An upstream or DynamoDB call still running then
	// fails with the gateway's own error (504, 503, or an error event in a
	// stream under way), which is answered, logged and counted in time.
	RequestMargin = 1500 * time.Millisecond
	// SettleMargin: DynamoDB calls made after the answer (settling
	// reservations and spend, storing a cache entry or a response, made
	// without the request's cancellation) end this long before it.
	SettleMargin = 500 * time.Millisecond
)

// Deadline wraps h so that nothing it calls outlives the invocation: the
// request's context ends RequestMargin before the invocation's deadline (the
// context's, which aws-lambda-go sets from Lambda-Runtime-Deadline-Ms), and
// every DynamoDB call SettleMargin before it. A short invocation keeps at
// most half of what is left for the margin (a sixth for settling). Without a
// deadline h runs as it is.
func Deadline(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := r.Context().Deadline()
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		left := time.Until(d)
		ctx := dynamo.WithCallDeadline(r.Context(), d.Add(-min(SettleMargin, left/6)))
		ctx, cancel := context.WithDeadline(ctx, d.Add(-min(RequestMargin, left/2)))
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
