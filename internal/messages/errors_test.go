package messages

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
)

func TestFromErrorGivesEveryGatewayCodeAnthropicsStatusAndType(t *testing.T) {
	tests := []struct {
		code   openai.Code
		status int
		typ    string
	}{
		{openai.CodeInvalidRequest, 400, TypeInvalidRequest},
		{openai.CodeInvalidJSON, 400, TypeInvalidRequest},
		{openai.CodeModelNotFound, 404, TypeNotFound},
		{openai.CodeNotFound, 404, TypeNotFound},
		{openai.CodeMethodNotAllowed, 405, TypeInvalidRequest},
		{openai.CodeBodyTooLarge, 413, TypeRequestTooLarge},
		{openai.CodeUnsupported, 400, TypeInvalidRequest},
		{openai.CodeUnauthorized, 401, TypeAuthentication},
		{openai.CodeForbidden, 403, TypePermission},
		{openai.CodeRateLimited, 429, TypeRateLimit},
		{openai.CodeUpstreamError, 502, TypeAPI},
		{openai.CodeUpstreamAuth, 502, TypeAPI},
		{openai.CodeUpstreamTimeout, 504, TypeTimeout},
		{openai.CodeNoTargets, 503, TypeOverloaded},
		{openai.CodeInternal, 500, TypeAPI},
		{openai.CodeContentFilter, 400, TypeInvalidRequest},
		{openai.CodeUnavailable, 503, TypeOverloaded},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			got := FromError(&openai.Error{Code: tt.code, Message: "m"})
			if got.Status != tt.status || got.Type != tt.typ || got.Message != "m" {
				t.Errorf("got %d %s %q, want %d %s \"m\"", got.Status, got.Type, got.Message, tt.status, tt.typ)
			}
		})
	}
}

func TestFromErrorKeepsAnUpstreamsOwnStatus(t *testing.T) {
	tests := []struct {
		status int
		typ    string
	}{
		{400, TypeInvalidRequest},
		{401, TypeAuthentication},
		{402, TypeBilling},
		{403, TypePermission},
		{404, TypeNotFound},
		{422, TypeInvalidRequest},
		{429, TypeRateLimit},
		{500, TypeAPI},
		{503, TypeAPI},
		{529, TypeOverloaded},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			got := FromError(&openai.Error{Code: openai.CodeUpstreamError, Status: tt.status, Provider: "p", Message: "upstream says no"})
			if got.Status != tt.status || got.Type != tt.typ {
				t.Errorf("got %d %s, want %d %s", got.Status, got.Type, tt.status, tt.typ)
			}
		})
	}
}

func TestFromErrorKeepsRetryAfterAndNamesTheParam(t *testing.T) {
	got := FromError(fmt.Errorf("wrapped: %w", &openai.Error{Code: openai.CodeRateLimited, Param: "model",
		Message: "too many requests", RetryAfter: 1500 * time.Millisecond}))
	if got.RetryAfter != 1500*time.Millisecond || got.Message != "model: too many requests" {
		t.Errorf("got %+v", got)
	}
	// A message that names its param already is left alone.
	got = FromError(&openai.Error{Code: openai.CodeInvalidRequest, Param: "tools", Message: "tools must be a list"})
	if got.Message != "tools must be a list" {
		t.Errorf("message %q", got.Message)
	}
}

func TestFromErrorHidesNonGatewayErrors(t *testing.T) {
	got := FromError(errors.New("dial tcp 10.0.0.1:443: secret detail"))
	if got.Status != 500 || got.Type != TypeAPI || got.Message != "internal error" {
		t.Errorf("got %+v", got)
	}
	if FromError(nil) != nil {
		t.Error("nil is not an error")
	}
	own := invalidf("x")
	if FromError(fmt.Errorf("w: %w", own)) != own {
		t.Error("an *Error is returned as it is")
	}
}

func TestErrorRendersAnthropicsBodyAndEvent(t *testing.T) {
	e := &Error{Status: 529, Type: TypeOverloaded, Message: "Overloaded <now>"}
	if got, want := string(e.JSON()), `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded <now>"}}`; got != want {
		t.Errorf("JSON\n got %s\nwant %s", got, want)
	}
	if got, want := string(e.Event()), "event: error\ndata: "+string(e.JSON())+"\n\n"; got != want {
		t.Errorf("Event\n got %q\nwant %q", got, want)
	}
	e.RequestID = "req_1"
	if got, want := string(e.JSON()), `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded <now>"},"request_id":"req_1"}`; got != want {
		t.Errorf("JSON with request id\n got %s\nwant %s", got, want)
	}
}

func TestErrorWriteSetsStatusContentTypeAndRetryAfter(t *testing.T) {
	rec := httptest.NewRecorder()
	(&Error{Status: http.StatusTooManyRequests, Type: TypeRateLimit, Message: "slow down", RetryAfter: 1200 * time.Millisecond}).Write(rec)
	if rec.Code != 429 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Retry-After") != "2" {
		t.Errorf("status %d headers %v", rec.Code, rec.Header())
	}
	if got := rec.Body.String(); got != `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}` {
		t.Errorf("body %s", got)
	}
}
