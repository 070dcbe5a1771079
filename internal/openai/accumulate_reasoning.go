package openai

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// vLLM, OpenRouter and Ollama name the reasoning text "reasoning" where
// DeepSeek (and this package's types) say "reasoning_content". The readers
// below find it, so the accumulator and the Responses translation keep it.

var reasoningKey = []byte(`"reasoning"`)

// DeltaReasoning is the "reasoning" text of the delta of each choice of a
// chat.completion.chunk's JSON, by choice index; nil when none has one.
func DeltaReasoning(chunk []byte) map[int]string { return reasoningAt(chunk, "delta") }

// MessageReasoning is the "reasoning" text of the message of each choice of
// a chat.completion's JSON, by choice index; nil when none has one.
func MessageReasoning(body []byte) map[int]string { return reasoningAt(body, "message") }

func reasoningAt(b []byte, field string) map[int]string {
	if !bytes.Contains(b, reasoningKey) {
		return nil
	}
	var out map[int]string
	gjson.GetBytes(b, "choices").ForEach(func(_, c gjson.Result) bool {
		if r := c.Get(field + ".reasoning"); r.Type == gjson.String && r.Str != "" {
			if out == nil {
				out = map[int]string{}
			}
			out[int(c.Get("index").Int())] = r.Str
		}
		return true
	})
	return out
}
