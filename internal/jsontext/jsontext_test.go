package jsontext

import (
	"encoding/json"
	"testing"

	"github.com/tidwall/gjson"
)

// TestStrReadsAsEncodingJSON pins the cases where gjson alone reads a
// different string than encoding/json: each would let a blocked word past
// a policy that reads the body through gjson.
func TestStrReadsAsEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`"plain"`,
		`"\ud800\u0041bc"`,
		`"\udc00\u0073ecret"`,
		`"\ud800\ud800\udc00z"`,
		"\"se\xffcret\"",
		"\"a\xc3\"",
		`"\ud83d\ude00x"`,
		`"tab\tand \"quote\""`,
	} {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if got := Str(gjson.Parse(raw)); got != want {
			t.Errorf("Str(%q) = %q, encoding/json reads %q", raw, got, want)
		}
	}
	if got := Str(gjson.Parse(`{"a":1}`)); got != "" {
		t.Errorf("an object read as %q", got)
	}
}

func FuzzStr(f *testing.F) {
	f.Add(`\ud800\u0041`)
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, s string) {
		raw, _ := json.Marshal(s)
		for _, r := range []string{string(raw), `"` + s + `"`} {
			var want string
			if json.Unmarshal([]byte(r), &want) != nil || !gjson.Valid(r) {
				continue
			}
			if got := Str(gjson.Parse(r)); got != want {
				t.Fatalf("Str(%q) = %q, want %q", r, got, want)
			}
		}
	})
}
