// Package e2e drives the gateway's local server with the official OpenAI Go
// SDK, through fake upstreams of each provider family on loopback.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// startGateway runs the local server on a loopback port with the given TOML
// configuration (serveGateway) and returns an SDK client pointed at it.
func startGateway(t *testing.T, toml string) oa.Client {
	t.Helper()
	return oa.NewClient(
		option.WithBaseURL(serveGateway(t, toml)+"/v1"),
		option.WithAPIKey("unused-by-this-test"),
		option.WithMaxRetries(0),
	)
}

// openAIUpstream is a fake of OpenAI's own API in its documented wire format.
func openAIUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/v1/embeddings":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.25,-0.5,0.75]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":2,"total_tokens":2}}`)
		case strings.Contains(string(body), `"model":"forbidden-model"`):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"message":"The model forbidden-model is not allowed","type":"invalid_request_error","param":"model","code":null}}`)
		case strings.Contains(string(body), `"tools"`) && strings.Contains(string(body), `"stream":true`):
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range []string{
				`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_w","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
				`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Oslo\"}"}}]},"finish_reason":null}]}`,
				`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
				`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}`,
				`[DONE]`,
			} {
				fmt.Fprintf(w, "data: %s\n\n", ev)
			}
		case strings.Contains(string(body), `"stream":true`):
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range []string{
				`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
				`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}`,
				`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" world"},"finish_reason":null}]}`,
				`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
				`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}}`,
				`[DONE]`,
			} {
				fmt.Fprintf(w, "data: %s\n\n", ev)
				w.(http.Flusher).Flush()
			}
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"c0","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOpenAISDKThroughTheGatewayToAnOpenAIUpstream(t *testing.T) {
	up := openAIUpstream(t)
	client := startGateway(t, fmt.Sprintf(`
[[providers]]
name = "openai"
kind = "openai"
base_url = "%s/v1"
api_key = "sk-fake"
models = ["gpt-4o-mini", "text-embedding-3-small", "forbidden-model"]
[aliases]
smart = "gpt-4o-mini"
`, up.URL))
	ctx := context.Background()

	t.Run("chat", func(t *testing.T) {
		c, err := client.Chat.Completions.New(ctx, oa.ChatCompletionNewParams{
			Model:    "smart",
			Messages: []oa.ChatCompletionMessageParamUnion{oa.UserMessage("Say hello")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.Choices[0].Message.Content != "Hello world" || c.Usage.TotalTokens != 13 {
			t.Errorf("%+v", c)
		}
	})

	t.Run("stream with usage", func(t *testing.T) {
		s := client.Chat.Completions.NewStreaming(ctx, oa.ChatCompletionNewParams{
			Model:         "gpt-4o-mini",
			Messages:      []oa.ChatCompletionMessageParamUnion{oa.UserMessage("Say hello")},
			StreamOptions: oa.ChatCompletionStreamOptionsParam{IncludeUsage: oa.Bool(true)},
		})
		acc := oa.ChatCompletionAccumulator{}
		n := 0
		for s.Next() {
			acc.AddChunk(s.Current())
			n++
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if acc.Choices[0].Message.Content != "Hello world" || acc.Usage.TotalTokens != 13 || n != 5 {
			t.Errorf("content=%q usage=%+v chunks=%d", acc.Choices[0].Message.Content, acc.Usage, n)
		}
	})

	t.Run("streamed tool calls", func(t *testing.T) {
		s := client.Chat.Completions.NewStreaming(ctx, oa.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []oa.ChatCompletionMessageParamUnion{oa.UserMessage("Weather in Oslo?")},
			Tools: []oa.ChatCompletionToolUnionParam{oa.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name:       "get_weather",
				Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
			})},
		})
		acc := oa.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		tc := acc.Choices[0].Message.ToolCalls
		if len(tc) != 1 || tc[0].Function.Name != "get_weather" || tc[0].Function.Arguments != `{"city":"Oslo"}` || tc[0].ID != "call_w" {
			t.Errorf("tool calls = %+v", tc)
		}
		if acc.Choices[0].FinishReason != "tool_calls" {
			t.Errorf("finish = %q", acc.Choices[0].FinishReason)
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		e, err := client.Embeddings.New(ctx, oa.EmbeddingNewParams{
			Model: "text-embedding-3-small",
			Input: oa.EmbeddingNewParamsInputUnion{OfString: oa.String("hi")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Data) != 1 || len(e.Data[0].Embedding) != 3 || e.Data[0].Embedding[1] != -0.5 {
			t.Errorf("%+v", e)
		}
	})

	t.Run("an upstream 400 reaches the SDK as an API error", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, oa.ChatCompletionNewParams{
			Model:    "forbidden-model",
			Messages: []oa.ChatCompletionMessageParamUnion{oa.UserMessage("x")},
		})
		var apiErr *oa.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("err = %v", err)
		}
		if apiErr.StatusCode != 400 || apiErr.Type != "invalid_request_error" || !strings.Contains(apiErr.Message, "not allowed") {
			t.Errorf("status=%d type=%s message=%s", apiErr.StatusCode, apiErr.Type, apiErr.Message)
		}
	})

	t.Run("an unknown model is a 404 the SDK understands", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, oa.ChatCompletionNewParams{
			Model:    "gpt-does-not-exist",
			Messages: []oa.ChatCompletionMessageParamUnion{oa.UserMessage("x")},
		})
		var apiErr *oa.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("models lists aliases", func(t *testing.T) {
		page, err := client.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if !strings.Contains(strings.Join(ids, ","), "smart") {
			t.Errorf("ids = %v", ids)
		}
	})
}

func TestOpenAISDKAgainstTheMockProvider(t *testing.T) {
	client := startGateway(t, `
[[providers]]
name = "mock"
kind = "mock"
models = ["mock-echo"]
`)
	s := client.Chat.Completions.NewStreaming(context.Background(), oa.ChatCompletionNewParams{
		Model:         "mock-echo",
		Messages:      []oa.ChatCompletionMessageParamUnion{oa.UserMessage("one two three")},
		StreamOptions: oa.ChatCompletionStreamOptionsParam{IncludeUsage: oa.Bool(true)},
	})
	acc := oa.ChatCompletionAccumulator{}
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != "echo: one two three" || acc.Usage.CompletionTokens != 4 {
		t.Errorf("content=%q usage=%+v", acc.Choices[0].Message.Content, acc.Usage)
	}
}
