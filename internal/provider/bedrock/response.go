package bedrock

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// finishReason maps Bedrock's stopReason to OpenAI's finish_reason.
func finishReason(r types.StopReason) string {
	switch r {
	case types.StopReasonMaxTokens, types.StopReasonModelContextWindowExceeded:
		return "length"
	case types.StopReasonToolUse:
		return "tool_calls"
	case types.StopReasonGuardrailIntervened, types.StopReasonContentFiltered:
		return "content_filter"
	default:
		// end_turn, stop_sequence, and reasons newer than this code.
		return "stop"
	}
}

// usage maps Bedrock's token counts. Bedrock's inputTokens leaves out the
// tokens read from or written to the prompt cache; OpenAI's prompt_tokens
// counts every input token, with the cache hits repeated in cached_tokens.
func usage(u *types.TokenUsage) openai.Usage {
	if u == nil {
		return openai.Usage{}
	}
	read := int(aws.ToInt32(u.CacheReadInputTokens))
	out := openai.Usage{
		PromptTokens:     int(aws.ToInt32(u.InputTokens)) + read + int(aws.ToInt32(u.CacheWriteInputTokens)),
		CompletionTokens: int(aws.ToInt32(u.OutputTokens)),
	}
	out.TotalTokens = out.PromptTokens + out.CompletionTokens
	if u.CacheReadInputTokens != nil {
		out.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: read}
	}
	return out
}

// toolArguments renders a tool input document as compact JSON.
func toolArguments(in document.Interface) (string, error) {
	if in == nil {
		return "{}", nil
	}
	b, err := in.MarshalSmithyDocument()
	if err != nil {
		return "", err
	}
	return provider.CompactArguments(b)
}

// translateResponse turns a Converse answer into an OpenAI chat completion.
func translateResponse(out *bedrockruntime.ConverseOutput, id, model string, created int64) (*openai.ChatCompletion, error) {
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		return nil, errors.New("the answer has no output message")
	}
	var text strings.Builder
	var calls []openai.ToolCall
	for _, block := range msg.Value.Content {
		switch b := block.(type) {
		case *types.ContentBlockMemberText:
			text.WriteString(b.Value)
		case *types.ContentBlockMemberToolUse:
			args, err := toolArguments(b.Value.Input)
			if err != nil {
				return nil, err
			}
			calls = append(calls, openai.ToolCall{
				ID:       aws.ToString(b.Value.ToolUseId),
				Type:     "function",
				Function: openai.FunctionCall{Name: aws.ToString(b.Value.Name), Arguments: args},
			})
		}
		// Reasoning, citations and other blocks have no place in a chat completion.
	}
	rm := openai.AssistantMessage(text.String(), calls)
	u := usage(out.Usage)
	return &openai.ChatCompletion{
		ID:      id,
		Object:  "chat.completion",
		Created: created,
		Model:   model,
		Choices: []openai.Choice{{Index: 0, Message: rm, FinishReason: finishReason(out.StopReason)}},
		Usage:   &u,
	}, nil
}
