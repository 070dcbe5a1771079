package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Code names a kind of failure. Each code has one HTTP status and one OpenAI
// error type (see the table in codeInfo).
type Code string

// The codes the gateway answers with.
const (
	CodeInvalidRequest   Code = "invalid_request"
	CodeInvalidJSON      Code = "invalid_json"
	CodeModelNotFound    Code = "model_not_found"
	CodeNotFound         Code = "not_found"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeBodyTooLarge     Code = "request_too_large"
	CodeUnsupported      Code = "unsupported_endpoint"
	CodeUnauthorized     Code = "invalid_api_key"
	CodeForbidden        Code = "forbidden"
	CodeRateLimited      Code = "rate_limit_exceeded"
	CodeQuotaExceeded    Code = "insufficient_quota"
	CodeUpstreamError    Code = "upstream_error"
	CodeUpstreamAuth     Code = "upstream_auth_error"
	CodeUpstreamTimeout  Code = "upstream_timeout"
	CodeNoTargets        Code = "no_available_targets"
	CodeInternal         Code = "internal_error"
	CodeContentFilter    Code = "content_filter"
	CodeUnavailable      Code = "service_unavailable"
)

type codeInfo struct {
	status int
	typ    string
}

var codes = map[Code]codeInfo{
	CodeInvalidRequest:   {http.StatusBadRequest, "invalid_request_error"},
	CodeInvalidJSON:      {http.StatusBadRequest, "invalid_request_error"},
	CodeModelNotFound:    {http.StatusNotFound, "invalid_request_error"},
	CodeNotFound:         {http.StatusNotFound, "invalid_request_error"},
	CodeMethodNotAllowed: {http.StatusMethodNotAllowed, "invalid_request_error"},
	CodeBodyTooLarge:     {http.StatusRequestEntityTooLarge, "invalid_request_error"},
	CodeUnsupported:      {http.StatusBadRequest, "invalid_request_error"},
	CodeUnauthorized:     {http.StatusUnauthorized, "authentication_error"},
	CodeForbidden:        {http.StatusForbidden, "permission_error"},
	CodeRateLimited:      {http.StatusTooManyRequests, "rate_limit_error"},
	CodeQuotaExceeded:    {http.StatusTooManyRequests, "insufficient_quota"},
	CodeUpstreamError:    {http.StatusBadGateway, "api_error"},
	CodeUpstreamAuth:     {http.StatusBadGateway, "api_error"},
	CodeUpstreamTimeout:  {http.StatusGatewayTimeout, "timeout_error"},
	CodeNoTargets:        {http.StatusServiceUnavailable, "api_error"},
	CodeInternal:         {http.StatusInternalServerError, "api_error"},
	CodeContentFilter:    {http.StatusBadRequest, "invalid_request_error"},
	CodeUnavailable:      {http.StatusServiceUnavailable, "api_error"},
}

// Error is the gateway's one error type. It renders as OpenAI's
// {"error":{"message","type","param","code"}} with the status of its code, unless
// Status overrides it (an upstream's own 4xx status is kept).
type Error struct {
	Code    Code
	Message string
	Param   string
	// Status overrides the code's status when non-zero.
	Status int
	// Provider names the upstream that failed, when there is one.
	Provider string
	// RetryAfter is the upstream's Retry-After, kept for the client and the router.
	RetryAfter time.Duration
	// Retryable marks failures that another attempt or another target may not have:
	// 5xx, 429, timeouts and connection errors.
	Retryable bool
	// Header holds extra response headers (a refused request's x-ratelimit-* figures).
	Header http.Header
}

// Errorf builds an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Provider != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Provider, e.Message, e.Code)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// HTTPStatus is the status the client gets.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	if info, ok := codes[e.Code]; ok {
		return info.status
	}
	return http.StatusInternalServerError
}

// Type is OpenAI's error.type for this error.
func (e *Error) Type() string {
	if e.Status != 0 {
		switch {
		case e.Status == http.StatusTooManyRequests:
			return "rate_limit_error"
		case e.Status == http.StatusUnauthorized:
			return "authentication_error"
		case e.Status == http.StatusForbidden:
			return "permission_error"
		case e.Status >= 400 && e.Status < 500:
			return "invalid_request_error"
		}
	}
	if info, ok := codes[e.Code]; ok {
		return info.typ
	}
	return "api_error"
}

// ErrorBody is the JSON body of an error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inner object of ErrorBody.
type ErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// Body renders the error object.
func (e *Error) Body() ErrorBody {
	d := ErrorDetail{Message: e.Message, Type: e.Type()}
	if e.Param != "" {
		d.Param = Ptr(e.Param)
	}
	if e.Code != "" {
		d.Code = Ptr(string(e.Code))
	}
	return ErrorBody{Error: d}
}

// JSON renders the error body as bytes.
func (e *Error) JSON() []byte {
	b, _ := json.Marshal(e.Body())
	return b
}

// Write sends the error as an HTTP response.
func (e *Error) Write(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(e.JSON())
}

// AsError converts any error to *Error; non-gateway errors become internal errors
// whose message does not leak details.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge
	}
	return &Error{Code: CodeInternal, Message: "internal error"}
}
