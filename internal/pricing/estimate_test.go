package pricing

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

func chat(msgs ...openai.Message) *openai.ChatRequest {
	return &openai.ChatRequest{Model: "gpt-4o", Messages: msgs}
}

func user(text string) openai.Message {
	return openai.Message{Role: "user", Content: openai.TextContent(text)}
}

func imagePart(url string) openai.ContentPart {
	return openai.ContentPart{Type: "image_url", ImageURL: &openai.ImageURL{URL: url}}
}

func TestEstimatePromptTokens(t *testing.T) {
	weather := openai.Tool{Type: "function", Function: openai.FunctionSpec{
		Name: "get_weather", Description: "Current weather for a city",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
	}}
	withTool := chat(user("hi"))
	withTool.Tools = []openai.Tool{weather}
	toolCall := chat(user("hi"), openai.Message{Role: "assistant", Content: openai.Content{IsNull: true},
		ToolCalls: []openai.ToolCall{{ID: "call_1", Type: "function",
			Function: openai.FunctionCall{Name: "get_weather", Arguments: strings.Repeat(`{"city":"Paris"}`, 10)}}}})
	noToolCall := chat(user("hi"), openai.Message{Role: "assistant", Content: openai.Content{IsNull: true}})
	parts := chat(openai.Message{Role: "user", Content: openai.Content{IsParts: true, Parts: []openai.ContentPart{
		{Type: "text", Text: "abcd"}, {Type: "text", Text: "efgh"},
	}}})
	schema := chat(user("hi"))
	schema.ResponseFormat = &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.JSONSchemaSpec{
		Name: "answer", Schema: json.RawMessage(`{"type":"object","properties":{"answer":{"type":"string"}}}`)}}

	tests := []struct {
		name string
		got  int
		want int
	}{
		{"a nil request is zero", EstimatePromptTokens(nil), 0},
		{"an empty request is the reply overhead", EstimatePromptTokens(chat()), ReplyOverheadTokens},
		{"one message is its bytes over four, rounded up, plus the overheads",
			EstimatePromptTokens(chat(user("abcd"))), 2 + MessageOverheadTokens + ReplyOverheadTokens}, // "user"+"abcd" = 8 bytes
		{"text parts count like string content",
			EstimatePromptTokens(parts), 3 + MessageOverheadTokens + ReplyOverheadTokens}, // "user"+"abcd"+"efgh" = 12 bytes
		{"text is measured in bytes, so CJK is not undercounted",
			EstimatePromptTokens(chat(user("東京都"))), 4 + MessageOverheadTokens + ReplyOverheadTokens}, // 4+9 = 13 bytes
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %d, want %d", tt.got, tt.want)
			}
		})
	}

	grows := []struct {
		name          string
		smaller, more *openai.ChatRequest
	}{
		{"a tool schema adds tokens", chat(user("hi")), withTool},
		{"tool-call arguments add tokens", noToolCall, toolCall},
		{"a response_format schema adds tokens", chat(user("hi")), schema},
		{"another message adds at least its overhead", chat(user("hi")), chat(user("hi"), user(""))},
	}
	for _, tt := range grows {
		t.Run(tt.name, func(t *testing.T) {
			if a, b := EstimatePromptTokens(tt.smaller), EstimatePromptTokens(tt.more); b <= a {
				t.Errorf("estimate went from %d to %d, want it to grow", a, b)
			}
		})
	}

	t.Run("the estimate never shrinks as text grows, and grows every four bytes", func(t *testing.T) {
		prev := EstimatePromptTokens(chat(user("")))
		for n := 1; n <= 4096; n++ {
			got := EstimatePromptTokens(chat(user(strings.Repeat("x", n))))
			if got < prev {
				t.Fatalf("%d bytes: %d tokens, fewer than %d for one byte less", n, got, prev)
			}
			if n >= 4 {
				if shorter := EstimatePromptTokens(chat(user(strings.Repeat("x", n-4)))); got <= shorter {
					t.Fatalf("%d bytes: %d tokens, not more than %d for four bytes less", n, got, shorter)
				}
			}
			prev = got
		}
	})

	t.Run("an image counts a fixed amount whatever the size of its data", func(t *testing.T) {
		textOnly := EstimatePromptTokens(chat(openai.Message{Role: "user", Content: openai.Content{IsParts: true,
			Parts: []openai.ContentPart{{Type: "text", Text: "what is this?"}}}}))
		for _, url := range []string{"https://example.com/a.png", "data:image/png;base64," + strings.Repeat("A", 1<<20)} {
			got := EstimatePromptTokens(chat(openai.Message{Role: "user", Content: openai.Content{IsParts: true,
				Parts: []openai.ContentPart{{Type: "text", Text: "what is this?"}, imagePart(url)}}}))
			if got-textOnly != MediaPartTokens {
				t.Errorf("image of %d URL bytes added %d tokens, want %d", len(url), got-textOnly, MediaPartTokens)
			}
		}
	})

	t.Run("an audio part counts the same fixed amount", func(t *testing.T) {
		base := chat(openai.Message{Role: "user", Content: openai.Content{IsParts: true}})
		audio := chat(openai.Message{Role: "user", Content: openai.Content{IsParts: true, Parts: []openai.ContentPart{
			{Type: "input_audio", InputAudio: &openai.InputAudio{Data: strings.Repeat("A", 4096), Format: "wav"}}}}})
		if d := EstimatePromptTokens(audio) - EstimatePromptTokens(base); d != MediaPartTokens {
			t.Errorf("audio added %d tokens, want %d", d, MediaPartTokens)
		}
	})
}

func TestEstimateCost(t *testing.T) {
	tbl := Default()
	tests := []struct {
		name           string
		model          string
		prompt, maxOut int
		want           float64
		wantOK         bool
	}{
		{"the prompt is priced at the full input price", "gpt-4o", 1000, 0, 1000 * 2.5 / 1e6, true},
		{"the output allowance is priced at the output price", "gpt-4o", 1000, 1000, (1000*2.5 + 1000*10) / 1e6, true},
		{"a dated snapshot uses its base model", "gpt-4o-2024-08-06", 1000, 1000, (1000*2.5 + 1000*10) / 1e6, true},
		{"negative counts count as zero", "gpt-4o", -1, -1, 0, true},
		{"an unknown model is zero and reported", "no-such-model", 1000, 1000, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tbl.EstimateCost(tt.model, tt.prompt, tt.maxOut, false)
			if ok != tt.wantOK || !near(got, tt.want) {
				t.Errorf("EstimateCost(%q, %d, %d) = %v, %v; want %v, %v", tt.model, tt.prompt, tt.maxOut, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	t.Run("the estimate grows with max tokens", func(t *testing.T) {
		prev := -1.0
		for _, maxOut := range []int{0, 1, 100, 4096, 128_000} {
			got, _ := tbl.EstimateCost("claude-sonnet-4-5", 500, maxOut, false)
			if got <= prev {
				t.Errorf("max %d: %v, not above %v", maxOut, got, prev)
			}
			prev = got
		}
	})
	t.Run("the estimate is at least the actual cost of a call within it", func(t *testing.T) {
		est, _ := tbl.EstimateCost("gpt-4o", 2000, 500, false)
		actual, _ := tbl.Cost("gpt-4o", usage(2000, 1500, 500))
		if est < actual {
			t.Errorf("estimate %v below actual %v", est, actual)
		}
	})
	t.Run("with cache breakpoints the estimate holds a prompt written to the one-hour cache", func(t *testing.T) {
		est, _ := tbl.EstimateCost("claude-sonnet-4-5", 2000, 500, true)
		written := openai.Usage{PromptTokens: 2000, CompletionTokens: 500,
			PromptTokensDetails: &openai.PromptTokensDetails{CacheCreationTokens: 2000,
				CacheCreationTokenDetails: &openai.CacheCreationDetails{Ephemeral1hInputTokens: 2000}}}
		actual, _ := tbl.Cost("claude-sonnet-4-5", written)
		plain, _ := tbl.EstimateCost("claude-sonnet-4-5", 2000, 500, false)
		if est < actual || !near(est, (2000*6+500*15)/1e6) || plain >= actual {
			t.Errorf("estimate %v (without breakpoints %v), actual %v with every prompt token written for an hour", est, plain, actual)
		}
	})
}
