package responses

import (
	"github.com/tidwall/sjson"

	"github.com/aigateway/gateway/internal/openai"
)

// NativeBody is the body to send an upstream that speaks the Responses API
// itself (OpenAI, Azure): the client's raw body with only "model" set to
// the upstream's model name, so every field, known to this package or not,
// passes through untouched.
//
// When the gateway resolved previous_response_id itself, pass the earlier
// items as history: they are sent inline as the start of "input" and
// previous_response_id is removed, since the upstream never saw the
// gateway's response ids. The ids of modeled history items are dropped (the
// upstream would look them up in its own store); other items, such as
// reasoning items an OpenAI turn returned, go back as they came. Reasoning
// items the gateway's translation made (another provider's thinking) are
// left out, from the history and from the client's own input: the upstream
// would look up their ids and refuse the request.
func (r *Request) NativeBody(model string, history []Item) ([]byte, error) {
	bad := &openai.Error{Code: openai.CodeInvalidJSON, Message: "request body is not valid JSON"}
	body, err := sjson.SetBytes(r.Raw, "model", model)
	if err != nil {
		return nil, bad
	}
	foreign := false
	for _, it := range r.Input.Items {
		if _, _, ok := translatedReasoning(it); ok {
			foreign = true
		}
	}
	if len(history) == 0 && !foreign {
		return body, nil
	}
	items := make([]Item, 0, len(history)+len(r.Input.Items)+1)
	for _, it := range history {
		switch it.Type {
		case TypeMessage, TypeFunctionCall, TypeFunctionCallOutput:
			it.ID = ""
		}
		if _, _, ok := translatedReasoning(it); !ok {
			items = append(items, it)
		}
	}
	for _, it := range r.Items() {
		if _, _, ok := translatedReasoning(it); !ok {
			items = append(items, it)
		}
	}
	input, err := marshal(items)
	if err != nil {
		return nil, bad
	}
	if body, err = sjson.SetRawBytes(body, "input", input); err != nil {
		return nil, bad
	}
	if body, err = sjson.DeleteBytes(body, "previous_response_id"); err != nil {
		return nil, bad
	}
	return body, nil
}
