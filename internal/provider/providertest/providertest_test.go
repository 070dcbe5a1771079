package providertest

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/provider"
)

func TestNormalizeJSONSortsKeysAndKeepsNumbersAndHTMLAsWritten(t *testing.T) {
	got := NormalizeJSON(t, []byte(`{"b":1.50,"a":{"d":"<x> & y","c":[1e3]}}`))
	want := "{\n  \"a\": {\n    \"c\": [\n      1e3\n    ],\n    \"d\": \"<x> & y\"\n  },\n  \"b\": 1.50\n}\n"
	if string(got) != want {
		t.Errorf("NormalizeJSON =\n%s\nwant\n%s", got, want)
	}
}

// failures is a testing.TB that records Errorf instead of failing.
type failures struct {
	testing.TB
	errors []string
}

func (f *failures) Errorf(format string, args ...any) {
	f.errors = append(f.errors, format)
}

func TestCheckGoldenComparesByMeaningAndFailsOnADifferentValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden.json")
	if err := os.WriteFile(path, []byte(`{"a":1,"b":"<c>"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	same := &failures{TB: t}
	CheckGolden(same, path, []byte(`{ "b": "\u003cc\u003e", "a": 1 }`))
	if len(same.errors) != 0 {
		t.Errorf("the same value in another layout failed: %v", same.errors)
	}
	for _, other := range []string{`{"a":1.0,"b":"<c>"}`, `{"a":1,"b":"<c>","d":null}`, `{"a":2,"b":"<c>"}`} {
		differs := &failures{TB: t}
		CheckGolden(differs, path, []byte(other))
		if len(differs.errors) != 1 {
			t.Errorf("%s compared equal to the golden file", other)
		}
	}
}

func TestFixturesAndSeedsLeaveGoldenFilesOut(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll("testdata/dir", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.json", "a.golden.json", "b.json", "c.sse"} {
		if err := os.WriteFile(filepath.Join("testdata/dir", name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := Fixtures(t, "dir", ".json")
	want := []string{filepath.Join("testdata", "dir", "a.json"), filepath.Join("testdata", "dir", "b.json")}
	if !slices.Equal(got, want) {
		t.Errorf("Fixtures = %v, want %v", got, want)
	}
}

func TestFakeRecordsEveryRequestAndItsHandlerStillReadsTheBody(t *testing.T) {
	var handlerSaw string
	f := NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		handlerSaw = string(b)
		JSON(http.StatusTeapot, `{"ok":true}`)(w, r)
	})
	for _, body := range []string{"first", "second"} {
		req, _ := http.NewRequest(http.MethodPost, f.URL+"/v1/x?k=v", strings.NewReader(body))
		req.Header.Set("X-Test", body)
		resp, err := f.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTeapot || resp.Header.Get("Content-Type") != "application/json" || string(b) != `{"ok":true}` {
			t.Errorf("answer %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	if handlerSaw != "second" {
		t.Errorf("the handler read %q, want the body", handlerSaw)
	}
	reqs := f.Requests()
	if len(reqs) != 2 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/v1/x" || reqs[0].Query != "k=v" ||
		string(reqs[0].Body) != "first" || reqs[0].Header.Get("X-Test") != "first" {
		t.Fatalf("requests = %+v", reqs)
	}
	if last := f.Last(t); string(last.Body) != "second" {
		t.Errorf("Last = %+v, want the second request", last)
	}
}

func TestCutDropsTheConnectionAfterWhatTheHandlerWrote(t *testing.T) {
	f := NewFake(t, Cut(SSE("data: 1\n\n")))
	resp, err := f.Client().Get(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if string(b) != "data: 1\n\n" || err == nil {
		t.Errorf("read %q, %v; want the event, then an error", b, err)
	}
}

func TestFuzzFakeAnswersWithTheLastBodySet(t *testing.T) {
	f := NewFuzzFake(t, "application/json")
	for _, body := range []string{"", "one", "two"} {
		if body != "" {
			f.SetBody([]byte(body))
		}
		resp, err := f.Client().Get(f.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != body || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("answer %d %q %q, want %q", resp.StatusCode, resp.Header.Get("Content-Type"), b, body)
		}
	}
}

// chunks is a provider.Stream of n chunks, then end.
type chunks struct {
	n   int
	end error
}

func (c *chunks) Next() (provider.Chunk, error) {
	if c.n == 0 {
		return provider.Chunk{}, c.end
	}
	c.n--
	return provider.Chunk{Data: []byte("{}")}, nil
}

func (c *chunks) Close() error { return nil }

func TestDrainReturnsEveryChunkAndTheErrorThatEndedTheStream(t *testing.T) {
	cut := errors.New("cut")
	for _, end := range []error{io.EOF, cut} {
		got, err := Drain(t, &chunks{n: 3, end: end})
		if len(got) != 3 || err != end {
			t.Errorf("Drain = %d chunks, %v; want 3, %v", len(got), err, end)
		}
	}
}

func TestStreamErrIsNilOnlyAfterACleanEnd(t *testing.T) {
	refused, cut := errors.New("refused"), errors.New("cut")
	if err := StreamErr(t, nil, refused); err != refused {
		t.Errorf("StreamErr of a failed call = %v, want its error", err)
	}
	if err := StreamErr(t, &chunks{n: 2, end: cut}, nil); err != cut {
		t.Errorf("StreamErr of a cut stream = %v, want the cut", err)
	}
	if err := StreamErr(t, &chunks{n: 2, end: io.EOF}, nil); err != nil {
		t.Errorf("StreamErr of a clean stream = %v, want nil", err)
	}
}
