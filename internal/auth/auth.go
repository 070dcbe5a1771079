// Package auth issues and checks credentials: virtual keys (`sk-gw-…`, stored
// only as SHA-256), short-lived JWTs (HS256 with a shared secret, RS256 with a
// public key; the algorithm is pinned, `exp` is required, `alg: none` never
// passes) and the admin key (compared in constant time).
package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// KeyPrefix starts every virtual key.
const KeyPrefix = "sk-gw-"

// NewKey returns a new virtual key secret (32 random bytes, base64url) and a
// short public id derived from fresh randomness.
func NewKey() (secret, id string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", "", err
	}
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:]), "key_" + hex.EncodeToString(idb[:]), nil
}

// Hash is the stored form of a secret: hex SHA-256.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// Credential reads the caller's credential: `Authorization: Bearer <x>` or
// `x-api-key: <x>`. Empty when neither is present.
func Credential(h http.Header) string {
	if a := h.Get("Authorization"); a != "" {
		if scheme, rest, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(rest)
		}
		return ""
	}
	return strings.TrimSpace(h.Get("X-Api-Key"))
}

// LooksLikeJWT reports whether a credential has the three-part JWT shape.
func LooksLikeJWT(cred string) bool {
	return strings.Count(cred, ".") == 2 && strings.HasPrefix(cred, "eyJ")
}

// Claims are the gateway's JWT claims: the key id in `sub`.
type Claims struct {
	jwt.RegisteredClaims
}

// JWT verifies (and, with an HS256 secret, issues) tokens.
type JWT struct {
	hsSecret []byte
	rsPublic *rsa.PublicKey
	issuer   string
	ttl      time.Duration
	now      func() time.Time
}

// JWTConfig configures token checking.
type JWTConfig struct {
	// HS256Secret enables HS256 tokens (and POST /auth/token).
	HS256Secret string
	// RS256PublicKeyPEM enables RS256 tokens signed by an external issuer.
	RS256PublicKeyPEM string
	// Issuer, when set, is required in `iss` and written into issued tokens.
	Issuer string
	// TTL of issued tokens (default 15 minutes).
	TTL time.Duration
}

// NewJWT builds a verifier; it returns nil, nil when neither algorithm is configured.
func NewJWT(c JWTConfig, now func() time.Time) (*JWT, error) {
	if c.HS256Secret == "" && c.RS256PublicKeyPEM == "" {
		return nil, nil
	}
	if now == nil {
		now = time.Now
	}
	j := &JWT{issuer: c.Issuer, ttl: c.TTL, now: now}
	if j.ttl <= 0 {
		j.ttl = 15 * time.Minute
	}
	if c.HS256Secret != "" {
		if len(c.HS256Secret) < 32 {
			return nil, errors.New("auth: jwt hs256 secret must be at least 32 characters")
		}
		j.hsSecret = []byte(c.HS256Secret)
	}
	if c.RS256PublicKeyPEM != "" {
		k, err := jwt.ParseRSAPublicKeyFromPEM([]byte(c.RS256PublicKeyPEM))
		if err != nil {
			return nil, fmt.Errorf("auth: jwt rs256 public key: %w", err)
		}
		j.rsPublic = k
	}
	return j, nil
}

// CanIssue reports whether POST /auth/token can sign tokens.
func (j *JWT) CanIssue() bool { return j != nil && j.hsSecret != nil }

// Issue signs an HS256 token for a key id, valid for the configured TTL (or
// until the key's own expiry when sooner).
func (j *JWT) Issue(keyID string, keyExpiry time.Time) (token string, exp time.Time, err error) {
	if !j.CanIssue() {
		return "", time.Time{}, errors.New("auth: no hs256 secret configured")
	}
	now := j.now()
	exp = now.Add(j.ttl)
	if !keyExpiry.IsZero() && keyExpiry.Before(exp) {
		exp = keyExpiry
	}
	c := Claims{RegisteredClaims: jwt.RegisteredClaims{
		Subject: keyID, Issuer: j.issuer, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	}}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(j.hsSecret)
	return token, exp, err
}

// ErrInvalidToken is any token that does not verify.
var ErrInvalidToken = errors.New("invalid or expired token")

// Verify checks a token and returns its subject (a key id). Only the
// configured algorithms are accepted; `exp` is required.
func (j *JWT) Verify(token string) (string, error) {
	if j == nil {
		return "", ErrInvalidToken
	}
	var methods []string
	if j.hsSecret != nil {
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if j.rsPublic != nil {
		methods = append(methods, jwt.SigningMethodRS256.Alg())
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithTimeFunc(j.now)}
	if j.issuer != "" {
		opts = append(opts, jwt.WithIssuer(j.issuer))
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		switch t.Method.Alg() {
		case jwt.SigningMethodHS256.Alg():
			return j.hsSecret, nil
		case jwt.SigningMethodRS256.Alg():
			return j.rsPublic, nil
		}
		return nil, ErrInvalidToken
	}, opts...)
	if err != nil || c.Subject == "" {
		return "", ErrInvalidToken
	}
	return c.Subject, nil
}
