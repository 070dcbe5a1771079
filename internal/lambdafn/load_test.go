package lambdafn_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/lambdafn"
	"github.com/aigateway/gateway/internal/testutil"
)

// stackEnv is the environment infra/stack.go gives both functions (the
// table name and secret ARN are tokens there; any value does here).
func stackEnv() map[string]string {
	return map[string]string{
		"GATEWAY_AUTH": "true", "GATEWAY_STORE": "dynamodb", "TABLE_NAME": "stack-table",
		"GATEWAY_METRICS_NAMESPACE": "StackNS", "GATEWAY_MAX_BODY_BYTES": "5000000",
		config.LockedEnv: "GATEWAY_AUTH,GATEWAY_STORE,TABLE_NAME,DYNAMODB_ENDPOINT,GATEWAY_CREATE_TABLE,GATEWAY_METRICS_NAMESPACE",
	}
}

// weakeningFile turns off everything the stack owns: a local-development
// file deployed as it is.
const weakeningFile = `
[[providers]]
kind = "openai"
api_key = "${OPENAI_API_KEY}"
models = ["gpt-4o-mini"]

[auth]
enabled = false
admin_key = "${GATEWAY_ADMIN_KEY:-}"

[store]
kind = "memory"
table = "file-table"
endpoint = "http://127.0.0.1:8000"
create_table = true

[metrics]
namespace = "FileNS"

[cache]
ttl = "5m"
`

// weakeningSecret tries the same from the provider secret, beside the
// credentials it is for.
var weakeningSecret = map[string]string{
	"OPENAI_API_KEY": "sk-from-the-secret", "GATEWAY_ADMIN_KEY": "admin-from-the-secret",
	"GATEWAY_AUTH": "false", "GATEWAY_STORE": "memory", "TABLE_NAME": "secret-table",
	"GATEWAY_METRICS_NAMESPACE": "SecretNS", "GATEWAY_CACHE": "false", "GATEWAY_LOCKED": "",
	"GATEWAY_OPEN_ACCESS": "true", "GATEWAY_CONFIG": "/tmp/other.toml", "PROVIDER_SECRET_ARN": "arn:other",
	"DYNAMODB_ENDPOINT": "http://attacker", "PORT": "1",
}

// taskRoot writes files into a folder laid out like an unpacked function
// zip and returns its path.
func taskRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func getenvOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadLayersFileEnvironmentAndSecretWithTheStackOnTop(t *testing.T) {
	env := stackEnv()
	env["LAMBDA_TASK_ROOT"] = taskRoot(t, map[string]string{"gateway.toml": weakeningFile})
	env[config.FileEnv] = "gateway.toml"
	env["OPENAI_API_KEY"] = "sk-from-the-environment"
	logs := &testutil.LogBuffer{}
	cfg, err := lambdafn.Load(getenvOf(env), weakeningSecret, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"auth", boolText(cfg.Auth.Enabled), "true"},
		{"store", cfg.Store.Kind, "dynamodb"},
		{"table", cfg.Store.Table, "stack-table"},
		{"endpoint (locked, unset: real DynamoDB)", cfg.Store.Endpoint, ""},
		{"create_table (locked, unset)", boolText(cfg.Store.CreateTable), "false"},
		{"metrics namespace", cfg.Metrics.Namespace, "StackNS"},
		{"cache (the secret's GATEWAY_CACHE is ignored)", boolText(cfg.Cache.Enabled), "true"},
		{"cache ttl from the file", cfg.Cache.TTL.String(), "5m0s"},
		{"port (the secret's PORT is ignored)", boolText(cfg.Server.Port == 8080), "true"},
		{"provider key: the secret wins over the environment", cfg.Providers[0].APIKey.Value(), "sk-from-the-secret"},
		{"admin key from the secret, through ${GATEWAY_ADMIN_KEY}", cfg.Auth.AdminKey.Value(), "admin-from-the-secret"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if !strings.HasPrefix(cfg.Source, "file "+filepath.Join(env["LAMBDA_TASK_ROOT"], "gateway.toml")+" + environment (") {
		t.Errorf("source %q", cfg.Source)
	}
	// The log names what was ignored, never a value.
	out := logs.String()
	for _, name := range []string{"GATEWAY_AUTH", "GATEWAY_STORE", "TABLE_NAME", "GATEWAY_OPEN_ACCESS", "GATEWAY_CONFIG", "PROVIDER_SECRET_ARN"} {
		if !strings.Contains(out, `"`+name+`"`) {
			t.Errorf("the warning does not name the ignored %s:\n%s", name, out)
		}
	}
	if strings.Contains(out, "sk-from-the-secret") || strings.Contains(out, "admin-from-the-secret") || strings.Contains(out, "attacker") {
		t.Errorf("the log shows a secret's value:\n%s", out)
	}
	for _, key := range []string{"auth.enabled", "store.kind", "store.endpoint", "metrics.namespace"} {
		if !slices.ContainsFunc(cfg.Warnings, func(w string) bool { return strings.Contains(w, key) }) {
			t.Errorf("no warning says the file's %s does not apply: %q", key, cfg.Warnings)
		}
	}
}

func TestSecretEntriesHoldCredentialsNeverGatewaySettings(t *testing.T) {
	kept, ignored := lambdafn.SecretEntries(weakeningSecret)
	if want := []string{"GATEWAY_ADMIN_KEY", "OPENAI_API_KEY"}; !slices.Equal(sortedKeys(kept), want) {
		t.Errorf("kept %v, want %v", sortedKeys(kept), want)
	}
	if len(ignored) != len(weakeningSecret)-2 || !slices.IsSorted(ignored) {
		t.Errorf("ignored %v", ignored)
	}
	// Every setting variable but the credentials is refused, and any other
	// name passes (a config file may name it with ${VAR}).
	for _, e := range config.EnvVars() {
		kept, _ := lambdafn.SecretEntries(map[string]string{e.Name: "x"})
		if _, ok := kept[e.Name]; ok != e.Credential {
			t.Errorf("%s (%s): kept %v, want %v", e.Name, e.Key, ok, e.Credential)
		}
	}
	kept, _ = lambdafn.SecretEntries(map[string]string{"INTERNAL_LLM_TOKEN": "x", "GATEWAY_SOMETHING_NEW": "x", "ANTHROPIC_BASE_URL": "x"})
	if want := []string{"ANTHROPIC_BASE_URL", "INTERNAL_LLM_TOKEN"}; !slices.Equal(sortedKeys(kept), want) {
		t.Errorf("kept %v, want %v", sortedKeys(kept), want)
	}
}

func TestAFunctionRefusesToStartWithAuthenticationOff(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	tests := []struct {
		name   string
		env    map[string]string
		secret map[string]string
		file   string
		want   error
	}{
		{name: "the environment leaves auth unset", env: map[string]string{}, want: lambdafn.ErrAuthOff},
		{name: "the environment turns auth off", env: map[string]string{"GATEWAY_AUTH": "false"}, want: lambdafn.ErrAuthOff},
		{name: "the file turns auth off and the environment says nothing", env: map[string]string{},
			file: "[[providers]]\nkind = \"mock\"\n[auth]\nenabled = false\n", want: lambdafn.ErrAuthOff},
		{name: "only the secret claims open access", env: map[string]string{"GATEWAY_AUTH": "false"},
			secret: map[string]string{config.OpenAccessEnv: "true"}, want: lambdafn.ErrAuthOff},
		{name: "open access deployed on purpose", env: map[string]string{"GATEWAY_AUTH": "false", config.OpenAccessEnv: "true"}},
		{name: "auth on", env: map[string]string{"GATEWAY_AUTH": "true"}},
		{name: "auth on in the file", env: map[string]string{}, file: "[[providers]]\nkind = \"mock\"\n[auth]\nenabled = true\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.file != "" {
				tt.env["LAMBDA_TASK_ROOT"] = taskRoot(t, map[string]string{"gateway.toml": tt.file})
				tt.env[config.FileEnv] = "gateway.toml"
			}
			_, err := lambdafn.Load(getenvOf(tt.env), tt.secret, discard)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	msg := lambdafn.ErrAuthOff.Error()
	for _, s := range []string{"authentication is off", "-c openAccess=true", "GATEWAY_AUTH=true"} {
		if !strings.Contains(msg, s) {
			t.Errorf("the init error does not say %q: %s", s, msg)
		}
	}
}

func TestConfigPathIsRelativeToTheTaskRoot(t *testing.T) {
	for _, tt := range []struct{ config, root, want string }{
		{"gateway.toml", "/var/task", "/var/task/gateway.toml"},
		{"/opt/gateway.toml", "/var/task", "/opt/gateway.toml"},
		{"gateway.toml", "", "gateway.toml"},
		{"", "/var/task", ""},
	} {
		got := lambdafn.ConfigPath(getenvOf(map[string]string{config.FileEnv: tt.config, "LAMBDA_TASK_ROOT": tt.root}))
		if got != tt.want {
			t.Errorf("GATEWAY_CONFIG=%q LAMBDA_TASK_ROOT=%q: %q, want %q", tt.config, tt.root, got, tt.want)
		}
	}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
