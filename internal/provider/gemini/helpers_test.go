package gemini

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/provider"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

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

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertGolden compares got with the golden JSON file as JSON values (so
// formatting does not matter), or rewrites the file with -update.
func assertGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got)
	}
	pretty.WriteByte('\n')
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readFile(t, path)
	var g, w any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	_ = json.Unmarshal(got, &g)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", filepath.Base(path), pretty.Bytes(), want)
	}
}

// globCases lists the test cases of a testdata folder by the suffix of their input.
func globCases(t *testing.T, dir, suffix string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"+suffix))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s fixtures in testdata/%s", suffix, dir)
	}
	return files
}
