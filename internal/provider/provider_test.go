package provider

import (
	"testing"
)

func TestValidBaseURL(t *testing.T) {
	for _, ok := range []string{"https://api.example.com", "http://127.0.0.1:8080/v1"} {
		if !ValidBaseURL(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "api.example.com", "ftp://example.com", "https://", "://x"} {
		if ValidBaseURL(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestConfigHeaderCarriesTheConfiguredValues(t *testing.T) {
	h := Config{Headers: map[string]Secret{"x-tenant": "acme"}}.Header()
	if h.Get("X-Tenant") != "acme" || len(h) != 1 {
		t.Errorf("Header() = %v", h)
	}
	if h := (Config{}).Header(); h == nil || len(h) != 0 {
		t.Errorf("Header() of no headers = %#v, want empty", h)
	}
}
