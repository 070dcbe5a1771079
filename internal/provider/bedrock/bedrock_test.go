package bedrock

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// TestNameAndKind: the provider reports its configured name and its family.
func TestNameAndKind(t *testing.T) {
	isolateAWS(t)
	p, err := New(context.Background(), provider.Config{Name: "bedrock-eu", Region: "eu-west-3"}, provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "bedrock-eu" || p.Kind() != "bedrock" {
		t.Errorf("Name, Kind = %q, %q; want bedrock-eu, bedrock", p.Name(), p.Kind())
	}
}

// TestRequestsAreSignedWithSigV4: the fake receives a SigV4 Authorization
// header for the bedrock service from the default credential chain, and no
// header carries the secret key.
func TestRequestsAreSignedWithSigV4(t *testing.T) {
	for _, tt := range []struct {
		name, region, wantScope string
	}{
		{"the region comes from AWS_REGION by default", "", "/us-east-1/bedrock/aws4_request"},
		{"the configured region wins over AWS_REGION", "eu-west-3", "/eu-west-3/bedrock/aws4_request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWS(t)
			f := providertest.NewFake(t, jsonAnswer(200, "", converseAnswer))
			p, err := New(context.Background(), provider.Config{Name: "bedrock", BaseURL: f.URL, Region: tt.region}, provider.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Chat(context.Background(), chatRequest(t, hiRequest)); err != nil {
				t.Fatalf("Chat: %v", err)
			}
			h := f.Requests()[0].Header
			auth := h.Get("Authorization")
			if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+testAccessKey+"/") || !strings.Contains(auth, tt.wantScope) ||
				!strings.Contains(auth, "Signature=") {
				t.Errorf("Authorization = %q, want SigV4 with scope %s", auth, tt.wantScope)
			}
			if h.Get("X-Amz-Date") == "" {
				t.Error("X-Amz-Date is missing")
			}
			for k, vs := range h {
				for _, v := range vs {
					if strings.Contains(v, testSecretKey) {
						t.Errorf("header %s carries the secret key", k)
					}
				}
			}
		})
	}
}

// TestNewNeedsARegion: without any region New fails with a clear error
// instead of failing every request.
func TestNewNeedsARegion(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_REGION", "")
	_, err := New(context.Background(), provider.Config{Name: "bedrock"}, provider.Deps{})
	if err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("New = %v, want an error about the region", err)
	}
}

// TestNewWorksWithACABundle: with AWS_CA_BUNDLE set (as on the gateway's
// machines) New does not panic and requests still go through.
func TestNewWorksWithACABundle(t *testing.T) {
	isolateAWS(t)
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	f := providertest.NewFake(t, jsonAnswer(200, "", converseAnswer))
	p, err := New(context.Background(), provider.Config{Name: "bedrock", BaseURL: f.URL}, provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(context.Background(), chatRequest(t, hiRequest)); err != nil {
		t.Errorf("Chat: %v", err)
	}
}

// TestRawBodyIsUsedWithoutParsedBody: a request carrying only the raw JSON
// is decoded and translated.
func TestRawBodyIsUsedWithoutParsedBody(t *testing.T) {
	p, f := newTestProvider(t, jsonAnswer(200, "", converseAnswer))
	req := &provider.ChatRequest{Model: testModel, Raw: []byte(hiRequest)}
	if _, err := p.Chat(context.Background(), req); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if body := string(f.Requests()[0].Body); !strings.Contains(body, `"text":"hi"`) {
		t.Errorf("Bedrock got %s, want the user's text", body)
	}
}
