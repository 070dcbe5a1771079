package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aigateway/gateway/internal/openai"
)

// NewHTTPClient returns the upstream client the gateway shares between
// providers: keep-alive pools sized for many concurrent requests, no overall
// timeout (streams are long; attempts are bounded by their context).
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.ResponseHeaderTimeout = 0
	t.ForceAttemptHTTP2 = true
	return &http.Client{Transport: t}
}

// maxErrorBody bounds how much of an upstream error body is read.
const maxErrorBody = 64 << 10

// maxResponseBody bounds a complete (non-stream) upstream answer.
const maxResponseBody = 64 << 20

// Upstream is one provider instance as the shared HTTP and error plumbing
// sees it: the name its errors carry, the client its requests go through,
// and the secrets that must not show in anything of the upstream's that the
// gateway relays. An upstream's error text reaches a client through
// StatusError or ErrorEvent, which redact it; a translator that quotes the
// upstream elsewhere in an error redacts with Secrets.Redact.
type Upstream struct {
	Name    string
	Client  *http.Client
	Secrets Secrets
}

// NewUpstream describes the instance cfg configures under name, with the
// secrets of cfg. A nil deps.HTTP gets a client of its own.
func NewUpstream(name string, cfg Config, deps Deps) Upstream {
	client := deps.HTTP
	if client == nil {
		client = NewHTTPClient()
	}
	return Upstream{Name: name, Client: client, Secrets: cfg.Secrets()}
}

// Do sends req and returns the response when the upstream answered 2xx. Any
// other status is read (bounded) and turned into an *openai.Error by
// StatusError with msg. Transport failures become 502/504 errors.
func (u Upstream) Do(req *http.Request, msg func([]byte) string) (*http.Response, error) {
	resp, err := u.Client.Do(req)
	if err != nil {
		return nil, TransportError(req.Context(), u.Name, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, u.StatusError(resp.StatusCode, resp.Header, body, msg)
}

// ReadBody reads a complete upstream answer, mapping read failures.
func ReadBody(ctx context.Context, providerName string, resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return nil, TransportError(ctx, providerName, err)
	}
	return b, nil
}

// DoJSON sends body (JSON) to url with the given headers and returns the
// upstream's 2xx body.
func (u Upstream) DoJSON(ctx context.Context, method, url string, headers http.Header, body []byte, msg func([]byte) string) ([]byte, error) {
	req, err := NewJSONRequest(ctx, method, url, headers, body)
	if err != nil {
		return nil, err
	}
	resp, err := u.Do(req, msg)
	if err != nil {
		return nil, err
	}
	return ReadBody(ctx, u.Name, resp)
}

// NewJSONRequest builds a request with a JSON body and the given headers.
func NewJSONRequest(ctx context.Context, method, url string, headers http.Header, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Message: "bad upstream URL"}
	}
	for k, vs := range headers {
		req.Header[k] = vs
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// TransportError maps a failure to reach or read from the upstream.
func TransportError(ctx context.Context, providerName string, err error) *openai.Error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &openai.Error{Code: openai.CodeUpstreamTimeout, Provider: providerName, Retryable: true,
			Message: fmt.Sprintf("provider %s did not answer in time", providerName)}
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return &openai.Error{Code: openai.CodeUpstreamError, Provider: providerName,
			Message: "request cancelled", Status: 499}
	default:
		return &openai.Error{Code: openai.CodeUpstreamError, Provider: providerName, Retryable: true,
			Message: fmt.Sprintf("provider %s could not be reached", providerName)}
	}
}

// StatusError maps an upstream HTTP error to the client's error, for an
// upstream with no secrets; see Upstream.StatusError.
func StatusError(providerName string, status int, header http.Header, body []byte, msg func([]byte) string) *openai.Error {
	return Upstream{Name: providerName}.StatusError(status, header, body, msg)
}

// StatusError maps an upstream HTTP error to the client's error:
//   - 400, 404, 409, 413, 422 keep their status with the upstream's message (not retryable);
//   - 401/403 (the gateway's credentials were refused) become 502 naming the provider;
//   - 429 stays 429 with Retry-After kept (retryable);
//   - 408 and 5xx become 502 (504 for 504), retryable.
//
// msg extracts the upstream's message from body (nil: GenericMessage); a body
// it finds none in is used as text. The upstream's secrets are redacted from
// the body before either, and from the message msg returns (which may have
// unescaped them).
func (u Upstream) StatusError(status int, header http.Header, body []byte, msg func([]byte) string) *openai.Error {
	providerName := u.Name
	if msg == nil {
		msg = GenericMessage
	}
	text := u.Secrets.Redact(string(body))
	m := u.Secrets.Redact(msg([]byte(text)))
	if m == "" {
		m = genericFallback(text)
	}
	e := &openai.Error{Provider: providerName}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Code = openai.CodeUpstreamAuth
		e.Message = fmt.Sprintf("provider %s refused the gateway's credentials (status %d)", providerName, status)
		e.Retryable = true
	case status == http.StatusTooManyRequests:
		e.Code = openai.CodeRateLimited
		e.Message = fmt.Sprintf("provider %s is rate limiting: %s", providerName, m)
		e.RetryAfter = ParseRetryAfter(header)
		e.Retryable = true
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		e.Code = openai.CodeUpstreamTimeout
		e.Message = fmt.Sprintf("provider %s timed out: %s", providerName, m)
		e.Retryable = true
	case status >= 500:
		e.Code = openai.CodeUpstreamError
		e.Message = fmt.Sprintf("provider %s failed (status %d): %s", providerName, status, m)
		e.RetryAfter = ParseRetryAfter(header)
		e.Retryable = true
	case status == http.StatusNotFound:
		e.Code = openai.CodeModelNotFound
		e.Status = status
		e.Message = m
	case status >= 400:
		e.Code = openai.CodeInvalidRequest
		e.Status = status
		e.Message = m
	default:
		e.Code = openai.CodeUpstreamError
		e.Message = fmt.Sprintf("provider %s answered with unexpected status %d", providerName, status)
		e.Retryable = true
	}
	return e
}

// GenericMessage extracts an error message from the common JSON shapes:
// {"error":{"message":...}}, {"error":"..."}, {"message":...}, [{"error":{...}}].
func GenericMessage(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var arr []json.RawMessage
		if json.Unmarshal(body, &arr) == nil && len(arr) > 0 {
			return GenericMessage(arr[0])
		}
	}
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  string          `json:"detail"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	if len(v.Error) > 0 {
		var s string
		if json.Unmarshal(v.Error, &s) == nil {
			return s
		}
		var inner struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(v.Error, &inner) == nil && inner.Message != "" {
			return inner.Message
		}
	}
	if v.Message != "" {
		return v.Message
	}
	return v.Detail
}

// genericFallback turns a body that is not a known JSON error into a short
// printable message (plain-text and HTML error pages included).
func genericFallback(body string) string {
	s := strings.TrimSpace(body)
	if s == "" {
		return "no error message"
	}
	if !utf8.ValidString(s) {
		return "unreadable error body"
	}
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// ParseRetryAfter reads Retry-After (seconds or an HTTP date) and the
// retry-after-ms header some providers send.
func ParseRetryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if ms := h.Get("retry-after-ms"); ms != "" {
		if f, err := strconv.ParseFloat(ms, 64); err == nil && f > 0 {
			return time.Duration(f * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// Unsupported is the 400 for an endpoint a provider does not offer.
func Unsupported(providerName, what string) *openai.Error {
	return &openai.Error{Code: openai.CodeUnsupported, Provider: providerName,
		Message: fmt.Sprintf("provider %s does not support %s", providerName, what)}
}

// BadUpstreamBody is the error for a 2xx answer the gateway cannot decode.
func BadUpstreamBody(providerName string, err error) *openai.Error {
	return &openai.Error{Code: openai.CodeUpstreamError, Provider: providerName, Retryable: true,
		Message: fmt.Sprintf("provider %s sent a response the gateway could not read: %v", providerName, err)}
}
