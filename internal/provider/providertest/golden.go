// Package providertest holds what the provider packages' tests share: golden
// files (the -update flag, JSON normalisation, comparison), fixtures, fake
// upstreams and stream draining. Only tests import it.
package providertest

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

// goldenSuffix ends the name of every golden file.
const goldenSuffix = ".golden.json"

// NormalizeJSON re-encodes the JSON value b with sorted keys, two-space
// indentation, no HTML escapes and numbers as written, ending in a newline:
// the form golden files are stored and compared in.
func NormalizeJSON(t testing.TB, b []byte) []byte {
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

// CheckGolden compares got (JSON) with the golden file at path, both
// normalised, or rewrites the file with the normalised got under -update.
func CheckGolden(t testing.TB, path string, got []byte) {
	t.Helper()
	got = NormalizeJSON(t, got)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the golden file (run go test -update to create it): %v", err)
	}
	if want = NormalizeJSON(t, want); !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// CheckGoldenBytes compares got with the golden file at path byte for byte
// (SSE captures, where framing matters), or rewrites the file under -update.
func CheckGoldenBytes(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := ReadFile(t, path); !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// ReadFile returns the content of the file at path, failing the test when
// it cannot be read.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Fixtures lists the files of testdata/dir whose names end in ext, golden
// files left out. A folder without any fails the test.
func Fixtures(t testing.TB, dir, ext string) []string {
	t.Helper()
	out := inputs(filepath.Join("testdata", dir, "*"+ext))
	if len(out) == 0 {
		t.Fatalf("no %s fixtures in testdata/%s", ext, dir)
	}
	return out
}

// AddSeeds adds to f's corpus every file of testdata matching pattern
// (filepath.Match syntax), golden files left out. A pattern that matches
// none fails the target.
func AddSeeds(f *testing.F, pattern string) {
	f.Helper()
	files := inputs(filepath.Join("testdata", pattern))
	if len(files) == 0 {
		f.Fatalf("no seed files match testdata/%s", pattern)
	}
	for _, file := range files {
		f.Add(ReadFile(f, file))
	}
}

// inputs are the files matching pattern that are not golden files.
func inputs(pattern string) []string {
	files, _ := filepath.Glob(pattern) // the only error is a malformed pattern: no files
	var out []string
	for _, file := range files {
		if !strings.HasSuffix(file, goldenSuffix) {
			out = append(out, file)
		}
	}
	return out
}
