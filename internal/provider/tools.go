package provider

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/aigateway/gateway/internal/openai"
)

// Tool calls as the translators of non-OpenAI protocols map them: the
// arguments each way, and the numbering of streamed calls.

// ArgumentsObject reads a client's tool call arguments (a JSON object in a
// string, as OpenAI sends them) for an upstream that wants the object:
// compact, empty arguments being the empty object. Anything but a JSON
// object is an error.
func ArgumentsObject(args string) (json.RawMessage, error) {
	b := bytes.TrimSpace([]byte(args))
	if len(b) == 0 {
		return json.RawMessage(`{}`), nil
	}
	if b[0] != '{' || !json.Valid(b) {
		return nil, errors.New("tool call arguments must be a JSON object")
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, b) // valid: checked above
	return buf.Bytes(), nil
}

// CompactArguments renders the JSON input of an upstream's tool call as
// OpenAI's arguments string: compact, absent or null input being "{}". Input
// that is not JSON is an error, with "{}" as the string.
func CompactArguments(in json.RawMessage) (string, error) {
	if openai.IsNull(in) {
		return "{}", nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, in); err != nil {
		return "{}", errors.New("tool call input is not valid JSON")
	}
	return buf.String(), nil
}

// ToolIndexes numbers the tool calls of a streamed answer as OpenAI's
// tool_calls[].index does (0, 1, 2… in the order they start) for upstreams
// that number them among all their content blocks. The zero value is ready.
type ToolIndexes struct {
	byBlock map[int]int
}

// Index returns the tool call index of content block block, numbering the
// block when it is new.
func (t *ToolIndexes) Index(block int) int {
	if i, ok := t.byBlock[block]; ok {
		return i
	}
	if t.byBlock == nil {
		t.byBlock = map[int]int{}
	}
	i := len(t.byBlock)
	t.byBlock[block] = i
	return i
}

// Lookup returns the tool call index of a block Index numbered.
func (t *ToolIndexes) Lookup(block int) (int, bool) {
	i, ok := t.byBlock[block]
	return i, ok
}
