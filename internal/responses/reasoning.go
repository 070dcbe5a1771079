package responses

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/aigateway/gateway/internal/openai"
)

// A chat answer's reasoning (reasoning_content, and the thinking blocks
// Anthropic and Bedrock sign) becomes a reasoning output item: its text as
// one reasoning_text content part, an empty summary (the text is the
// model's own, not a summary), and encrypted_content holding the thinking
// blocks, so a client that sends the item back (or a previous_response_id
// turn) gives the provider its signed thinking again. The encrypted_content
// begins with gatewayReasoning: such an item means nothing to a native
// Responses upstream, which would look its id up, so NativeBody leaves it
// out.

// gatewayReasoning begins the encrypted_content of a reasoning item the
// translation made; base64url JSON of its thinking blocks follows.
const gatewayReasoning = "aigateway.reasoning.v1:"

// PartReasoningText is the content part of a reasoning item's text.
const PartReasoningText = "reasoning_text"

// reasoningItem is the JSON of a translated reasoning item.
type reasoningItem struct {
	Type             string          `json:"type"`
	ID               string          `json:"id"`
	Status           string          `json:"status,omitempty"`
	Summary          []reasoningText `json:"summary"`
	Content          []reasoningText `json:"content"`
	EncryptedContent string          `json:"encrypted_content"`
}

type reasoningText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// newReasoningItem is the reasoning item of text and blocks.
func newReasoningItem(id, status, text string, blocks []openai.ThinkingBlock) Item {
	content := []reasoningText{}
	if text != "" {
		content = append(content, reasoningText{Type: PartReasoningText, Text: text})
	}
	if blocks == nil {
		blocks = []openai.ThinkingBlock{}
	}
	b, _ := json.Marshal(blocks) // plain strings
	raw, err := marshal(reasoningItem{Type: TypeReasoning, ID: id, Status: status, Summary: []reasoningText{},
		Content: content, EncryptedContent: gatewayReasoning + base64.RawURLEncoding.EncodeToString(b)})
	if err != nil {
		raw = []byte(`{"type":"reasoning","id":"` + id + `","summary":[]}`)
	}
	return Item{Type: TypeReasoning, ID: id, Status: status, Raw: raw}
}

// translatedReasoning reads a reasoning item the translation made: its text
// and thinking blocks; ok is false for any other item (OpenAI's own).
func translatedReasoning(it Item) (text string, blocks []openai.ThinkingBlock, ok bool) {
	if it.Type != TypeReasoning {
		return "", nil, false
	}
	enc, found := strings.CutPrefix(gjson.GetBytes(it.Raw, "encrypted_content").Str, gatewayReasoning)
	if !found {
		return "", nil, false
	}
	if b, err := base64.RawURLEncoding.DecodeString(enc); err == nil {
		_ = json.Unmarshal(b, &blocks)
	}
	var sb strings.Builder
	for _, p := range gjson.GetBytes(it.Raw, "content").Array() {
		if p.Get("type").Str == PartReasoningText {
			sb.WriteString(p.Get("text").Str)
		}
	}
	return sb.String(), blocks, true
}

// ThinkingBlocks are the thinking blocks a reasoning item the translation
// made carries to the next chat request (nil for any other item): what a
// content policy reads of it, since the model reads them.
func ThinkingBlocks(it Item) []openai.ThinkingBlock {
	_, blocks, _ := translatedReasoning(it)
	return blocks
}

// reasoningOf is a chat message's reasoning: its text and blocks, with the
// text taken from the blocks when the provider sent only those.
func reasoningOf(m openai.ResponseMessage) (string, []openai.ThinkingBlock) {
	text := m.ReasoningContent
	if text == "" {
		for _, tb := range m.ThinkingBlocks {
			text += tb.Thinking
		}
	}
	return text, m.ThinkingBlocks
}
