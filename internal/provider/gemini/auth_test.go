package gemini

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// tokenServer is a fake Google OAuth token endpoint for service account
// keys: it checks the signed JWT assertion against the key's public half and
// answers with numbered access tokens that expire after lifetime.
type tokenServer struct {
	*httptest.Server
	key      *rsa.PrivateKey
	email    string
	lifetime time.Duration
	// fail, when set, is the error answer (status 400).
	fail string

	mu      sync.Mutex
	fetches []time.Time
}

func newTokenServer(t *testing.T, lifetime time.Duration) *tokenServer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ts := &tokenServer{key: key, email: "gateway@my-project.iam.gserviceaccount.com", lifetime: lifetime}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.Form.Get("assertion"), claims, func(*jwt.Token) (any, error) { return &ts.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(ts.URL+"/token"), jwt.WithIssuer(ts.email))
	if err != nil || claims["scope"] != cloudPlatformScope {
		http.Error(w, fmt.Sprintf(`{"error":"invalid_grant","error_description":"bad assertion: %v, scope %v"}`, err, claims["scope"]), http.StatusBadRequest)
		return
	}
	ts.mu.Lock()
	ts.fetches = append(ts.fetches, time.Now())
	n := len(ts.fetches)
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if ts.fail != "" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, ts.fail)
		return
	}
	fmt.Fprintf(w, `{"access_token":"ya29.token-%d","expires_in":%d,"token_type":"Bearer"}`, n, int(ts.lifetime/time.Second))
}

func (ts *tokenServer) fetchTimes() []time.Time {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]time.Time(nil), ts.fetches...)
}

// keyFile writes a service account key file whose token_uri is the fake.
func (ts *tokenServer) keyFile(t *testing.T) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(ts.key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "my-project", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": ts.email, "client_id": "1", "token_uri": ts.URL + "/token",
	})
	return writeFile(t, "key.json", string(b))
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// vertexWith builds a vertex provider with cfg's credentials against up.
func vertexWith(t *testing.T, up *fakeUpstream, cfg provider.Config) *Provider {
	t.Helper()
	cfg.Name, cfg.Kind, cfg.BaseURL, cfg.Project, cfg.Location = "vx", KindVertex, up.URL, "my-project", "us-central1"
	p, err := New(cfg, provider.Deps{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func bearers(up *fakeUpstream) []string {
	var out []string
	for _, r := range up.Requests() {
		out = append(out, r.Header.Get("Authorization"))
	}
	return out
}

func TestVertexTokensFromAServiceAccountKeyAreRenewedBeforeTheyExpire(t *testing.T) {
	const lifetime = 4 * time.Second // renewed half-way: at 2 s
	ts := newTokenServer(t, lifetime)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "streamGenerateContent") {
			sseReply(streamLast)(w, r)
			return
		}
		providertest.JSON(200, textAnswer)(w, r)
	})
	p := vertexWith(t, up, provider.Config{CredentialsFile: ts.keyFile(t)})
	if n := len(ts.fetchTimes()); n != 0 {
		t.Fatalf("%d tokens fetched at start-up, want none before the first request", n)
	}
	chat := func() {
		t.Helper()
		if _, err := p.Chat(context.Background(), chatReq(t, "gemini-3.5-flash")); err != nil {
			t.Fatal(err)
		}
	}
	chat()
	s, err := p.ChatStream(context.Background(), chatReq(t, "gemini-3.5-flash"))
	if err := providertest.StreamErr(t, s, err); err != nil {
		t.Fatal(err)
	}
	if got := bearers(up); fmt.Sprint(got) != "[Bearer ya29.token-1 Bearer ya29.token-1]" {
		t.Fatalf("upstream saw %v, want the first token twice (reused, not fetched per request)", got)
	}

	first := ts.fetchTimes()[0]
	// Wait for the renewal time the client set itself (from its own receipt
	// of the token: a slow first answer moves it later than first's half-life).
	r := p.tokens.(*refreshingTokens)
	r.mu.Lock()
	renewAt := r.refreshAt
	r.mu.Unlock()
	if !renewAt.Before(first.Add(lifetime)) {
		t.Fatalf("renewal set for %v after the first token's fetch, not before its expiry", renewAt.Sub(first))
	}
	time.Sleep(time.Until(renewAt) + 50*time.Millisecond)
	chat()
	fetches := ts.fetchTimes()
	if len(fetches) != 2 {
		t.Fatalf("%d token fetches, want a second one once the first token was near its expiry", len(fetches))
	}
	if expiry := first.Add(lifetime); !fetches[1].Before(expiry) {
		t.Errorf("the second token was fetched %v after the first one expired, want before", fetches[1].Sub(expiry))
	}
	if got := bearers(up)[2]; got != "Bearer ya29.token-2" {
		t.Errorf("after the renewal the upstream saw %q, want the new token", got)
	}
}

func TestRefreshingTokensRenewEarlyAndRideOutAFailedRenewal(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var fail bool
	n := 0
	r := &refreshingTokens{now: func() time.Time { return now }, fresh: func() (oauth2.TokenSource, error) {
		if fail {
			return nil, errors.New("token endpoint down")
		}
		n++
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fmt.Sprintf("t%d", n), Expiry: now.Add(time.Hour)}), nil
	}}
	get := func() string {
		t.Helper()
		tok, err := r.Token()
		if err != nil {
			t.Fatalf("at %v: %v", now, err)
		}
		return tok.AccessToken
	}
	if got := get(); got != "t1" {
		t.Fatalf("first token %q", got)
	}
	now = now.Add(time.Hour - refreshMargin - time.Second)
	if got := get(); got != "t1" {
		t.Errorf("just before the margin: %q, want t1 reused", got)
	}
	now = now.Add(2 * time.Second)
	if got := get(); got != "t2" {
		t.Errorf("inside the margin, before expiry: %q, want a renewed t2", got)
	}

	now = now.Add(time.Hour - refreshMargin + time.Second) // t2 is near its expiry
	fail = true
	if got := get(); got != "t2" {
		t.Errorf("a failed renewal while t2 is valid gave %q, want t2 kept", got)
	}
	fail = false
	if got := get(); got != "t2" {
		t.Errorf("within %v of a failed renewal: %q, want t2 (no retry yet)", retryAfterFailure, got)
	}
	now = now.Add(retryAfterFailure)
	if got := get(); got != "t3" {
		t.Errorf("after the back-off: %q, want t3", got)
	}

	now = now.Add(2 * time.Hour) // t3 expired
	fail = true
	if _, err := r.Token(); err == nil {
		t.Error("an expired token was handed out after a failed renewal")
	}
}

func TestAFailedTokenFetchIsARetryableAuthErrorAndNothingReachesVertex(t *testing.T) {
	ts := newTokenServer(t, time.Hour)
	ts.fail = `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`
	up := newUpstream(t, providertest.JSON(200, textAnswer))
	p := vertexWith(t, up, provider.Config{CredentialsFile: ts.keyFile(t)})
	_, err := p.Chat(context.Background(), chatReq(t, "m"))
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.Code != openai.CodeUpstreamAuth || !oe.Retryable || oe.Provider != "vx" {
		t.Fatalf("err = %#v, want a retryable upstream_auth_error of provider vx", err)
	}
	if !strings.Contains(oe.Message, "invalid_grant") || strings.Contains(oe.Message, "Signature") {
		t.Errorf("message %q: want the OAuth error code and not the endpoint's description", oe.Message)
	}
	_, err = p.ChatStream(context.Background(), chatReq(t, "m"))
	if !errors.As(err, &oe) || oe.Code != openai.CodeUpstreamAuth {
		t.Errorf("stream err = %v, want upstream_auth_error", err)
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("%d requests reached Vertex without a token", n)
	}
}

func TestAnAccessTokenTheUpstreamEchoesIsRedacted(t *testing.T) {
	ts := newTokenServer(t, time.Hour)
	up := newUpstream(t, providertest.JSON(500, `{"error":{"code":500,"message":"proxy saw Authorization: Bearer ya29.token-1","status":"INTERNAL"}}`))
	p := vertexWith(t, up, provider.Config{CredentialsFile: ts.keyFile(t)})
	_, err := p.Chat(context.Background(), chatReq(t, "m"))
	if err == nil || strings.Contains(err.Error(), "ya29.token-1") {
		t.Fatalf("err = %v, want an error without the access token", err)
	}
}

// Concurrent requests share the provider's secrets: each redacts the access
// token (and the configured header values) from what the upstream says, and
// none writes into a slice another reads (go test -race: the token was
// appended into spare capacity of the shared configured secrets).
func TestConcurrentRequestsRedactTheAccessTokenWithoutARace(t *testing.T) {
	ts := newTokenServer(t, time.Hour)
	up := newUpstream(t, providertest.JSON(500, `{"error":{"code":500,"message":"proxy saw Bearer ya29.token-1 and h-one-secret","status":"INTERNAL"}}`))
	p := vertexWith(t, up, provider.Config{CredentialsFile: ts.keyFile(t),
		Headers: map[string]provider.Secret{"X-One": "h-one-secret", "X-Two": "h-two-secret"}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := p.Chat(context.Background(), chatReq(t, "m"))
			if err == nil || strings.Contains(err.Error(), "ya29.token-1") || strings.Contains(err.Error(), "h-one-secret") {
				t.Errorf("err = %v, want an error without the token or the header value", err)
			}
		})
	}
	wg.Wait()
}

func TestApplicationDefaultCredentialsAreUsedWhenNothingElseIsConfigured(t *testing.T) {
	t.Run("GOOGLE_APPLICATION_CREDENTIALS", func(t *testing.T) {
		ts := newTokenServer(t, time.Hour)
		t.Setenv("HOME", t.TempDir())
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", ts.keyFile(t))
		up := newUpstream(t, providertest.JSON(200, textAnswer))
		p := vertexWith(t, up, provider.Config{})
		if _, err := p.Chat(context.Background(), chatReq(t, "m")); err != nil {
			t.Fatal(err)
		}
		if got := bearers(up); fmt.Sprint(got) != "[Bearer ya29.token-1]" {
			t.Errorf("upstream saw %v, want the token made from the file the variable names", got)
		}
	})
	t.Run("the metadata server", func(t *testing.T) {
		meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Metadata-Flavor", "Google")
			switch {
			case r.Header.Get("Metadata-Flavor") != "Google":
				http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
			case r.URL.Path == "/computeMetadata/v1/instance/service-accounts/default/token":
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"access_token":"ya29.from-metadata","expires_in":3599,"token_type":"Bearer"}`)
			case r.URL.Path == "/computeMetadata/v1/project/project-id":
				fmt.Fprint(w, "my-project")
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(meta.Close)
		t.Setenv("HOME", t.TempDir())
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
		t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(meta.URL, "http://"))
		up := newUpstream(t, providertest.JSON(200, textAnswer))
		p := vertexWith(t, up, provider.Config{})
		if _, err := p.Chat(context.Background(), chatReq(t, "m")); err != nil {
			t.Fatal(err)
		}
		if got := bearers(up); fmt.Sprint(got) != "[Bearer ya29.from-metadata]" {
			t.Errorf("upstream saw %v, want the metadata server's token", got)
		}
	})
}

func TestVertexCredentialsThatCannotWorkFailAtStartUp(t *testing.T) {
	ts := newTokenServer(t, time.Hour)
	key := ts.keyFile(t)
	cases := []struct {
		name    string
		cfg     provider.Config
		env     string // GOOGLE_APPLICATION_CREDENTIALS
		wantErr string
	}{
		{"a static token and a credentials file", provider.Config{APIKey: "ya29.static", CredentialsFile: key}, "", "not both"},
		{"an Authorization header and a credentials file",
			provider.Config{Headers: map[string]provider.Secret{"Authorization": "Bearer x"}, CredentialsFile: key}, "", "not both"},
		{"a credentials file that does not exist", provider.Config{CredentialsFile: filepath.Join(t.TempDir(), "none.json")}, "", "credentials_file"},
		{"a file that is not JSON", provider.Config{CredentialsFile: writeFile(t, "k.json", "not json")}, "", "not a Google credentials file"},
		{"an OAuth client secrets file", provider.Config{CredentialsFile: writeFile(t, "k.json", `{"installed":{"client_id":"x"}}`)}, "", "not supported"},
		{"a service account key without its private key",
			provider.Config{CredentialsFile: writeFile(t, "k.json", `{"type":"service_account","client_email":"a@b","token_uri":"http://127.0.0.1:1/token"}`)}, "", "k.json"},
		{"no credentials and a missing GOOGLE_APPLICATION_CREDENTIALS file", provider.Config{}, filepath.Join(t.TempDir(), "none.json"), "Application Default Credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", tc.env)
			tc.cfg.Name, tc.cfg.Kind, tc.cfg.Project, tc.cfg.Location = "vx", KindVertex, "p", "us-central1"
			_, err := New(tc.cfg, provider.Deps{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error shows the key: %v", err)
			}
		})
	}
	if n := len(ts.fetchTimes()); n != 0 {
		t.Errorf("%d tokens fetched by configurations that fail", n)
	}
}
