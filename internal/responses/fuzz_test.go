package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

// FuzzParse feeds client bodies to Parse and what follows it: a body is a
// 400 or a request that ToChat translates or refuses with a 400, whose items
// re-encode stably and whose native body is JSON.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/tochat/*.json")
	for _, p := range files {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		raw, _ := os.ReadFile(p)
		var tc struct {
			Request json.RawMessage `json:"request"`
		}
		if json.Unmarshal(raw, &tc) == nil {
			f.Add([]byte(tc.Request))
		}
	}
	for _, s := range []string{
		`{"model":"m","input":"x"}`,
		`{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"t"}]}]}`,
		`{"model":"m","input":[{"role":"assistant","content":[{"type":"refusal","refusal":"no"},{"type":"output_text","text":"x","annotations":[{"type":"url_citation"}]}]}]}`,
		`{"model":"m","input":[{"type":"reasoning","summary":[]},{"type":"item_reference","id":"x"}],"tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"f"}]}}`,
		`{"model":"m","input":null,"previous_response_id":"resp_1","text":{"format":null},"tools":null,"metadata":null}`,
		`{"model":1}`, `{"model":"m","input":[1]}`, `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":5}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := Parse(body)
		if err != nil {
			var e *openai.Error
			if !errors.As(err, &e) || e.HTTPStatus() != 400 {
				t.Fatalf("Parse error %v is not a 400 *openai.Error", err)
			}
			return
		}
		if _, err := ToChat(req, req.Items()); err != nil {
			var e *openai.Error
			if !errors.As(err, &e) || e.HTTPStatus() != 400 || e.Param == "" {
				t.Fatalf("ToChat error %v is not a 400 naming a parameter", err)
			}
		}
		first, err := marshal(req.Items())
		if err != nil {
			t.Fatalf("items do not encode: %v", err)
		}
		var back []Item
		if err := json.Unmarshal(first, &back); err != nil {
			t.Fatalf("encoded items do not decode: %v\n%s", err, first)
		}
		second, _ := marshal(back)
		var again []Item
		_ = json.Unmarshal(second, &again)
		third, _ := marshal(again)
		if !bytes.Equal(second, third) {
			t.Fatalf("items do not re-encode stably:\n%s\n%s", second, third)
		}
		native, err := req.NativeBody("upstream-model", back)
		if err != nil || !json.Valid(native) {
			t.Fatalf("native body %q: %v", native, err)
		}
		_ = FromChat(req, &openai.ChatCompletion{}, Meta{}).JSON()
	})
}

// FuzzStream feeds arbitrary chunk lines through a Stream: whatever the
// upstream sends, the client gets well-formed frames in sequence, ending
// with one terminal event that carries the final response.
func FuzzStream(f *testing.F) {
	files, _ := filepath.Glob("testdata/stream/*.sse")
	for _, p := range files {
		if strings.HasSuffix(p, ".golden.sse") {
			continue
		}
		raw, _ := os.ReadFile(p)
		var lines []string
		for _, l := range strings.Split(string(raw), "\n") {
			if d, ok := strings.CutPrefix(l, "data: "); ok && d != "[DONE]" {
				lines = append(lines, d)
			}
		}
		f.Add([]byte(strings.Join(lines, "\n")), true)
		f.Add([]byte(strings.Join(lines, "\n")), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, clean bool) {
		s := NewStream(&Request{Model: "m"}, testMeta())
		var out []byte
		var failed error
		for _, line := range bytes.Split(data, []byte("\n")) {
			b, err := s.Chunk(line)
			out = append(out, b...)
			if err != nil {
				failed = err
				break
			}
		}
		switch {
		case failed != nil:
			out = append(out, s.Fail(failed)...)
		case clean:
			out = append(out, s.Finish()...)
		default:
			out = append(out, s.Fail(errCut)...)
		}
		checkSequence(t, frames(t, out), s)
	})
}
