package bedrock

import (
	"encoding/base64"
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
// counts every input token, with the cache hits repeated in cached_tokens and
// the writes in cache_creation_tokens (split by lifetime when Bedrock's
// cacheDetails say).
func usage(u *types.TokenUsage) openai.Usage {
	if u == nil {
		return openai.Usage{}
	}
	read, written := int(aws.ToInt32(u.CacheReadInputTokens)), int(aws.ToInt32(u.CacheWriteInputTokens))
	out := openai.Usage{
		PromptTokens:     int(aws.ToInt32(u.InputTokens)) + read + written,
		CompletionTokens: int(aws.ToInt32(u.OutputTokens)),
	}
	out.TotalTokens = out.PromptTokens + out.CompletionTokens
	if u.CacheReadInputTokens != nil || written > 0 {
		out.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: read, CacheCreationTokens: written}
	}
	var split openai.CacheCreationDetails
	for _, d := range u.CacheDetails {
		switch d.Ttl {
		case types.CacheTTLOneHour:
			split.Ephemeral1hInputTokens += int(aws.ToInt32(d.InputTokens))
		default:
			split.Ephemeral5mInputTokens += int(aws.ToInt32(d.InputTokens))
		}
	}
	if written > 0 && split.Ephemeral1hInputTokens > 0 {
		out.PromptTokensDetails.CacheCreationTokenDetails = &split
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

// thinkingBlock is a reasoning block as the client's thinking_blocks entry
// and its text; ok is false for an unknown kind of block.
func thinkingBlock(rc types.ReasoningContentBlock) (b openai.ThinkingBlock, text string, ok bool) {
	switch r := rc.(type) {
	case *types.ReasoningContentBlockMemberReasoningText:
		text = aws.ToString(r.Value.Text)
		return openai.ThinkingBlock{Type: openai.ThinkingTypeThinking, Thinking: text, Signature: aws.ToString(r.Value.Signature)}, text, true
	case *types.ReasoningContentBlockMemberRedactedContent:
		return openai.ThinkingBlock{Type: openai.ThinkingTypeRedacted, Data: base64.StdEncoding.EncodeToString(r.Value)}, "", true
	}
	return openai.ThinkingBlock{}, "", false
}

// translateResponse turns a Converse answer into an OpenAI chat completion.
// Reasoning blocks become reasoning_content (their texts) and thinking_blocks
// (each with its signature, redacted ones with their data in base64). When
// jsonTool is set (a response_format) a call of it is the answer: its input
// is the content, and the answer ends with finish_reason stop unless it also
// called the client's tools.
func translateResponse(out *bedrockruntime.ConverseOutput, id, model, jsonTool string, created int64) (*openai.ChatCompletion, error) {
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		return nil, errors.New("the answer has no output message")
	}
	var text, reasoning strings.Builder
	var calls []openai.ToolCall
	var thinking []openai.ThinkingBlock
	var answer *string
	for _, block := range msg.Value.Content {
		switch b := block.(type) {
		case *types.ContentBlockMemberText:
			text.WriteString(b.Value)
		case *types.ContentBlockMemberToolUse:
			args, err := toolArguments(b.Value.Input)
			if err != nil {
				return nil, err
			}
			if jsonTool != "" && aws.ToString(b.Value.Name) == jsonTool {
				answer = &args
				continue
			}
			calls = append(calls, openai.ToolCall{
				ID:       aws.ToString(b.Value.ToolUseId),
				Type:     "function",
				Function: openai.FunctionCall{Name: aws.ToString(b.Value.Name), Arguments: args},
			})
		case *types.ContentBlockMemberReasoningContent:
			if tb, t, ok := thinkingBlock(b.Value); ok {
				reasoning.WriteString(t)
				thinking = append(thinking, tb)
			}
		}
		// Citations and other blocks have no place in a chat completion.
	}
	finish := finishReason(out.StopReason)
	content := text.String()
	if answer != nil {
		// The JSON is the answer; text beside it would break it.
		content = *answer
		if len(calls) == 0 && finish == "tool_calls" {
			finish = "stop"
		}
	}
	rm := openai.AssistantMessage(content, calls)
	rm.ReasoningContent, rm.ThinkingBlocks = reasoning.String(), thinking
	u := usage(out.Usage)
	return &openai.ChatCompletion{
		ID:      id,
		Object:  "chat.completion",
		Created: created,
		Model:   model,
		Choices: []openai.Choice{{Index: 0, Message: rm, FinishReason: finish}},
		Usage:   &u,
	}, nil
}
