package gateway

import (
	"context"
	"errors"
	"net/http"
)

// clientLeft reports whether a request ended because its client went away
// (its context was cancelled), not because it ran out of time (its deadline
// passed: the request timeout, or on Lambda the invocation's deadline less a
// margin). A stream that runs out of time ends with the gateway's error
// event, so the client learns why; one whose client left has nobody to tell.
func clientLeft(r *http.Request) bool { return errors.Is(r.Context().Err(), context.Canceled) }
