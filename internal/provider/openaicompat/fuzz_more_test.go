package openaicompat

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

// FuzzWithUsage reads the usage of arbitrary answer bodies: the body passes
// through untouched, the usage is the body's, and a body that is not a JSON
// object fails with an *openai.Error.
func FuzzWithUsage(f *testing.F) {
	f.Add([]byte(`{"id":"x","usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`))
	f.Add([]byte(`{"usage":{"prompt_tokens":1,"prompt_tokens_details":{"cached_tokens":1}}}`))
	f.Add([]byte(`{"usage":null}`))
	f.Add([]byte(`{"usage":{"prompt_tokens":-1e3}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := withUsage("up", body)
		if err != nil {
			var oe *openai.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %v (%T) is not an *openai.Error", err, err)
			}
			if r != nil {
				t.Fatal("a response with an error")
			}
			return
		}
		if string(r.Body) != string(body) {
			t.Fatal("the body was changed")
		}
		var v struct {
			Usage *openai.Usage `json:"usage"`
		}
		if json.Unmarshal(body, &v) != nil {
			t.Fatal("accepted a body that does not decode")
		}
		want := openai.Usage{}
		if v.Usage != nil {
			want = *v.Usage
		}
		if !reflect.DeepEqual(r.Usage, want) {
			t.Fatalf("usage %+v, want %+v", r.Usage, want)
		}
	})
}
