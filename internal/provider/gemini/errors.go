package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

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
// reported like a 401.
type upstreamErrors struct {
	// up is the upstream the request went to, with its secrets.
	up          provider.Upstream
	keyRejected bool
}

// message extracts the error message for provider.Upstream.StatusError,
// which redacts the provider's secrets from it.
func (u *upstreamErrors) message(body []byte) string {
	e, ok := parseError(body)
	if !ok {
		return provider.GenericMessage(body)
	}
	for _, d := range e.Details {
		if d.Reason == "API_KEY_INVALID" {
			u.keyRejected = true
		}
	}
	if e.Status == "UNAUTHENTICATED" {
		u.keyRejected = true
	}
	return e.Message
}

// fix rewrites the error of a rejected key into the credentials error.
func (u *upstreamErrors) fix(err error) error {
	var oe *openai.Error
	if u.keyRejected && errors.As(err, &oe) && oe.Status == http.StatusBadRequest {
		return u.up.StatusError(http.StatusUnauthorized, nil, nil, nil)
	}
	return err
}

// errorEvent maps an error object sent inside a 2xx answer or stream.
func (p *Provider) errorEvent(e *apiError) *openai.Error {
	msg := e.Message
	if e.Status != "" {
		msg = e.Status + ": " + msg
	}
	return p.up.ErrorEvent(msg)
}
