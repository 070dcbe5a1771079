package gemini

import (
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/provider"
)

const testKey = "AIzaSy-test-key-0123456789"

// newTestProvider builds a provider with a fixed clock and id so output is stable.
func newTestProvider(t testing.TB, cfg provider.Config) *Provider {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "g"
	}
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Kind == KindVertex {
		if cfg.Project == "" {
			cfg.Project = "my-project"
		}
		if cfg.Location == "" {
			cfg.Location = "us-central1"
		}
	}
	p, err := New(cfg, provider.Deps{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p.now = func() time.Time { return time.Unix(1700000000, 0) }
	p.newID = func() string { return "chatcmpl-test" }
	return p
}
