package openai

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzAccumulator folds a sequence of arbitrary chunks (split on NUL) into
// an accumulator: no panic, and the completion always marshals to JSON that
// decodes back into a ChatCompletion, as do its replayed chunks.
func FuzzAccumulator(f *testing.F) {
	f.Add([]byte(`{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}` + "\x00" +
		`{"id":"c","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}` + "\x00" +
		`{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`))
	f.Add([]byte(`{"choices":[{"index":1,"delta":{"tool_calls":[{"index":2,"id":"t","type":"function","function":{"name":"f","arguments":"{\"a\""}}]}}]}` + "\x00" +
		`{"choices":[{"index":1,"delta":{"tool_calls":[{"index":2,"function":{"arguments":":1}"}}]}}]}` + "\x00" +
		`{"choices":[{"index":-4,"delta":{"tool_calls":[{"index":-1}]}}]}`))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":"\ud800"}}]}` + "\x00" + `not json`))
	f.Add([]byte(`{"choices":null,"usage":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := NewAccumulator()
		parts := bytes.Split(data, []byte{0})
		if len(parts) > 256 {
			return
		}
		for _, p := range parts {
			a.Add(p)
		}
		c := a.Completion()
		if c == nil {
			t.Fatal("nil completion")
		}
		out, err := json.Marshal(c)
		if err != nil || !json.Valid(out) {
			t.Fatalf("completion does not marshal: %v %q", err, out)
		}
		var back ChatCompletion
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("completion does not decode: %v", err)
		}
		for _, withUsage := range []bool{false, true} {
			for _, ch := range c.Chunks(withUsage) {
				if !json.Valid(ch) {
					t.Fatalf("replayed chunk is not JSON: %q", ch)
				}
			}
		}
	})
}

// FuzzParseDataURL splits arbitrary URLs: ok implies a data: URL with a
// non-empty media type and data that the URL ends with.
func FuzzParseDataURL(f *testing.F) {
	f.Add("data:image/png;base64,iVBORw0KGgo=")
	f.Add("data:;base64,AAAA")
	f.Add("data:image/png,AAAA")
	f.Add("data:image/png;base64,")
	f.Add("https://example.com/a.png")
	f.Add("data:a;base64;base64,b,c")
	f.Fuzz(func(t *testing.T, u string) {
		mt, data, isData, ok := ParseDataURL(u)
		if isData != strings.HasPrefix(u, "data:") {
			t.Fatalf("isData = %v for %q", isData, u)
		}
		if !ok {
			if mt != "" || data != "" {
				t.Fatalf("not ok but returned %q, %q", mt, data)
			}
			return
		}
		if !isData || mt == "" || data == "" || !strings.HasSuffix(u, data) {
			t.Fatalf("ParseDataURL(%q) = %q, %q, %v, %v", u, mt, data, isData, ok)
		}
		if u != "data:"+mt+";base64,"+data {
			t.Fatalf("ParseDataURL(%q) does not reassemble: %q, %q", u, mt, data)
		}
	})
}
