package provider

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

const (
	testKey    = "sk-test-0123456789abcdef"
	testHeader = "hdr-secret-fedcba9876543210"
)

// testUpstream is an instance with an API key and a secret extra header.
func testUpstream(client *http.Client) Upstream {
	cfg := Config{APIKey: testKey, Headers: map[string]Secret{"X-Tenant-Token": testHeader}}
	return NewUpstream("up", cfg, Deps{HTTP: client})
}

// assertNoSecrets fails when the key or the header secret shows anywhere a
// client could see the error.
func assertNoSecrets(t *testing.T, e *openai.Error) {
	t.Helper()
	for _, s := range []string{e.Message, e.Error(), string(e.JSON())} {
		for _, secret := range []string{testKey, testHeader} {
			if strings.Contains(s, secret) {
				t.Errorf("%q leaks a secret", s)
			}
		}
	}
}

func TestSecretsRedactTheKeyAndEveryHeaderValue(t *testing.T) {
	cfg := Config{APIKey: "key-1234", Headers: map[string]Secret{"X-A": "alpha-secret", "X-B": "", "X-C": "key-1234"}}
	got := cfg.Secrets().Redact("key key-1234, alpha-secret and alpha")
	if want := "key [REDACTED], [REDACTED] and alpha"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
}

func TestSecretsRedactALongerSecretWhole(t *testing.T) {
	// The key is part of the header value: the header value goes first, or
	// its tail would be left behind after the key's replacement.
	s := NewSecrets("abcd", "Bearer abcd-extra")
	if got := s.Redact("got Bearer abcd-extra and abcd"); got != "got [REDACTED] and [REDACTED]" {
		t.Errorf("Redact = %q", got)
	}
}

func TestNoSecretsRedactNothing(t *testing.T) {
	var s Secrets
	if got := s.Redact("nothing [here]"); got != "nothing [here]" {
		t.Errorf("Redact = %q", got)
	}
	if got := (Config{}).Secrets().Redact("x"); got != "x" {
		t.Errorf("Redact = %q", got)
	}
}

func TestStatusErrorRedactsSecretsFromTheUpstreamMessage(t *testing.T) {
	up := testUpstream(nil)
	tests := []struct {
		name       string
		status     int
		body       string
		msg        func([]byte) string
		wantStatus int
		want       string // a substring of the message
	}{
		{"a JSON 400 echoing the key", 400, `{"error":{"message":"bad key ` + testKey + `"}}`, nil,
			400, "bad key [REDACTED]"},
		{"a JSON 429 echoing a header secret", 429, `{"error":{"message":"tenant ` + testHeader + ` is over quota"}}`, nil,
			429, "tenant [REDACTED] is over quota"},
		{"a JSON 500 echoing both", 500, `{"message":"` + testKey + `/` + testHeader + `"}`, nil,
			502, "[REDACTED]/[REDACTED]"},
		{"a plain-text 503 echoing the key", 503, "proxy error: Authorization: Bearer " + testKey, nil,
			502, "Bearer [REDACTED]"},
		{"an HTML 404 echoing a header secret", 404, "<html>no route for " + testHeader + "</html>", nil,
			404, "no route for [REDACTED]"},
		{"a message a provider's extractor unescaped", 400, `{"error":{"message":"key \u0073k-test-0123456789abcdef"}}`, nil,
			400, "key [REDACTED]"},
		{"a provider's own extractor", 422, `{"detail":[{"msg":"bad token ` + testKey + `"}]}`,
			func(b []byte) string { return string(b) }, 422, "bad token [REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := up.StatusError(tt.status, nil, []byte(tt.body), tt.msg)
			if e.HTTPStatus() != tt.wantStatus || e.Provider != "up" {
				t.Errorf("status %d provider %q, want %d and up", e.HTTPStatus(), e.Provider, tt.wantStatus)
			}
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message %q does not contain %q", e.Message, tt.want)
			}
			assertNoSecrets(t, e)
		})
	}
}

func TestStatusErrorRedactsBeforeShorteningALongBody(t *testing.T) {
	// The key straddles the cut of a long plain-text body: no piece of it
	// may survive the shortening.
	body := strings.Repeat("x", 295) + testKey + strings.Repeat("y", 400)
	e := testUpstream(nil).StatusError(502, nil, []byte(body), nil)
	if strings.Contains(e.Message, testKey[:5]) {
		t.Errorf("message %q keeps the start of the key", e.Message)
	}
	if !strings.Contains(e.Message, strings.Repeat("x", 295)+"[REDA") {
		t.Errorf("message %q does not end with the start of the redaction mark", e.Message)
	}
}

func TestStatusErrorWithoutSecretsKeepsTheMessage(t *testing.T) {
	e := StatusError("p", 400, nil, []byte(`{"error":{"message":"bad `+testKey+`"}}`), nil)
	if e.Message != "bad "+testKey || e.Provider != "p" {
		t.Errorf("got %q from %q", e.Message, e.Provider)
	}
}

func TestDoRedactsSecretsFromUpstreamErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Echo what the gateway sent, as a careless upstream might.
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"headers: `+r.Header.Get("Authorization")+` `+r.Header.Get("X-Tenant-Token")+`"}}`)
	}))
	defer srv.Close()
	up := testUpstream(srv.Client())
	h := http.Header{"Authorization": {"Bearer " + testKey}, "X-Tenant-Token": {testHeader}}
	_, err := up.DoJSON(context.Background(), http.MethodPost, srv.URL, h, []byte(`{}`), nil)
	e := openai.AsError(err)
	if e.HTTPStatus() != 400 || e.Message != "headers: Bearer [REDACTED] [REDACTED]" {
		t.Errorf("got %d %q", e.HTTPStatus(), e.Message)
	}
	assertNoSecrets(t, e)
}

func TestErrorEventRedactsSecrets(t *testing.T) {
	e := testUpstream(nil).ErrorEvent("overloaded for " + testKey + " and " + testHeader)
	if e.HTTPStatus() != 502 || !e.Retryable || !strings.Contains(e.Message, "overloaded for [REDACTED] and [REDACTED]") {
		t.Errorf("got %d retryable=%v %q", e.HTTPStatus(), e.Retryable, e.Message)
	}
	assertNoSecrets(t, e)
	if e := ErrorEvent("p", ""); !strings.Contains(e.Message, "unknown error") || e.Provider != "p" {
		t.Errorf("an empty message gives %q", e.Message)
	}
}
