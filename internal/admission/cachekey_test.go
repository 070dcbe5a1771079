package admission

import (
	"encoding/json"
	"testing"
)

const baseReq = `{"model":"chat","messages":[{"role":"user","content":"hi"}],"temperature":0.7,"top_p":1,"max_tokens":50,"seed":1,"stop":["x"],"n":1,
"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto",
"response_format":{"type":"json_object"},"presence_penalty":0,"frequency_penalty":0,"logit_bias":{"50256":-100},
"logprobs":false,"top_logprobs":0,"parallel_tool_calls":true,"reasoning_effort":"low","max_completion_tokens":40,"future_knob":1}`

func key(t *testing.T, target, body string) string {
	t.Helper()
	k, ok := cacheKey("chat", target, []byte(body))
	if !ok {
		t.Fatalf("no key for %s", body)
	}
	return k
}

// with replaces one top-level field of baseReq.
func with(t *testing.T, field string, value any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(baseReq), &m); err != nil {
		t.Fatal(err)
	}
	if value == nil {
		delete(m, field)
	} else {
		m[field] = value
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestEveryOutputChangingParameterChangesTheCacheKey(t *testing.T) {
	base := key(t, "route:chat", baseReq)
	changes := map[string]any{
		"messages":              []any{map[string]any{"role": "user", "content": "hello"}},
		"temperature":           0.8,
		"top_p":                 0.9,
		"max_tokens":            51,
		"max_completion_tokens": 41,
		"seed":                  2,
		"stop":                  []any{"y"},
		"n":                     2,
		"tools":                 []any{map[string]any{"type": "function", "function": map[string]any{"name": "g"}}},
		"tool_choice":           "required",
		"response_format":       map[string]any{"type": "text"},
		"presence_penalty":      0.5,
		"frequency_penalty":     0.5,
		"logit_bias":            map[string]any{"50256": -50},
		"logprobs":              true,
		"top_logprobs":          2,
		"parallel_tool_calls":   false,
		"reasoning_effort":      "high",
		"future_knob":           2,
	}
	for field, v := range changes {
		t.Run(field, func(t *testing.T) {
			if key(t, "route:chat", with(t, field, v)) == base {
				t.Fatalf("changing %s did not change the key", field)
			}
			if key(t, "route:chat", with(t, field, nil)) == base {
				t.Fatalf("removing %s did not change the key", field)
			}
		})
	}
	t.Run("the resolved target", func(t *testing.T) {
		if key(t, "route:other", baseReq) == base || key(t, "pin:anthropic/claude", baseReq) == base {
			t.Fatal("a different target must miss")
		}
	})
	t.Run("the endpoint", func(t *testing.T) {
		k, _ := cacheKey("embeddings", "route:chat", []byte(baseReq))
		if k == base {
			t.Fatal("a different endpoint must miss")
		}
	})
}

func TestFieldsThatCannotChangeTheOutputDoNotChangeTheKey(t *testing.T) {
	base := key(t, "route:chat", baseReq)
	same := map[string]any{
		"model":          "an-alias-of-chat", // the route, not the name the client used, is in the key
		"stream":         true,
		"stream_options": map[string]any{"include_usage": true},
		"user":           "someone-else",
		"metadata":       map[string]any{"trace": "abc"},
	}
	for field, v := range same {
		t.Run(field, func(t *testing.T) {
			if key(t, "route:chat", with(t, field, v)) != base {
				t.Fatalf("%s changed the key", field)
			}
		})
	}
	t.Run("large seeds keep every digit", func(t *testing.T) {
		a := `{"seed":12345678901234567,"messages":[]}`
		b := `{"seed":12345678901234568,"messages":[]}`
		if key(t, "r", a) == key(t, "r", b) {
			t.Fatal("two seeds that differ only past float64 precision share a key")
		}
		if key(t, "r", `{"max_tokens":100}`) != key(t, "r", `{"max_tokens":100.0}`) || key(t, "r", `{"max_tokens":100}`) != key(t, "r", `{"max_tokens":1e2}`) {
			t.Fatal("one number spelled three ways must share a key")
		}
		for _, pair := range [][2]string{{"1e20", "100000000000000000000"}, {"1.5e16", "15000000000000000"}, {"-0.0", "0"}, {"2E3", "2000.000"}} {
			if key(t, "r", `{"x":`+pair[0]+`}`) != key(t, "r", `{"x":`+pair[1]+`}`) {
				t.Errorf("%s and %s are one number, with two keys", pair[0], pair[1])
			}
		}
	})
	t.Run("formatting and key order", func(t *testing.T) {
		a := `{"temperature":0.70,"messages":[{"content":"hi","role":"user"}],"model":"x"}`
		b := `{ "model":"y", "messages":[{"role":"user","content":"hi"}], "temperature":0.7 }`
		if key(t, "r", a) != key(t, "r", b) {
			t.Fatal("equal requests hashed differently")
		}
	})
}

func TestANumberBeyondFloat64StaysANumberInTheKey(t *testing.T) {
	if key(t, "r", `{"future_knob":1e400}`) == key(t, "r", `{"future_knob":"1e400"}`) {
		t.Fatal("a huge number and the string of its digits share a key")
	}
}
