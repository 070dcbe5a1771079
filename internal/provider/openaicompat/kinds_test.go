package openaicompat

import (
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/provider"
)

func TestServesExactlyTheOpenAICompatKindsOfTheTable(t *testing.T) {
	for _, k := range provider.Kinds() {
		if got, want := IsKind(k.Name), k.Family == provider.FamilyOpenAICompat; got != want {
			t.Errorf("IsKind(%q) = %v, want %v (family %s)", k.Name, got, want, k.Family)
		}
	}
	if IsKind("nope") {
		t.Error(`IsKind("nope") = true`)
	}
}

func TestNewTakesDefaultURLAndStreamOptionsFromTheTable(t *testing.T) {
	for _, k := range provider.Kinds() {
		if k.Family != provider.FamilyOpenAICompat {
			continue
		}
		p, err := New(provider.Config{Name: k.Name, Kind: k.Name}, provider.Deps{})
		if k.NeedsBaseURL() {
			if err == nil || !strings.Contains(err.Error(), "base_url is required") {
				t.Errorf("%s without base_url: err = %v, want base_url is required", k.Name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", k.Name, err)
			continue
		}
		if want := strings.TrimRight(k.DefaultURL, "/"); p.base != want {
			t.Errorf("%s: base = %q, want %q", k.Name, p.base, want)
		}
		if p.streamOpts == k.OmitStreamOptions {
			t.Errorf("%s: sends stream_options = %v, table says omit = %v", k.Name, p.streamOpts, k.OmitStreamOptions)
		}
	}
}
