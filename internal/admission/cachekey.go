package admission

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// notOutputFields are request fields that cannot change the answer; every
// other field, known or not, is part of the cache key.
var notOutputFields = map[string]bool{
	"model":          true, // replaced by the resolved route or pinned target
	"stream":         true, // a cached answer replays either way
	"stream_options": true,
	"user":           true,
	"metadata":       true,
	"store":          true,
}

// cacheKey hashes the canonical request: the resolved target description
// (route name after alias resolution, or the pinned provider and model) and
// every field that can change the output. Canonical means keys sorted at every
// level and numbers normalised (0.70 and 0.7 are the same temperature), so
// equal requests hash equally whatever their formatting.
func cacheKey(endpoint, target string, body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return "", false
	}
	for f := range notOutputFields {
		delete(m, f)
	}
	canon, err := json.Marshal(normalize(m)) // map keys are sorted by encoding/json
	if err != nil {
		return "", false
	}
	h := sha256.New()
	h.Write([]byte(endpoint))
	h.Write([]byte{0})
	h.Write([]byte(target))
	h.Write([]byte{0})
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil)), true
}

// normalize rewrites numbers to one spelling: integers exactly (a 64-bit
// seed keeps every digit), other numbers by their float64 value.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if n, ok := new(big.Int).SetString(s, 10); ok {
				return json.RawMessage(n.String())
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			if f == 0 {
				return json.RawMessage("0") // -0.0 too
			}
			if f == math.Trunc(f) {
				// An integral value is written as the integer it is, every
				// digit (1e20 and 100000000000000000000 are one number).
				return json.RawMessage(new(big.Float).SetFloat64(f).Text('f', 0))
			}
			return json.RawMessage(strconv.FormatFloat(f, 'g', -1, 64))
		}
		// Out of float64's range: keep the number's own spelling, still a number.
		return json.RawMessage(s)
	default:
		return v
	}
}
