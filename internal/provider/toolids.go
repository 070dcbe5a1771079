package provider

import (
	"crypto/sha256"
	"encoding/base64"
)

// Tool call id limits of the upstream APIs that have one: OpenAI's Chat
// Completions refuses a tool_calls[].id or tool_call_id longer than 40
// characters and its Responses API an input item's call_id longer than 64
// ("string too long", a 400; both limits as OpenAI's error messages state
// them); Bedrock's Converse takes a toolUseId of 1 to 64 characters from
// [a-zA-Z0-9_-].
const (
	MaxOpenAIToolCallID  = 40
	MaxResponsesCallID   = 64
	MaxBedrockToolCallID = 64
)

// ShortToolCallID returns id when it is at most max bytes long, else an id
// of max bytes (at most 48) that stands for it: "call_" and the start of
// id's SHA-256 in base64url. The same id always gives the same short id, so
// an assistant message's tool call and the tool message that answers it,
// shortened separately, still match; two different ids give different ones
// but for a collision of at least 150 bits.
//
// Why a hash and not a side store: the long ids are Gemini's (see
// gemini/signature.go), which carry the thoughtSignature Gemini needs back.
// The client holds them and sends them back to whichever provider the next
// turn reaches; only an upstream with a limit needs a short form, and needs
// it only for the one request. Keeping the signature in a store keyed by a
// short id instead would make every id short but lose the signature
// whenever the next turn lands on another Lambda instance (memory is not
// shared) or after the store's bound, or cost a state-store write per tool
// call and a read per turn. The cost of the hash: the limited upstream sees
// ids the client never did; its answers carry only ids of their own, so the
// client never sees the short ones.
func ShortToolCallID(id string, max int) string {
	if len(id) <= max {
		return id
	}
	const prefix = "call_"
	sum := sha256.Sum256([]byte(id))
	enc := base64.RawURLEncoding.EncodeToString(sum[:]) // 43 characters
	return prefix + enc[:min(len(enc), max-len(prefix))]
}
