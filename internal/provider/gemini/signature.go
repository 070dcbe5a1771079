package gemini

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Thought signatures across turns.
//
// Gemini's thinking models put a thoughtSignature on the functionCall parts
// they return (on the first one of parallel calls) and, from Gemini 3 on,
// refuse the next request with a 400 unless the history carries it back on
// the same part. OpenAI's chat format has no place for it, so the gateway
// carries it in the one field every client sends back unchanged: the tool
// call's id. A signed call's id is
//
//	call_<n>__thought__<the signature's bytes, unpadded base64url>
//
// and translating a later request takes the signature out of the id again.
// The id was chosen over an extra field (Google's own OpenAI endpoint uses
// tool_calls[].extra_content.google.thought_signature) because only the id
// survives everything between two turns: SDKs that rebuild messages from
// their own types (LangChain, the Vercel AI SDK), the gateway's response
// cache, and its Messages and Responses translators, which keep tool ids
// (tool_use.id, call_id) and nothing else of a call. Base64url keeps the id
// within [A-Za-z0-9_-], which Anthropic requires of tool_use ids. The cost:
// such ids are long, over the limits of OpenAI's chat (40 characters), its
// Responses API and Bedrock (64); the translators for those upstreams send a
// short stand-in for each (provider.ShortToolCallID, which says why a hash
// and not a side store), so a conversation can fail over there and come
// back with its signatures whole.
//
// A model turn whose calls carry no signature (history from another
// provider, or a client that rewrote the ids) gets Google's documented
// placeholder on its first call instead, which Gemini accepts without
// validation, so a conversation can move to Gemini mid-way.
const (
	signatureMarker = "__thought__"
	// skipSignature is the value Google documents for function calls that no
	// Gemini response produced.
	skipSignature = "skip_thought_signature_validator"
)

// callID is the id of a response's tool call number n, with Gemini's
// thoughtSignature sig (standard base64, as Google's JSON sends bytes) in it
// when there is one. A signature that is not base64 cannot be carried
// faithfully and is left out.
func callID(n int, sig string) string {
	id := fmt.Sprintf("call_%d", n)
	if sig == "" {
		return id
	}
	b, err := decodeBase64(sig)
	if err != nil || len(b) == 0 {
		return id
	}
	return id + signatureMarker + base64.RawURLEncoding.EncodeToString(b)
}

// signatureFromID is the thoughtSignature a tool call id carries (standard
// base64), or "" when it carries none.
func signatureFromID(id string) string {
	_, enc, ok := strings.Cut(id, signatureMarker)
	if !ok || enc == "" {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(b) == 0 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

// decodeBase64 reads bytes in any of the encodings Google's JSON accepts:
// standard or URL-safe, padded or not.
func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}
