package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/config"
)

// writeFile writes a config file for Load and returns its path.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// layered sets every setting the stack owns, and the cache, to values the
// environment in the tests below differs from.
const layered = mockOnly + `
[auth]
enabled = false
[store]
kind = "memory"
endpoint = "http://127.0.0.1:8000"
[cache]
enabled = true
ttl = "5m"
[metrics]
namespace = "FileNS"
`

// settings is what the layering tests look at.
type settings struct {
	auth     bool
	store    string
	table    string
	endpoint string
	cache    bool
	ttl      time.Duration
	ns       string
}

func settingsOf(c *config.Config) settings {
	return settings{c.Auth.Enabled, c.Store.Kind, c.Store.Table, c.Store.Endpoint, c.Cache.Enabled, c.Cache.TTL, c.Metrics.Namespace}
}

func TestTheEnvironmentOverridesTheFileWhichOverridesTheDefaults(t *testing.T) {
	tests := []struct {
		name string
		file string // "" for the environment-only path
		env  []string
		want settings
	}{
		{name: "defaults alone", env: nil,
			want: settings{false, "memory", "", "", true, time.Hour, "AIGateway"}},
		{name: "the file over the defaults", file: layered,
			want: settings{false, "memory", "", "http://127.0.0.1:8000", true, 5 * time.Minute, "FileNS"}},
		{name: "the environment over the file where both set a setting", file: layered,
			env:  []string{"GATEWAY_AUTH", "true", "GATEWAY_STORE", "dynamodb", "TABLE_NAME", "t", "GATEWAY_CACHE", "false", "GATEWAY_METRICS_NAMESPACE", "EnvNS"},
			want: settings{true, "dynamodb", "t", "http://127.0.0.1:8000", false, 5 * time.Minute, "EnvNS"}},
		{name: "an empty variable is unset: the file's value stands", file: layered,
			env:  []string{"GATEWAY_AUTH", "", "GATEWAY_METRICS_NAMESPACE", ""},
			want: settings{false, "memory", "", "http://127.0.0.1:8000", true, 5 * time.Minute, "FileNS"}},
		{name: "a locked variable keeps the file out even when unset", file: layered,
			env:  []string{config.LockedEnv, "GATEWAY_AUTH, DYNAMODB_ENDPOINT", "GATEWAY_AUTH", "true"},
			want: settings{true, "memory", "", "", true, 5 * time.Minute, "FileNS"}},
		{name: "a locked variable keeps a zero of the file out: the default applies", file: mockOnly + "[cache]\nttl = \"0s\"\n",
			env:  []string{config.LockedEnv, "GATEWAY_CACHE_TTL"},
			want: settings{false, "memory", "", "", true, time.Hour, "AIGateway"}},
		{name: "the environment over the defaults without a file",
			env:  []string{"GATEWAY_AUTH", "true", "GATEWAY_CACHE", "false", "GATEWAY_CACHE_TTL", "90s", "GATEWAY_METRICS_NAMESPACE", "EnvNS"},
			want: settings{true, "memory", "", "", false, 90 * time.Second, "EnvNS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			c, err := config.Load(path, env(tt.env...))
			if err != nil {
				t.Fatal(err)
			}
			if got := settingsOf(c); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestAnOverriddenFileValueIsNamedInTheWarningsAndTheSource(t *testing.T) {
	path := writeFile(t, layered)
	c, err := config.Load(path, env("GATEWAY_AUTH", "true", "GATEWAY_CACHE_TTL", "5m", config.LockedEnv, "DYNAMODB_ENDPOINT"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"config: auth.enabled from the file is overridden by GATEWAY_AUTH",
		"config: store.endpoint from the file is ignored: GATEWAY_LOCKED locks it to the environment, which leaves it unset (the default applies)",
	}
	if !slices.Equal(c.Warnings, want) {
		t.Errorf("warnings %q\nwant     %q", c.Warnings, want)
	}
	if want := "file " + path + " + environment (GATEWAY_AUTH, DYNAMODB_ENDPOINT, GATEWAY_CACHE_TTL)"; c.Source != want {
		t.Errorf("source %q, want %q", c.Source, want)
	}
}

func TestEveryLayerIsValidatedAndTheErrorNamesTheKey(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		want []string
	}{
		{name: "an unknown key in the file", file: mockOnly + "[cache]\nenabeld = true\n", want: []string{"unknown key", "cache.enabeld"}},
		{name: "an environment-only bool that is not one", env: []string{"GATEWAY_AUTH", "yes"},
			want: []string{"GATEWAY_AUTH", "auth.enabled", `"yes"`, "true or false"}},
		{name: "an environment-only duration that is not one", env: []string{"GATEWAY_CACHE_TTL", "an hour"},
			want: []string{"GATEWAY_CACHE_TTL", "cache.ttl"}},
		{name: "an environment-only number that is not one", env: []string{"GATEWAY_MAX_BODY_BYTES", "5MB"},
			want: []string{"GATEWAY_MAX_BODY_BYTES", "server.max_body_bytes"}},
		{name: "an environment-only value the validation refuses", env: []string{"GATEWAY_CACHE_SCOPE", "team"},
			want: []string{"cache.scope (from GATEWAY_CACHE_SCOPE)", `"team"`}},
		{name: "a cache store that is neither first nor repeat", env: []string{"GATEWAY_CACHE_STORE", "always"},
			want: []string{"cache.store (from GATEWAY_CACHE_STORE)", `"always"`}},
		{name: "an environment-only store without its table", env: []string{"GATEWAY_STORE", "dynamodb"},
			want: []string{"store.table"}},
		{name: "an environment-only negative body limit", env: []string{"GATEWAY_MAX_BODY_BYTES", "-1"},
			want: []string{"server.max_body_bytes (from GATEWAY_MAX_BODY_BYTES)"}},
		{name: "an environment-only zero cache ttl", env: []string{"GATEWAY_CACHE_TTL", "0s"},
			want: []string{"cache.ttl (from GATEWAY_CACHE_TTL): 0s is not a lifetime"}},
		{name: "a zero cache ttl from the environment over the file's", file: layered, env: []string{"GATEWAY_CACHE_TTL", "0"},
			want: []string{"cache.ttl (from GATEWAY_CACHE_TTL): 0s is not a lifetime"}},
		{name: "the environment over a file, refused by the validation", file: mockOnly, env: []string{"GATEWAY_STORE", "sqlite"},
			want: []string{"store.kind (from GATEWAY_STORE)", `"sqlite"`}},
		{name: "a locked name that is not a setting variable", env: []string{config.LockedEnv, "GATEWAY_AUTH,GATEWAY_AUTHENTICATION"},
			want: []string{config.LockedEnv, "GATEWAY_AUTHENTICATION"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			c, err := config.Load(path, env(tt.env...))
			if err == nil {
				t.Fatalf("accepted: %+v", settingsOf(c))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestACredentialErrorNeverEchoesItsValue(t *testing.T) {
	_, err := config.Load("", env("GATEWAY_JWT_SECRET", "short-secret-value"))
	if err == nil || !strings.Contains(err.Error(), "auth.jwt_hs256_secret (from GATEWAY_JWT_SECRET)") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "short-secret-value") {
		t.Errorf("the error echoes the secret: %v", err)
	}
}

// TestEveryEnvironmentVariableKeepsItsName pins the table of setting
// variables: each existing name still sets its setting, over a file as
// without one.
func TestEveryEnvironmentVariableKeepsItsName(t *testing.T) {
	cases := []struct {
		name, key, value string
		got              func(c *config.Config) any
		want             any
	}{
		{"PORT", "server.port", "9000", func(c *config.Config) any { return c.Server.Port }, 9000},
		{"GATEWAY_MAX_BODY_BYTES", "server.max_body_bytes", "4096", func(c *config.Config) any { return c.Server.MaxBodyBytes }, int64(4096)},
		{"GATEWAY_AUTH", "auth.enabled", "true", func(c *config.Config) any { return c.Auth.Enabled }, true},
		{"GATEWAY_ADMIN_KEY", "auth.admin_key", "adm", func(c *config.Config) any { return c.Auth.AdminKey.Value() }, "adm"},
		{"GATEWAY_JWT_SECRET", "auth.jwt_hs256_secret", strings.Repeat("j", 32), func(c *config.Config) any { return c.Auth.JWTHS256Secret.Value() }, strings.Repeat("j", 32)},
		{"GATEWAY_STORE", "store.kind", "memory", func(c *config.Config) any { return c.Store.Kind }, "memory"},
		{"TABLE_NAME", "store.table", "t1", func(c *config.Config) any { return c.Store.Table }, "t1"},
		{"DYNAMODB_ENDPOINT", "store.endpoint", "http://127.0.0.1:8206", func(c *config.Config) any { return c.Store.Endpoint }, "http://127.0.0.1:8206"},
		{"GATEWAY_CREATE_TABLE", "store.create_table", "true", func(c *config.Config) any { return c.Store.CreateTable }, true},
		{"GATEWAY_CACHE", "cache.enabled", "false", func(c *config.Config) any { return c.Cache.Enabled }, false},
		{"GATEWAY_CACHE_TTL", "cache.ttl", "2m", func(c *config.Config) any { return c.Cache.TTL }, 2 * time.Minute},
		{"GATEWAY_CACHE_SCOPE", "cache.scope", "global", func(c *config.Config) any { return c.Cache.Scope }, "global"},
		{"GATEWAY_CACHE_STORE", "cache.store", "repeat", func(c *config.Config) any { return c.Cache.Store }, "repeat"},
		{"GATEWAY_LIMITS_FAIL_CLOSED", "limits.fail_closed", "true", func(c *config.Config) any { return c.Limits.FailClosed }, true},
		{"GATEWAY_METRICS_NAMESPACE", "metrics.namespace", "NS", func(c *config.Config) any { return c.Metrics.Namespace }, "NS"},
	}
	var names []string
	for _, e := range config.EnvVars() {
		names = append(names, e.Name+"="+e.Key)
	}
	var want []string
	for _, tc := range cases {
		want = append(want, tc.name+"="+tc.key)
	}
	if !slices.Equal(names, want) {
		t.Errorf("the table is\n%v\nwant\n%v", names, want)
	}
	for _, tc := range cases {
		for _, file := range []string{"", mockOnly} {
			path := ""
			if file != "" {
				path = writeFile(t, file)
			}
			c, err := config.Load(path, env(tc.name, tc.value))
			if err != nil {
				t.Errorf("%s=%s (file %v): %v", tc.name, tc.value, path != "", err)
				continue
			}
			if got := tc.got(c); got != tc.want {
				t.Errorf("%s=%s (file %v): %s = %v, want %v", tc.name, tc.value, path != "", tc.key, got, tc.want)
			}
		}
	}
}

func TestTheCacheIsOnByDefault(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		want bool
	}{
		{name: "environment only", want: true},
		{name: "a file without [cache]", file: mockOnly, want: true},
		{name: "a file with [cache] but no enabled", file: mockOnly + "[cache]\nttl = \"10m\"\n", want: true},
		{name: "GATEWAY_CACHE=false turns it off", env: []string{"GATEWAY_CACHE", "false"}, want: false},
		{name: "[cache] enabled = false turns it off", file: mockOnly + "[cache]\nenabled = false\n", want: false},
		{name: "GATEWAY_CACHE=true turns a file's off back on", file: mockOnly + "[cache]\nenabled = false\n",
			env: []string{"GATEWAY_CACHE", "true"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			c, err := config.Load(path, env(tt.env...))
			if err != nil {
				t.Fatal(err)
			}
			if c.Cache.Enabled != tt.want {
				t.Errorf("cache enabled = %v, want %v", c.Cache.Enabled, tt.want)
			}
		})
	}
}

// The example's header documents the layering and every variable.
func TestTheExampleHeaderDocumentsThePrecedenceAndEveryVariable(t *testing.T) {
	data, err := os.ReadFile("example.toml")
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(data), "\ngenerate =")
	for _, e := range config.EnvVars() {
		if !strings.Contains(header, e.Name) || !strings.Contains(header, e.Key) {
			t.Errorf("the header of example.toml does not document %s (%s)", e.Name, e.Key)
		}
	}
	for _, s := range []string{"defaults", "this file", "environment", "provider secret", config.LockedEnv} {
		if !strings.Contains(header, s) {
			t.Errorf("the header of example.toml does not mention %q in its precedence", s)
		}
	}
}
