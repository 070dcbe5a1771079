package config_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/provider"
)

// providerOfKind is a [[providers]] entry of kind k with what its kind requires.
func providerOfKind(k provider.Kind, withBaseURL bool) string {
	s := fmt.Sprintf("[[providers]]\nkind = %q\nmodels = [\"m\"]\n", k.Name)
	if withBaseURL {
		s += "base_url = \"https://upstream.example/v1\"\n"
	}
	if k.Name == "vertex" {
		s += "project = \"p\"\nlocation = \"us-central1\"\n"
	}
	return s
}

func TestEveryKindInTheProviderTableIsAcceptedByValidation(t *testing.T) {
	for _, k := range provider.Kinds() {
		if _, err := config.Parse(providerOfKind(k, k.NeedsBaseURL()), emptyEnv); err != nil {
			t.Errorf("kind %s: %v", k.Name, err)
		}
	}
}

func TestBaseURLIsRequiredExactlyForKindsWithoutADefault(t *testing.T) {
	for _, k := range provider.Kinds() {
		_, err := config.Parse(providerOfKind(k, false), emptyEnv)
		if got := err != nil && strings.Contains(err.Error(), "providers[0].base_url"); got != k.NeedsBaseURL() {
			t.Errorf("kind %s without base_url: err = %v, want a base_url error: %v", k.Name, err, k.NeedsBaseURL())
		}
	}
}

func TestKindsNamesEveryKindOfTheTable(t *testing.T) {
	var want []string
	for _, k := range provider.Kinds() {
		want = append(want, k.Name)
	}
	if !slices.Equal(config.Kinds, want) {
		t.Errorf("config.Kinds = %v, want %v", config.Kinds, want)
	}
}

func TestAnUnknownKindIsRejectedWithTheKnownOnes(t *testing.T) {
	_, err := config.Parse("[[providers]]\nkind = \"nope\"\nmodels = [\"m\"]\n", emptyEnv)
	if err == nil || !strings.Contains(err.Error(), "providers[0].kind") || !strings.Contains(err.Error(), "groq") {
		t.Errorf("err = %v, want a providers[0].kind error listing the kinds", err)
	}
}
