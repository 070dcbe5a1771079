package auth

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzCredential reads arbitrary Authorization and x-api-key values: no
// panic, and the credential is trimmed and taken from the header it names.
func FuzzCredential(f *testing.F) {
	f.Add("Bearer sk-abc", "")
	f.Add("bearer   eyJ.a.b  ", "ignored")
	f.Add("Basic dXNlcjpwYXNz", "k")
	f.Add("", "  gw-key  ")
	f.Add("Bearer", "x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, authz, apiKey string) {
		h := http.Header{}
		if authz != "" {
			h.Set("Authorization", authz)
		}
		if apiKey != "" {
			h.Set("X-Api-Key", apiKey)
		}
		c := Credential(h)
		if c != strings.TrimSpace(c) {
			t.Fatalf("credential %q is not trimmed", c)
		}
		if authz != "" {
			if c != "" && !strings.Contains(authz, c) {
				t.Fatalf("credential %q is not from Authorization %q", c, authz)
			}
			return
		}
		if c != strings.TrimSpace(apiKey) {
			t.Fatalf("credential %q, want x-api-key %q", c, apiKey)
		}
	})
}

// FuzzJWTVerify verifies arbitrary strings with an HS256 verifier: garbage
// never verifies, and a token it issued still verifies to its key id.
func FuzzJWTVerify(f *testing.F) {
	now := func() time.Time { return time.Unix(1700000000, 0) }
	j, err := NewJWT(JWTConfig{HS256Secret: strings.Repeat("s", 32), Issuer: "gw"}, now)
	if err != nil {
		f.Fatal(err)
	}
	good, _, err := j.Issue("key-1", time.Time{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.")
	f.Add("eyJ.eyJ.sig")
	f.Add("")
	f.Add("a.b.c.d")
	f.Fuzz(func(t *testing.T, token string) {
		sub, err := j.Verify(token)
		if token == good {
			if err != nil || sub != "key-1" {
				t.Fatalf("issued token does not verify: %q %v", sub, err)
			}
			return
		}
		if err == nil {
			// Only a token signed with the secret may verify; the fuzzer cannot
			// forge one, so any other success is a bypass.
			t.Fatalf("garbage %q verified as %q", token, sub)
		}
		if sub != "" {
			t.Fatalf("a failed verification returned subject %q", sub)
		}
	})
}
