package pricing

import "github.com/aigateway/gateway/internal/openai"

// The prompt-size heuristic. It is meant for reservations, so where it must
// guess it guesses high rather than low.
const (
	// BytesPerToken: English text averages about four characters per token
	// with the OpenAI, Anthropic and Gemini tokenizers. Text is measured in
	// UTF-8 bytes, not characters, so scripts that tokenize denser (CJK:
	// roughly a token per character, three bytes each) are undercounted far
	// less than a character count would undercount them.
	BytesPerToken = 4
	// MessageOverheadTokens is added per message for the role and the
	// delimiters around it (OpenAI documents 3 to 4).
	MessageOverheadTokens = 4
	// ReplyOverheadTokens primes the assistant's reply (OpenAI documents 3).
	ReplyOverheadTokens = 3
	// MediaPartTokens is the fixed allowance for one image or audio part,
	// whatever its size: a 1024×1024 image is 765 tokens at OpenAI's high
	// detail and about 1,400 at Anthropic's 1.15-megapixel cap, 258 at
	// Gemini. Its URL or base64 data is not counted as text.
	MediaPartTokens = 1000
)

// EstimatePromptTokens guesses a chat request's prompt size before the call:
// the UTF-8 bytes of every message's role, name, text content, tool-call
// names and arguments and tool-call id, of every tool's name, description and
// parameter schema, and of a response_format JSON schema, divided by
// BytesPerToken (rounded up), plus MessageOverheadTokens per message,
// ReplyOverheadTokens once, and MediaPartTokens per image or audio part.
// A nil request is 0.
func EstimatePromptTokens(req *openai.ChatRequest) int {
	if req == nil {
		return 0
	}
	bytes, media := 0, 0
	for _, m := range req.Messages {
		bytes += len(m.Role) + len(m.Name) + len(m.ToolCallID) + len(m.Refusal)
		if m.Content.IsParts {
			for _, p := range m.Content.Parts {
				switch {
				case p.ImageURL != nil || p.InputAudio != nil:
					media++
				default:
					bytes += len(p.Text)
				}
			}
		} else {
			bytes += len(m.Content.Text)
		}
		for _, tc := range m.ToolCalls {
			bytes += len(tc.ID) + len(tc.Function.Name) + len(tc.Function.Arguments)
		}
	}
	for _, tool := range req.Tools {
		bytes += len(tool.Type) + len(tool.Function.Name) + len(tool.Function.Description) + len(tool.Function.Parameters)
	}
	if rf := req.ResponseFormat; rf != nil && rf.JSONSchema != nil {
		bytes += len(rf.JSONSchema.Name) + len(rf.JSONSchema.Description) + len(rf.JSONSchema.Schema)
	}
	return (bytes+BytesPerToken-1)/BytesPerToken +
		MessageOverheadTokens*len(req.Messages) + ReplyOverheadTokens + MediaPartTokens*media
}
