package messages

import (
	"bytes"
	"encoding/json"

	"github.com/tidwall/sjson"
)

// marshal encodes v as compact JSON without escaping <, > and &, so text
// reaches the client as it was written.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// mustMarshal encodes values built by this package, whose encoding cannot fail.
func mustMarshal(v any) []byte {
	b, err := marshal(v)
	if err != nil {
		panic("messages: encoding " + err.Error())
	}
	return b
}

// PatchModel sets "model" in a raw request body, leaving every other byte of
// it alone: the body a native pass-through to an Anthropic upstream sends.
func PatchModel(raw []byte, model string) ([]byte, error) {
	if !json.Valid(raw) || len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		return nil, invalidf("request body must be a JSON object")
	}
	out, err := sjson.SetBytes(raw, "model", model)
	if err != nil {
		return nil, invalidf("request body must be a JSON object")
	}
	return out, nil
}

// frame is one SSE event.
func frame(event string, data []byte) []byte {
	b := make([]byte, 0, len(event)+len(data)+16)
	b = append(b, "event: "...)
	b = append(b, event...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
