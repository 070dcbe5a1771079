package provider

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzGenericMessage extracts messages from arbitrary bodies: no panic, and a
// body that is not JSON gives no message.
func FuzzGenericMessage(f *testing.F) {
	f.Add([]byte(`{"error":{"message":"bad"}}`))
	f.Add([]byte(`{"error":"plain"}`))
	f.Add([]byte(`{"message":"m","detail":"d"}`))
	f.Add([]byte(`[{"error":{"message":"in array"}}]`))
	f.Add([]byte(`[[[[[]]]]]`))
	f.Add([]byte(`<html>oops</html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m := GenericMessage(body)
		if m != "" && !json.Valid(body) {
			t.Fatalf("message %q from a body that is not JSON", m)
		}
	})
}

// fuzzSecretShape is a secret that cannot appear in StatusError's own
// wording: letters and digits together, no spaces or punctuation there.
var fuzzSecretShape = regexp.MustCompile(`^[A-Za-z0-9_-]{8,}$`)

// FuzzStatusError maps arbitrary statuses and bodies that contain a secret
// of the instance: the error is well formed and never carries the secret.
func FuzzStatusError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"message":"bad key `), []byte(`"}}`), "tenant-secret-42", "1")
	f.Add(429, []byte(`{"message":"`), []byte(` over quota"}`), "Zz9Zz9Zz9", "2")
	f.Add(500, []byte(`<html>`), []byte(`</html>`), "abc123XYZ", "")
	f.Add(401, []byte(``), []byte(``), "k3y-k3y-k3y", "")
	f.Add(302, []byte(`{"error":"`), []byte(`"}`), "s3cr3t-value", "")
	f.Add(413, []byte(strings.Repeat("x", 295)), []byte(`tail`), "partial-9secret", "")
	f.Fuzz(func(t *testing.T, status int, prefix, suffix []byte, secret, retryAfter string) {
		if status < 100 || status > 599 {
			return
		}
		secrets := []string{testKey, testHeader}
		if fuzzSecretShape.MatchString(secret) && strings.ContainsAny(secret, "0123456789") &&
			strings.IndexFunc(secret, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }) >= 0 {
			secrets = append(secrets, secret)
		} else {
			secret = testKey
		}
		up := Upstream{Name: "up", Secrets: NewSecrets(Secret(testKey), Secret(testHeader), Secret(secret))}
		body := append(append(append([]byte{}, prefix...), secret...), suffix...)
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		e := up.StatusError(status, h, body, nil)
		if e == nil || e.Provider != "up" {
			t.Fatalf("StatusError = %+v", e)
		}
		if s := e.HTTPStatus(); s < 400 || s > 599 {
			t.Fatalf("status %d maps to %d", status, s)
		}
		out := e.JSON()
		if !json.Valid(out) {
			t.Fatalf("error JSON is invalid: %q", out)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative Retry-After %v", e.RetryAfter)
		}
		for _, s := range secrets {
			if strings.Contains(e.Message, s) || strings.Contains(e.Error(), s) {
				t.Fatalf("message %q leaks the secret %q", e.Message, s)
			}
		}
		if !utf8.ValidString(e.Message) && utf8.Valid(body) {
			t.Fatalf("message %q is not UTF-8 for a UTF-8 body", e.Message)
		}
	})
}
