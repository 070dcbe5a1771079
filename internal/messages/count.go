package messages

import "github.com/aigateway/gateway/internal/pricing"

// CountTokens estimates the input tokens of a request for
// /v1/messages/count_tokens when the provider is not Anthropic (Anthropic's
// own endpoint counts exactly). It is the gateway's prompt estimate
// (pricing.EstimatePromptTokens) of the request ToChat makes, so it matches
// what the gateway reserves for the call: about four bytes of text a token,
// a fixed allowance per image. Thinking blocks, which ToChat drops, are not
// counted. A request ToChat refuses is refused here with the same error.
func CountTokens(r *Request) (*TokenCount, error) {
	chat, err := ToChat(r)
	if err != nil {
		return nil, err
	}
	return &TokenCount{InputTokens: pricing.EstimatePromptTokens(chat)}, nil
}
