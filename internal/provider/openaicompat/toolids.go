package openaicompat

import (
	"bytes"
	"fmt"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// Long tool call ids come from the gateway's Gemini translator, which
// carries Gemini's thoughtSignature in them (gemini/signature.go). A history
// holding them is a 400 at OpenAI ("string too long") when a conversation
// moves there, by failover or by the client's choice, so they are replaced,
// in the raw body and for this request only, by provider.ShortToolCallID's
// stand-in (see there for why a hash and not a side store). Bodies with no
// long id go out as they came.

// shortenChatToolCallIDs does it for a chat body: an assistant message's
// tool_calls[].id and a tool message's tool_call_id, over OpenAI's 40.
func shortenChatToolCallIDs(raw []byte) ([]byte, error) {
	if !bytes.Contains(raw, []byte(`"tool_call`)) {
		return raw, nil
	}
	var s shortener
	gjson.GetBytes(raw, "messages").ForEach(func(i, m gjson.Result) bool {
		s.check(m.Get("tool_call_id"), provider.MaxOpenAIToolCallID, func() string { return fmt.Sprintf("messages.%d.tool_call_id", i.Int()) })
		m.Get("tool_calls").ForEach(func(j, tc gjson.Result) bool {
			s.check(tc.Get("id"), provider.MaxOpenAIToolCallID, func() string { return fmt.Sprintf("messages.%d.tool_calls.%d.id", i.Int(), j.Int()) })
			return true
		})
		return true
	})
	return s.apply(raw)
}

// shortenResponsesCallIDs does it for a Responses body: the call_id of
// input items (function_call, function_call_output), over the Responses
// API's 64.
func shortenResponsesCallIDs(raw []byte) ([]byte, error) {
	if !bytes.Contains(raw, []byte(`"call_id"`)) {
		return raw, nil
	}
	var s shortener
	gjson.GetBytes(raw, "input").ForEach(func(i, it gjson.Result) bool {
		s.check(it.Get("call_id"), provider.MaxResponsesCallID, func() string { return fmt.Sprintf("input.%d.call_id", i.Int()) })
		return true
	})
	return s.apply(raw)
}

// shortener collects the paths of ids over their limit and sets them.
type shortener struct{ paths, ids []string }

// check notes v when it is an id over max; path (built only then) is where.
func (s *shortener) check(v gjson.Result, max int, path func() string) {
	if v.Type == gjson.String && len(v.Str) > max {
		s.paths = append(s.paths, path())
		s.ids = append(s.ids, provider.ShortToolCallID(v.Str, max))
	}
}

func (s *shortener) apply(raw []byte) ([]byte, error) {
	var err error
	for i, p := range s.paths {
		if raw, err = sjson.SetBytes(raw, p, s.ids[i]); err != nil {
			return nil, &openai.Error{Code: openai.CodeInvalidJSON, Message: "request body is not valid JSON"}
		}
	}
	return raw, nil
}
