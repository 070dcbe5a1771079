package messages

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// normalizeJSON re-indents b with sorted keys so goldens compare by meaning
// and diff readably.
func normalizeJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkGolden compares got with the golden file (as JSON when asJSON, else
// byte for byte), or rewrites it under -update.
func checkGolden(t *testing.T, path string, got []byte, asJSON bool) {
	t.Helper()
	if asJSON {
		got = normalizeJSON(t, got)
	}
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden (run with -update to create it): %v", err)
	}
	if asJSON {
		want = normalizeJSON(t, want)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// fixtures lists the inputs of a testdata folder, goldens excluded.
func fixtures(t *testing.T, dir, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.Contains(filepath.Base(f), ".golden.") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	return out
}

func golden(path, ext string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".golden" + ext
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestToChatGolden translates every testdata/requests/*.json and compares
// the chat request with its .golden.json.
func TestToChatGolden(t *testing.T) {
	for _, in := range fixtures(t, "requests", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			r, err := Decode(readFile(t, in))
			if err != nil {
				t.Fatal(err)
			}
			chat, err := ToChat(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(chat)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, golden(in, ".json"), got, true)
		})
	}
}

// TestFromChatGolden translates every testdata/responses/*.json (chat
// completion bodies as providers send them) for a client that asked for
// "claude-sonnet-4-5" and compares the Messages answer with its .golden.json.
func TestFromChatGolden(t *testing.T) {
	for _, in := range fixtures(t, "responses", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			m, err := FromChatBody(readFile(t, in), "claude-sonnet-4-5")
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, golden(in, ".json"), got, true)
		})
	}
}
