package config_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/config"
)

// fuzzEnv sets a few variables, so ${VAR} and ${VAR:-default} both expand.
func fuzzEnv(name string) string {
	switch name {
	case "OPENAI_API_KEY", "UPSTREAM_KEY", "ADMIN_KEY":
		return "sk-fuzz-0123456789"
	case "JWT_SECRET":
		return "jwt-fuzz-secret-0123456789abcdefghij"
	case "BASE":
		return "http://127.0.0.1:1/v1"
	}
	return ""
}

func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("example.toml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(example),
		"[[providers]]\nkind = \"mock\"\nmodels = [\"mock-echo\"]\n",
		"[[providers]]\nname = \"a\"\nkind = \"custom\"\nbase_url = \"${BASE}\"\napi_key = \"${UPSTREAM_KEY}\"\nmodels = [\"m\"]\n" +
			"[[routes]]\nmodel = \"r\"\nstrategy = \"ab\"\n[[routes.targets]]\nprovider = \"a\"\nmodel = \"m\"\nweight = 100.0\n",
		"[defaults]\ntimeout = \"200ms\"\n[defaults.retry]\nmax_retries = -1\n[defaults.breaker]\nfailure_threshold = 0\nrecovery_timeout = \"-1s\"\n",
		"[server]\nmax_body_bytes = -1\nrequest_timeout = \"1h\"\n[auth]\nenabled = true\njwt_hs256_secret = \"${JWT_SECRET:-short}\"\n",
		"[store]\nkind = \"dynamodb\"\ntable = \"${TABLE:-t}\"\n[aliases]\nx = \"y\"\n",
		"[[routes]]\nmodel = \"r\"\nstrategy = \"conditional\"\n[[routes.conditions]]\nfields = {temperature = \"0\"}\n",
		"providers = 1", "[[providers]]\nkind = \"mock\"\nunknown = true\n", "a = \"${", "= = =", "\x00", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := config.Parse(text, fuzzEnv)
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a configuration with its error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Fatalf("error does not say where it comes from: %v", err)
			}
			return
		}
		// What Parse accepts stays valid and can be used by the rest of the gateway.
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a configuration that Validate then refuses: %v", err)
		}
		_ = c.RetryPolicy(nil)
		_ = c.BreakerConfig()
		_ = c.ModelNames()
		for _, p := range c.Providers {
			_ = p.ProviderConfig(c.Defaults.Timeout)
		}
		for i := range c.Routes {
			_ = c.RetryPolicy(c.Routes[i].Retry)
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("the configuration does not render as JSON (admin /config): %v", err)
		}
	})
}
