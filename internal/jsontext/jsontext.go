// Package jsontext reads JSON strings found by gjson the way encoding/json
// (and so every translator and upstream parser) reads them.
//
// gjson's own decoding differs in two places: an unpaired surrogate escape
// swallows the escape after it ("\ud800\u0041" reads as "\ufffd", not
// "\ufffdA"), and invalid UTF-8 stays as it is instead of becoming U+FFFD.
// A policy that reads text through gjson would then miss what the upstream
// is sent, so every check over request text reads it through Str.
package jsontext

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Str is the string v holds as encoding/json decodes it; for a value that
// is not a JSON string it is v.Str (empty).
func Str(v gjson.Result) string {
	if v.Type != gjson.String {
		return v.Str
	}
	if !strings.Contains(v.Raw, `\u`) && utf8.ValidString(v.Str) {
		return v.Str
	}
	var s string
	if err := json.Unmarshal([]byte(v.Raw), &s); err != nil {
		return v.Str
	}
	return s
}
