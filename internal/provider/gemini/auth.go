package gemini

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// Vertex AI access tokens.
//
// A vertex provider authenticates with one of, in this order:
//   - api_key (or a configured Authorization header): a static access token,
//     sent as it is (it expires within the hour; for tests and proxies);
//   - credentials_file: a Google credentials file;
//   - neither: Application Default Credentials (the file named by
//     GOOGLE_APPLICATION_CREDENTIALS, gcloud's application-default
//     credentials, or the metadata server on Google Cloud).
//
// Credentials files of these types are accepted: service_account (a key),
// external_account (workload identity federation, e.g. from AWS, where
// Lambda's own role credentials are exchanged for a Google token without a
// long-lived key), impersonated_service_account, authorized_user and
// external_account_authorized_user. Tokens are made by Google's
// golang.org/x/oauth2/google and replaced refreshMargin before they expire.

const (
	cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"
	// refreshMargin is how long before its expiry a token is replaced: a
	// token handed to a request stays valid while the request is sent, and
	// clock skew does not reach it. It is below the 5 minutes at which the
	// metadata server renews the token it hands out.
	refreshMargin = 4 * time.Minute
	// retryAfterFailure is how long a still-valid token is used before a
	// failed refresh is tried again.
	retryAfterFailure = 10 * time.Second
	// tokenFetchTimeout bounds one call to a token endpoint.
	tokenFetchTimeout = 30 * time.Second
)

// credentialTypes are the credentials file types a vertex provider takes.
var credentialTypes = map[string]google.CredentialsType{
	"service_account":                  google.ServiceAccount,
	"external_account":                 google.ExternalAccount,
	"impersonated_service_account":     google.ImpersonatedServiceAccount,
	"authorized_user":                  google.AuthorizedUser,
	"external_account_authorized_user": google.ExternalAccountAuthorizedUser,
}

// googleTokens is the token source of a vertex provider without a static
// token: from file, or from Application Default Credentials when file is
// empty. Token requests go through client's transport. The credentials are
// read and checked here, so a bad file fails at start-up; no token is
// fetched until the first request.
func googleTokens(file string, client *http.Client) (oauth2.TokenSource, error) {
	var transport http.RoundTripper
	if client != nil {
		transport = client.Transport
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient,
		&http.Client{Transport: transport, Timeout: tokenFetchTimeout})
	params := google.CredentialsParams{Scopes: []string{cloudPlatformScope}, EarlyTokenRefresh: refreshMargin}

	var data []byte
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("credentials_file: %w", err)
		}
		data = b
	} else {
		creds, err := google.FindDefaultCredentialsWithParams(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("no api_key or credentials_file, and no Application Default Credentials: %w", err)
		}
		if creds.JSON == nil {
			// The metadata server: Google's source renews its token
			// EarlyTokenRefresh before expiry.
			return creds.TokenSource, nil
		}
		data = creds.JSON
		file = "the Application Default Credentials file"
	}
	typ, err := credentialsType(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if typ == google.ServiceAccount {
		// Google's library reads the key only when it signs the first
		// token request; a broken key should fail here.
		if err := checkPrivateKey(data); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	fresh := func() (oauth2.TokenSource, error) {
		c, err := google.CredentialsFromJSONWithTypeAndParams(ctx, data, typ, params)
		if err != nil {
			return nil, err
		}
		return c.TokenSource, nil
	}
	if _, err := fresh(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &refreshingTokens{fresh: fresh, now: time.Now}, nil
}

// credentialsType reads the "type" of a credentials file and checks that a
// vertex provider takes it.
func credentialsType(data []byte) (google.CredentialsType, error) {
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return "", errors.New("not a Google credentials file (not JSON)")
	}
	t, ok := credentialTypes[f.Type]
	if !ok {
		return "", fmt.Errorf("credentials of type %q are not supported; use a service_account, external_account, impersonated_service_account, authorized_user or external_account_authorized_user file", f.Type)
	}
	return t, nil
}

// checkPrivateKey checks that a service account key file holds an RSA
// private key in PEM, as Google issues them (PKCS #8, or PKCS #1).
func checkPrivateKey(data []byte) error {
	var f struct {
		PrivateKey string `json:"private_key"`
	}
	_ = json.Unmarshal(data, &f) // the type was read from it already
	block, _ := pem.Decode([]byte(f.PrivateKey))
	if block == nil {
		return errors.New("the service account key has no PEM private_key")
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	return errors.New("the service account key's private_key is not an RSA private key")
}

// oauthCode is the shape of an OAuth error code ("invalid_grant").
var oauthCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// oauthErrorCode is the OAuth error code of a failed token request, or "":
// the "error" of the token endpoint's answer, which Google's libraries do
// not always parse out.
func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return ""
	}
	code := re.ErrorCode
	if code == "" {
		var body struct {
			Error any `json:"error"`
		}
		if json.Unmarshal(re.Body, &body) == nil {
			code, _ = body.Error.(string)
		}
	}
	if !oauthCode.MatchString(code) {
		return ""
	}
	return code
}

// refreshingTokens hands out one token until refreshMargin before it
// expires (half its lifetime for short-lived tokens), then fetches a new one
// from a token source built afresh: Google's sources cache their token until
// 10 seconds before expiry, so asking a cached one earlier would return the
// old token. When a refresh fails while the current token is still valid,
// that token is used for retryAfterFailure more before trying again.
type refreshingTokens struct {
	fresh func() (oauth2.TokenSource, error)
	now   func() time.Time

	mu        sync.Mutex
	tok       *oauth2.Token
	refreshAt time.Time
}

// Token implements oauth2.TokenSource.
func (r *refreshingTokens) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.tok != nil && now.Before(r.refreshAt) {
		return r.tok, nil
	}
	tok, err := r.fetch()
	if err != nil {
		if r.tok != nil && now.Before(r.tok.Expiry) {
			r.refreshAt = now.Add(retryAfterFailure)
			return r.tok, nil
		}
		return nil, err
	}
	r.tok, r.refreshAt = tok, refreshTime(tok, now)
	return tok, nil
}

func (r *refreshingTokens) fetch() (*oauth2.Token, error) {
	ts, err := r.fresh()
	if err != nil {
		return nil, err
	}
	tok, err := ts.Token()
	if err != nil {
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, errors.New("the token endpoint returned no access token")
	}
	return tok, nil
}

// refreshTime is when a token fetched at now is replaced.
func refreshTime(tok *oauth2.Token, now time.Time) time.Time {
	if tok.Expiry.IsZero() {
		return now.AddDate(100, 0, 0) // a token that does not expire
	}
	margin := max(min(refreshMargin, tok.Expiry.Sub(now)/2), 0)
	return tok.Expiry.Add(-margin)
}
