package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/aigateway/gateway/internal/config"
)

const exampleConfig = "../internal/config/example.toml"

// runMainEnv makes the test binary run the CDK app's main instead of the
// tests, so a test can run the app as `cdk synth` does.
const runMainEnv = "INFRA_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestAConfigFileShipsWithBothFunctions(t *testing.T) {
	tmpl, out := synthIn(t, &GatewayStackProps{ConfigFile: exampleConfig, HTTPAPI: true})
	want, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	j := *tmpl.ToJSON()
	for _, name := range []string{"Api", "Stream"} {
		props := resources(j, "AWS::Lambda::Function")[functionID(t, j, name)]["Properties"].(map[string]any)
		vars := props["Environment"].(map[string]any)["Variables"].(map[string]any)
		if vars[config.FileEnv] != ConfigFileName || vars["GATEWAY_AUTH"] != "true" || vars[config.LockedEnv] == nil {
			t.Errorf("%s: environment %v, want GATEWAY_CONFIG=%s with auth on and the stack's settings locked", name, vars, ConfigFileName)
		}
		// The zip is the staged asset folder named by the S3 key's hash.
		key, _ := props["Code"].(map[string]any)["S3Key"].(string)
		dir := filepath.Join(out, "asset."+strings.TrimSuffix(key, ".zip"))
		got, err := os.ReadFile(filepath.Join(dir, ConfigFileName))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: the asset %s does not hold the config file: %v", name, dir, err)
		}
		if boot, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil || boot.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s: no executable bootstrap beside the config file: %v", name, err)
		}
	}
	// Without a file the functions get none.
	plain, _ := defaults(t)
	check(t, "no file, no GATEWAY_CONFIG", func() {
		plain.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				config.FileEnv: assertions.Match_Absent(),
			})},
		})
	})
}

// badConfig misspells a key.
func badConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.toml")
	text := "[[providers]]\nkind = \"openai\"\napi_key = \"${OPENAI_API_KEY}\"\nmodels = [\"gpt-4o-mini\"]\n[cache]\nenabeld = true\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestABadConfigFileFailsTheStackNamingTheKey(t *testing.T) {
	path := badConfig(t)
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "cache.enabeld") || !strings.Contains(msg, path) {
			t.Errorf("panic %q, want one naming the file and cache.enabeld", msg)
		}
	}()
	synth(t, &GatewayStackProps{ConfigFile: path})
}

func TestCheckConfigFileTakesEveryVariableAsSetButChecksTheRest(t *testing.T) {
	if _, err := CheckConfigFile(exampleConfig); err != nil {
		t.Errorf("the example: %v", err)
	}
	dir := t.TempDir()
	for name, tc := range map[string]struct{ text, want string }{
		"required variables and a JWT secret from the secret": {
			"[[providers]]\nkind = \"openai\"\napi_key = \"${OPENAI_API_KEY}\"\n[auth]\njwt_hs256_secret = \"${JWT_SECRET}\"\n", ""},
		"a route to an unknown provider": {
			"[[providers]]\nkind = \"mock\"\n[[routes]]\nmodel = \"m\"\ntargets = [{ provider = \"opnai\", model = \"x\" }]\n",
			`routes[0].targets[0].provider: unknown provider "opnai"`},
		"no file": {"", "no such file"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".toml")
		if tc.text != "" {
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, err := CheckConfigFile(path)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// TestSynthWithABadConfigFileFailsBeforeAnythingDeploys runs the CDK app
// as `make synth CONFIG=...` does (the CLI passes context in
// CDK_CONTEXT_JSON): it exits non-zero naming the key, and writes no
// template.
func TestSynthWithABadConfigFileFailsBeforeAnythingDeploys(t *testing.T) {
	path := badConfig(t)
	ctx, _ := json.Marshal(map[string]any{"config": path})
	out := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "CDK_CONTEXT_JSON="+string(ctx), "CDK_OUTDIR="+out)
	stderr, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the app succeeded:\n%s", stderr)
	}
	if !strings.Contains(string(stderr), "context config") || !strings.Contains(string(stderr), "cache.enabeld") {
		t.Errorf("the app's error does not name the key:\n%s", stderr)
	}
	if tmpls, _ := filepath.Glob(filepath.Join(out, "*.template.json")); len(tmpls) > 0 {
		t.Errorf("a template was written: %v", tmpls)
	}
}
