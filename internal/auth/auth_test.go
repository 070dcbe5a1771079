package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const hsSecret = "0123456789abcdef0123456789abcdef-test"

func TestNewKeyHasThePrefixEnoughRandomnessAndAStableHash(t *testing.T) {
	s1, id1, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s2, id2, _ := NewKey()
	if !strings.HasPrefix(s1, KeyPrefix) || s1 == s2 || id1 == id2 {
		t.Fatalf("keys %q %q ids %q %q", s1, s2, id1, id2)
	}
	if len(s1)-len(KeyPrefix) < 43 { // 32 bytes in base64url
		t.Errorf("secret too short: %d", len(s1))
	}
	if Hash(s1) != Hash(s1) || Hash(s1) == Hash(s2) || len(Hash(s1)) != 64 || strings.Contains(Hash(s1), s1) {
		t.Error("hash is not a stable SHA-256 hex")
	}
}

func TestCredentialReadsBearerAndXAPIKey(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want string
	}{
		{"a bearer token", http.Header{"Authorization": {"Bearer sk-gw-abc"}}, "sk-gw-abc"},
		{"a lower-case scheme", http.Header{"Authorization": {"bearer  sk-gw-abc "}}, "sk-gw-abc"},
		{"an x-api-key header", http.Header{"X-Api-Key": {"sk-gw-xyz"}}, "sk-gw-xyz"},
		{"a basic scheme is not a credential", http.Header{"Authorization": {"Basic Zm9vOmJhcg=="}}, ""},
		{"nothing", http.Header{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Credential(tt.h); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEqualIsExact(t *testing.T) {
	if !Equal("admin-secret", "admin-secret") || Equal("admin-secret", "admin-secreT") || Equal("", "x") {
		t.Fatal("Equal is wrong")
	}
}

func TestIssuedHS256TokensVerifyAndExpire(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	j, err := NewJWT(JWTConfig{HS256Secret: hsSecret, TTL: time.Minute}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := j.Issue("key_1", time.Time{})
	if err != nil || !exp.Equal(now.Add(time.Minute)) {
		t.Fatal(err, exp)
	}
	if sub, err := j.Verify(tok); err != nil || sub != "key_1" {
		t.Fatalf("sub=%q err=%v", sub, err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := j.Verify(tok); err == nil {
		t.Fatal("an expired token verified")
	}
}

func TestIssuedTokenNeverOutlivesTheKey(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	j, _ := NewJWT(JWTConfig{HS256Secret: hsSecret, TTL: time.Hour}, func() time.Time { return now })
	_, exp, _ := j.Issue("k", now.Add(5*time.Minute))
	if !exp.Equal(now.Add(5 * time.Minute)) {
		t.Fatalf("exp = %v", exp)
	}
}

func TestVerifyRefusesForgedAndUnpinnedTokens(t *testing.T) {
	now := time.Now()
	j, _ := NewJWT(JWTConfig{HS256Secret: hsSecret}, nil)
	claims := jwt.MapClaims{"sub": "key_1", "exp": now.Add(time.Hour).Unix()}

	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	otherSecret, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("another-secret-another-secret-xx"))
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, claims).SignedString([]byte(hsSecret))
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "key_1"}).SignedString([]byte(hsSecret))
	noSub, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}).SignedString([]byte(hsSecret))

	for name, tok := range map[string]string{
		"alg none": none, "a different secret": otherSecret, "an algorithm that is not pinned": hs512,
		"no exp": noExp, "no subject": noSub, "garbage": "eyJ.not.a-token",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := j.Verify(tok); err == nil {
				t.Fatal("verified")
			}
		})
	}
}

func TestRS256TokensFromAnExternalIssuerVerifyAndHS256IsNotAccepted(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	j, err := NewJWT(JWTConfig{RS256PublicKeyPEM: pemKey, Issuer: "https://idp.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": "key_9", "iss": "https://idp.example", "exp": time.Now().Add(time.Hour).Unix()}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(priv)
	if sub, err := j.Verify(tok); err != nil || sub != "key_9" {
		t.Fatalf("sub=%q err=%v", sub, err)
	}
	// Key confusion: an HS256 token "signed" with the public key bytes must fail.
	confused, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(pemKey))
	if _, err := j.Verify(confused); err == nil {
		t.Fatal("an HS256 token signed with the RSA public key verified")
	}
	wrongIss, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "k", "iss": "evil", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(priv)
	if _, err := j.Verify(wrongIss); err == nil {
		t.Fatal("a token from another issuer verified")
	}
	if j.CanIssue() {
		t.Error("an RS256-only verifier cannot issue tokens")
	}
}

func TestNewJWTRejectsWeakSecretsAndBadKeys(t *testing.T) {
	if _, err := NewJWT(JWTConfig{HS256Secret: "short"}, nil); err == nil {
		t.Error("a short secret was accepted")
	}
	if _, err := NewJWT(JWTConfig{RS256PublicKeyPEM: "not pem"}, nil); err == nil {
		t.Error("a bad PEM was accepted")
	}
	if j, err := NewJWT(JWTConfig{}, nil); j != nil || err != nil {
		t.Error("no config must give no verifier")
	}
}
