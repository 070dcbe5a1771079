package provider

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

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

// jsonEscaped is s as encoding/json writes it inside a string, quotes dropped.
func jsonEscaped(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

func TestSecretsRedactTheEncodedFormsOfASecret(t *testing.T) {
	// keyLike encodes with "+" and "/" in standard base64, so the URL
	// alphabet gives other text; punct has what URL and JSON encoders escape.
	const keyLike = "sk-~~~???-live-0123"
	const punct = `tok/9+Q=a b"c\\d<e>&f`
	if b64 := base64.StdEncoding.EncodeToString([]byte(keyLike)); b64 == base64.URLEncoding.EncodeToString([]byte(keyLike)) {
		t.Fatalf("%q encodes alike in both alphabets; the test would not tell them apart", keyLike)
	}
	std, stdRaw := base64.StdEncoding.EncodeToString, base64.RawStdEncoding.EncodeToString
	urlb, urlRaw := base64.URLEncoding.EncodeToString, base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name   string
		secret string
		form   string
	}{
		{"the secret in standard base64 with padding is replaced", keyLike, std([]byte(keyLike))},
		{"the secret in standard base64 without padding is replaced", keyLike, stdRaw([]byte(keyLike))},
		{"the secret in URL-safe base64 with padding is replaced", keyLike, urlb([]byte(keyLike))},
		{"the secret in URL-safe base64 without padding is replaced", keyLike, urlRaw([]byte(keyLike))},
		{"basic credentials of a user and the secret are replaced whole", keyLike, std([]byte("apikey:" + keyLike))},
		{"basic credentials of a two-letter user are replaced whole", keyLike, std([]byte("ab:" + keyLike))},
		{"basic credentials of a one-letter user are replaced whole", keyLike, std([]byte("a:" + keyLike))},
		{"basic credentials with an empty user are replaced whole", keyLike, std([]byte(":" + keyLike))},
		{"basic credentials with the secret as the user are replaced whole", keyLike, std([]byte(keyLike + ":"))},
		{"basic credentials in URL-safe base64 without padding are replaced whole", keyLike, urlRaw([]byte("user:" + keyLike))},
		{"the secret query-escaped is replaced", punct, url.QueryEscape(punct)},
		{"the secret path-escaped is replaced", punct, url.PathEscape(punct)},
		{"the secret JSON-escaped is replaced", punct, jsonEscaped(punct, true)},
		{"the secret JSON-escaped without HTML escapes is replaced", punct, jsonEscaped(punct, false)},
		{"the secret JSON-escaped with escaped slashes is replaced", punct, strings.ReplaceAll(jsonEscaped(punct, false), "/", `\/`)},
		{"the secret in lower-case hex is replaced", keyLike, hex.EncodeToString([]byte(keyLike))},
		{"the secret in upper-case hex is replaced", keyLike, strings.ToUpper(hex.EncodeToString([]byte(keyLike)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.form == tt.secret {
				t.Fatalf("the form is the secret itself; the test would not test an encoding")
			}
			s := NewSecrets(Secret(tt.secret), "other-secret-value")
			got := s.Redact("upstream said: Basic " + tt.form + " was refused")
			if want := "upstream said: Basic [REDACTED] was refused"; got != want {
				t.Errorf("Redact = %q, want %q", got, want)
			}
		})
	}
}

func TestSecretsRedactAnEchoedBasicAuthorizationHeader(t *testing.T) {
	// An upstream quoting the request it refused, as JSON.
	creds := base64.StdEncoding.EncodeToString([]byte("gateway:" + testKey))
	body := `{"error":{"message":"rejected","request":{"headers":{"Authorization":"Basic ` + creds + `"}}}}`
	got := NewSecrets(testKey).Redact(body)
	if want := `{"error":{"message":"rejected","request":{"headers":{"Authorization":"Basic [REDACTED]"}}}}`; got != want {
		t.Errorf("Redact = %s, want %s", got, want)
	}
}

func TestSecretsLeaveShortSecretsQuiet(t *testing.T) {
	// A header value shorter than eight bytes ("eu", "v2", "beta") is often
	// not secret at all: it is replaced where it stands as a word, never
	// inside other words, and its encodings (a few base64 or hex letters
	// that occur in any text) are left alone.
	tests := []struct {
		name   string
		secret string
		in     string
		want   string
	}{
		{"a short secret standing as a word is replaced", "eu", "no capacity in eu, try later", "no capacity in [REDACTED], try later"},
		{"a short secret inside a longer word is left alone", "eu", "the queue is full", "the queue is full"},
		{"a short secret next to digits is left alone", "v2", "use v21 or v2.1", "use v21 or [REDACTED].1"},
		{"a short secret ending in a symbol needs no boundary on that side", "k#", "bad k#1", "bad [REDACTED]1"},
		{"a short secret's base64 is left alone", "abc12", "id YWJjMTI= and YWJjMTI", "id YWJjMTI= and YWJjMTI"},
		{"a short secret's hex is left alone", "abc12", "hash 6162633132", "hash 6162633132"},
		{"a secret of eight bytes is replaced inside words too", "abcd1234", "xabcd1234y", "x[REDACTED]y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewSecrets(Secret(tt.secret)).Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
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

// fuzzForms are the forms FuzzSecretsRedact writes a secret in: as it is,
// and as an upstream may echo it encoded (user is the user name of basic
// credentials).
var fuzzForms = []func(secret, user string) string{
	func(s, _ string) string { return s },
	func(s, _ string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	func(s, _ string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) },
	func(s, _ string) string { return base64.URLEncoding.EncodeToString([]byte(s)) },
	func(s, _ string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) },
	func(s, u string) string { return base64.StdEncoding.EncodeToString([]byte(u + ":" + s)) },
	func(s, u string) string { return base64.RawURLEncoding.EncodeToString([]byte(u + ":" + s)) },
	func(s, u string) string { return base64.StdEncoding.EncodeToString([]byte(s + ":" + u)) },
	func(s, _ string) string { return url.QueryEscape(s) },
	func(s, _ string) string { return url.PathEscape(s) },
	func(s, _ string) string { return jsonEscaped(s, true) },
	func(s, _ string) string { return jsonEscaped(s, false) },
	func(s, _ string) string { return hex.EncodeToString([]byte(s)) },
	func(s, _ string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) },
}

// FuzzSecretsRedact writes a secret of 8 bytes or more in one of its forms
// between arbitrary text: neither the secret nor that form survives Redact,
// nor an upstream error built from the text.
func FuzzSecretsRedact(f *testing.F) {
	f.Add("tenant-secret-42", "", `{"error":{"message":"bad key `, `"}}`, uint8(0))
	f.Add("sk-~~~???-live-0123", "apikey", "Authorization: Basic ", "\r\n", uint8(5))
	f.Add("tok/9+Q=a b\"c<e>&f", "", "GET /v1?key=", "&x=1", uint8(8))
	f.Add("Zz9Zz9Zz9", "u", "", "", uint8(7))
	f.Add("k3y-k3y-k3y", "", "hash ", "", uint8(12))
	f.Add("p\u00e9-secret-\u2028", "", `"`, `"`, uint8(10))
	f.Fuzz(func(t *testing.T, secret, user, prefix, suffix string, form uint8) {
		// A "[" could let a form span the "[REDACTED]" put before it.
		if len(secret) < minEncoded || !utf8.ValidString(secret) || strings.ContainsAny(secret, "[]") {
			return
		}
		written := fuzzForms[int(form)%len(fuzzForms)](secret, user)
		s := NewSecrets(Secret(secret), testKey)
		text := prefix + written + suffix
		got := s.Redact(text)
		if strings.Contains(got, written) || strings.Contains(got, secret) {
			t.Fatalf("Redact(%q) = %q keeps the secret %q written as %q", text, got, secret, written)
		}
		up := Upstream{Name: "up", Secrets: s}
		if e := up.StatusError(400, nil, []byte(text), nil); strings.Contains(e.Message, written) || strings.Contains(e.Message, secret) {
			t.Fatalf("message %q keeps the secret %q written as %q", e.Message, secret, written)
		}
	})
}
