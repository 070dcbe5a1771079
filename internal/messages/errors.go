package messages

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/openai"
)

// Anthropic's error types (error.type), each with the status Anthropic
// answers it with.
const (
	TypeInvalidRequest  = "invalid_request_error" // 400, and other 4xx
	TypeAuthentication  = "authentication_error"  // 401
	TypeBilling         = "billing_error"         // 402
	TypePermission      = "permission_error"      // 403
	TypeNotFound        = "not_found_error"       // 404
	TypeRequestTooLarge = "request_too_large"     // 413
	TypeRateLimit       = "rate_limit_error"      // 429
	TypeAPI             = "api_error"             // 500, and other 5xx
	TypeTimeout         = "timeout_error"         // 504
	TypeOverloaded      = "overloaded_error"      // 529
)

// StatusOverloaded is Anthropic's status for overloaded_error.
const StatusOverloaded = 529

// Error is a failure on /v1/messages in Anthropic's shape:
// {"type":"error","error":{"type":...,"message":...}} with Status.
type Error struct {
	Status  int
	Type    string
	Message string
	// RetryAfter is sent as Retry-After when non-zero.
	RetryAfter time.Duration
	// RequestID is sent as "request_id" when set.
	RequestID string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Type, e.Message) }

// invalidf builds a 400 invalid_request_error.
func invalidf(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON of an error response and of an error event.
type errorBody struct {
	Type      string      `json:"type"`
	Error     errorDetail `json:"error"`
	RequestID string      `json:"request_id,omitempty"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// JSON renders the error body.
func (e *Error) JSON() []byte {
	return mustMarshal(errorBody{Type: "error", Error: errorDetail{Type: e.Type, Message: e.Message}, RequestID: e.RequestID})
}

// Event renders the error as a stream's error event.
func (e *Error) Event() []byte { return frame("error", e.JSON()) }

// Write sends the error as an HTTP response.
func (e *Error) Write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.JSON())
}

// TypeForStatus is the error type Anthropic uses for an HTTP status.
func TypeForStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return TypeAuthentication
	case http.StatusPaymentRequired:
		return TypeBilling
	case http.StatusForbidden:
		return TypePermission
	case http.StatusNotFound:
		return TypeNotFound
	case http.StatusRequestEntityTooLarge:
		return TypeRequestTooLarge
	case http.StatusTooManyRequests:
		return TypeRateLimit
	case http.StatusGatewayTimeout:
		return TypeTimeout
	case StatusOverloaded:
		return TypeOverloaded
	}
	if status >= 400 && status < 500 {
		return TypeInvalidRequest
	}
	return TypeAPI
}

// FromError renders any error in Anthropic's shape. An *Error is returned as
// it is; the gateway's *openai.Error keeps its status and message, with the
// type its code or status means to Anthropic; anything else is a 500 whose
// message does not leak details.
func FromError(err error) *Error {
	if err == nil {
		return nil
	}
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	var ge *openai.Error
	if !errors.As(err, &ge) {
		return &Error{Status: http.StatusInternalServerError, Type: TypeAPI, Message: "internal error"}
	}
	status := ge.HTTPStatus()
	out := &Error{Status: status, Type: TypeForStatus(status), Message: ge.Message, RetryAfter: ge.RetryAfter}
	if ge.Status == 0 {
		// The code says more than its status where Anthropic has a
		// type of its own for it.
		switch ge.Code {
		case openai.CodeUpstreamTimeout:
			out.Type = TypeTimeout
		case openai.CodeNoTargets, openai.CodeUnavailable:
			out.Type = TypeOverloaded
		}
	}
	if ge.Param != "" && !strings.Contains(out.Message, ge.Param) {
		out.Message = ge.Param + ": " + out.Message
	}
	if out.Message == "" {
		out.Message = http.StatusText(status)
	}
	return out
}
