package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// parseError reads Google's error body, {"error":{"code","message","status",
// "details"}}, which streaming endpoints sometimes wrap in an array.
func parseError(body []byte) (*apiError, bool) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var arr []json.RawMessage
		if json.Unmarshal(body, &arr) != nil || len(arr) == 0 {
			return nil, false
		}
		body = arr[0]
	}
	var v struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || v.Error == nil {
		return nil, false
	}
	return v.Error, true
}

// upstreamErrors maps one request's upstream error. Google AI Studio answers
// a wrong API key with 400 INVALID_ARGUMENT (reason API_KEY_INVALID); that is
// the gateway's credential failing, not the client's request, so it is
// reported like a 401. Messages never carry the configured key.
type upstreamErrors struct {
	p           *Provider
	keyRejected bool
}

// message extracts the error message for provider.StatusError.
func (u *upstreamErrors) message(body []byte) string {
	e, ok := parseError(body)
	if !ok {
		if m := provider.GenericMessage(body); m != "" {
			return u.p.redact(m)
		}
		return plainMessage(u.p.redact(string(body)))
	}
	for _, d := range e.Details {
		if d.Reason == "API_KEY_INVALID" {
			u.keyRejected = true
		}
	}
	if e.Status == "UNAUTHENTICATED" {
		u.keyRejected = true
	}
	return u.p.redact(e.Message)
}

// fix rewrites the error of a rejected key into the credentials error.
func (u *upstreamErrors) fix(err error) error {
	var oe *openai.Error
	if u.keyRejected && errors.As(err, &oe) && oe.Status == http.StatusBadRequest {
		return provider.StatusError(u.p.name, http.StatusUnauthorized, nil, nil, nil)
	}
	return err
}

// plainMessage is a non-JSON error body (a proxy's text or HTML page) as a
// short message. provider.StatusError has the same fallback, but it could not
// redact the key from it.
func plainMessage(body string) string {
	s := strings.TrimSpace(body)
	if s == "" || !utf8.ValidString(s) {
		return ""
	}
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// redact removes the configured key from a message an upstream wrote.
func (p *Provider) redact(s string) string {
	if k := p.key.Value(); len(k) >= 4 {
		s = strings.ReplaceAll(s, k, "[REDACTED]")
	}
	return s
}

// errorEvent maps an error object sent inside a 2xx stream.
func (p *Provider) errorEvent(e *apiError) *openai.Error {
	msg := p.redact(e.Message)
	if e.Status != "" {
		msg = e.Status + ": " + msg
	}
	return provider.ErrorEvent(p.name, msg)
}
