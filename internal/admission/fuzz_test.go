package admission

import (
	"bytes"
	"encoding/json"
	"sort"
	"testing"
)

// reorderJSON re-encodes a decoded JSON value with every object's keys in
// reverse order: the same request, spelled differently.
func reorderJSON(v any) []byte {
	var b bytes.Buffer
	var enc func(v any)
	enc = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x == nil { // the body was null
				b.WriteString("null")
				return
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Sort(sort.Reverse(sort.StringSlice(keys)))
			b.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					b.WriteByte(',')
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteByte(':')
				enc(x[k])
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteByte(',')
				}
				enc(e)
			}
			b.WriteByte(']')
		case json.Number:
			b.WriteString(x.String())
		default:
			vb, _ := json.Marshal(x)
			b.Write(vb)
		}
	}
	enc(v)
	return b.Bytes()
}

func FuzzCacheKey(f *testing.F) {
	f.Add("chat", "route:shared", []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.70,"seed":12345678901234567890}`))
	f.Add("embeddings", "pin:a/m", []byte(`{"input":["a","b"],"model":"m","dimensions":1e2}`))
	f.Add("chat", "route:x", []byte(`{"b":{"y":1,"x":[{"q":2,"p":1.5e-7}]},"a":-0.0,"c":1e400}`))
	f.Add("chat", "", []byte(`[1,2]`))
	f.Add("chat", "", []byte(`{"a":1}{"b":2}`))
	f.Fuzz(func(t *testing.T, endpoint, target string, body []byte) {
		k1, ok1 := cacheKey(endpoint, target, body)
		k2, ok2 := cacheKey(endpoint, target, body)
		if k1 != k2 || ok1 != ok2 {
			t.Fatalf("cacheKey is not deterministic on %q: %q/%v then %q/%v", body, k1, ok1, k2, ok2)
		}
		if !ok1 {
			return
		}
		// The same object with its keys in another order has the same key.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("cacheKey accepted %q, which is not a JSON object: %v", body, err)
		}
		permuted := reorderJSON(m)
		if k3, ok3 := cacheKey(endpoint, target, permuted); !ok3 || k3 != k1 {
			t.Fatalf("key order changed the cache key:\n%q\n%q", body, permuted)
		}
	})
}
