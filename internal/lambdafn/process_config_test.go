package lambdafn_test

// The deployed configuration path, run as Lambda runs it: the real stream
// bootstrap with the stack's environment, a config file beside it in the
// task root, and the provider secret from a fake Secrets Manager.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/lambdafn"
)

// adminConfigEvent is a Function URL event for GET /admin/config with key.
func adminConfigEvent(t *testing.T, key string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(eventsDir, "stream", "health.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	ev["rawPath"] = "/admin/config"
	ev["headers"].(map[string]any)["authorization"] = "Bearer " + key
	ev["requestContext"].(map[string]any)["http"].(map[string]any)["path"] = "/admin/config"
	out, _ := json.Marshal(ev)
	return out
}

func TestProcessKeepsTheStacksSettingsOverAFileAndASecretThatTurnThemOff(t *testing.T) {
	bin := buildBootstrap(t, "stream")
	secret, _ := json.Marshal(weakeningSecret)
	env := stackEnv()
	for k, v := range secretEnv(fakeSecretsManager(t, string(secret))) {
		env[k] = v
	}
	env["LAMBDA_TASK_ROOT"] = taskRoot(t, map[string]string{"gateway.toml": weakeningFile})
	env[config.FileEnv] = "gateway.toml"
	p := startProcess(t, bin, env, true)

	// A request without a key is refused: authentication stayed on.
	missing, err := os.ReadFile(filepath.Join(eventsDir, "stream", "missing-key.json"))
	if err != nil {
		t.Fatal(err)
	}
	inv := invoke(t, p, missing)
	pre, got := readStream(t, inv)
	if pre.StatusCode != 401 || !strings.Contains(joined(got), "authentication_error") {
		t.Fatalf("a request without a key: %d %s", pre.StatusCode, joined(got))
	}

	// The admin key from the secret (through the file's ${GATEWAY_ADMIN_KEY})
	// reads the configuration the function runs with.
	inv = invoke(t, p, adminConfigEvent(t, "admin-from-the-secret"))
	pre, got = readStream(t, inv)
	if pre.StatusCode != 200 {
		t.Fatalf("GET /admin/config: %d %s", pre.StatusCode, joined(got))
	}
	var view struct {
		Source string `json:"source"`
		Auth   struct {
			Enabled bool `json:"enabled"`
		} `json:"auth"`
		Store struct {
			Kind, Table, Endpoint string
		} `json:"store"`
		Cache struct {
			Enabled bool `json:"enabled"`
		} `json:"cache"`
		Metrics struct {
			Namespace string `json:"namespace"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(joined(got)), &view); err != nil {
		t.Fatalf("%v: %s", err, joined(got))
	}
	if !view.Auth.Enabled || view.Store.Kind != "dynamodb" || view.Store.Table != "stack-table" || view.Store.Endpoint != "" ||
		view.Metrics.Namespace != "StackNS" || !view.Cache.Enabled {
		t.Errorf("the function runs with %+v, want the stack's auth, store, table and namespace", view)
	}
	if !strings.Contains(view.Source, "gateway.toml") {
		t.Errorf("source %q does not name the shipped file", view.Source)
	}

	// The refused request's EMF line goes where the dashboard reads.
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(p.logs.String(), `"Namespace":"StackNS"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	logs := p.logs.String()
	if !strings.Contains(logs, `"Namespace":"StackNS"`) || strings.Contains(logs, `"Namespace":"FileNS"`) || strings.Contains(logs, `"Namespace":"SecretNS"`) {
		t.Errorf("no EMF line in the stack's namespace:\n%s", logs)
	}
}

func TestProcessRefusesToStartWithAuthOffWithoutOpenAccess(t *testing.T) {
	bin := buildBootstrap(t, "stream")
	// The file turns auth off, the secret claims open access; the stack's
	// environment says nothing about either.
	secret, _ := json.Marshal(map[string]string{"OPENAI_API_KEY": upstreamKey, config.OpenAccessEnv: "true", "GATEWAY_AUTH": "false"})
	env := secretEnv(fakeSecretsManager(t, string(secret)))
	env["LAMBDA_TASK_ROOT"] = taskRoot(t, map[string]string{"gateway.toml": weakeningFile})
	env[config.FileEnv] = "gateway.toml"
	p := startProcess(t, bin, env, false)
	select {
	case ie := <-p.api.InitError():
		msg := ie.Error()
		if ie.Type != lambdafn.InitErrorType || !strings.Contains(msg, "authentication is off") ||
			!strings.Contains(msg, "-c openAccess=true") {
			t.Fatalf("init error %v", ie)
		}
	case <-p.api.Ready():
		t.Fatal("the function started with authentication off")
	case <-time.After(15 * time.Second):
		t.Fatal("no init error reported")
	}
	select {
	case <-p.exited:
		if code := p.cmd.ProcessState.ExitCode(); code != 1 {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the bootstrap did not exit after its init error")
	}
}
