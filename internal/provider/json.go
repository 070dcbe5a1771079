package provider

import (
	"bytes"
	"encoding/json"

	"github.com/aigateway/gateway/internal/openai"
)

// Marshal encodes v as compact JSON without escaping <, > and &, so prompts
// reach the upstream, and answers the client, as they were written. Its
// error is an internal *openai.Error.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Message: "could not encode JSON"}
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
