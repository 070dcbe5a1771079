package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"github.com/tidwall/gjson"
)

// Every family's fake picks its answer from the prompt: these markers ask for
// a tool call, a 400 and a 429. Any other prompt gets a text answer.
const (
	askTools     = "use-tools: weather in Paris and the time in UTC?"
	askBad       = "bad-request"
	askRateLimit = "slow-down"
)

// The vectors every embeddings fake answers for the inputs "alpha" and
// "beta": exact in float32, so base64 answers decode to the same numbers.
var wantVectors = [][]float64{{0.5, -0.25, 0.125}, {0.75, -1, 0.0625}}

// upstreamRequest is one request a fake upstream saw.
type upstreamRequest struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// fakeUpstream is a fake provider API on loopback that records every request.
type fakeUpstream struct {
	URL  string
	mu   sync.Mutex
	reqs []upstreamRequest
}

type upstreamHandler func(w http.ResponseWriter, r *http.Request, body []byte)

func newFakeUpstream(t *testing.T, handle upstreamHandler) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, upstreamRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		u.mu.Unlock()
		handle(w, r, body)
	}))
	t.Cleanup(srv.Close)
	u.URL = srv.URL
	return u
}

func (u *fakeUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

func (u *fakeUpstream) last(t *testing.T) upstreamRequest {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("the fake upstream received no request")
	}
	return u.reqs[len(u.reqs)-1]
}

// tokenUsage is the token usage the SDK reports, in comparable form.
type tokenUsage struct{ Prompt, Completion, Total int64 }

func usageOf(u oa.CompletionUsage) tokenUsage {
	return tokenUsage{u.PromptTokens, u.CompletionTokens, u.TotalTokens}
}

// answer is a text completion and the usage the upstream reported with it.
type answer struct {
	text  string
	usage tokenUsage
}

// toolCall is a call the upstream made, as the client must see it.
type toolCall struct{ id, name, args string }

// family describes one provider family: its configuration, its fake upstream
// and what the SDK must see through the gateway. The client asks for the
// aliases "chat" and "embed"; the upstream must receive chatModel and
// embedModel.
type family struct {
	name string
	// provider is the [[providers]] entry; %[1]s is the fake's URL.
	provider string
	// setup prepares what the provider reads from the environment.
	setup  func(t *testing.T)
	handle upstreamHandler
	// checkRequest asserts the provider's credential and that the request
	// names the upstream model where the provider's API puts it.
	checkRequest func(t *testing.T, req upstreamRequest, model string)

	chatModel, embedModel string // embedModel is empty: no embeddings API
	chat, stream          answer
	// tools are the calls of both the whole and the streamed tool answer.
	tools      []toolCall
	embedUsage int64
	// badRequest and rateLimited are the upstream's messages in its 400 and 429.
	badRequest, rateLimited string
}

// config is the gateway's TOML for the family. Without retries the gateway
// does not wait out a 429's Retry-After before answering.
func (f family) config(url string) string {
	c := "[defaults.retry]\nmax_retries = 0\n" + fmt.Sprintf(f.provider, url) +
		fmt.Sprintf("\n[aliases]\nchat = %q\n", f.chatModel)
	if f.embedModel != "" {
		c += fmt.Sprintf("embed = %q\n", f.embedModel)
	}
	return c
}

func TestEachProviderFamilyThroughTheOpenAISDK(t *testing.T) {
	for _, f := range []family{anthropicFamily(), geminiFamily(), vertexFamily(), bedrockFamily(), cohereFamily(), azureFamily()} {
		t.Run(f.name, func(t *testing.T) {
			if f.setup != nil {
				f.setup(t)
			}
			up := newFakeUpstream(t, f.handle)
			client := startGateway(t, f.config(up.URL))
			ctx := context.Background()

			t.Run("a whole answer arrives translated with its usage", func(t *testing.T) {
				c, err := client.Chat.Completions.New(ctx, chatParams("Say hello"))
				if err != nil {
					t.Fatal(err)
				}
				f.checkRequest(t, up.last(t), f.chatModel)
				if len(c.Choices) != 1 || c.Choices[0].Message.Content != f.chat.text || c.Choices[0].FinishReason != "stop" {
					t.Errorf("choices = %+v, want one with %q and finish stop", c.Choices, f.chat.text)
				}
				if got := usageOf(c.Usage); got != f.chat.usage {
					t.Errorf("usage = %+v, want %+v", got, f.chat.usage)
				}
			})

			t.Run("a stream accumulates to the text and ends with the upstream's usage", func(t *testing.T) {
				p := chatParams("Say hello")
				p.StreamOptions = oa.ChatCompletionStreamOptionsParam{IncludeUsage: oa.Bool(true)}
				acc, _ := streamChat(t, client, p)
				f.checkRequest(t, up.last(t), f.chatModel)
				if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != f.stream.text || acc.Choices[0].FinishReason != "stop" {
					t.Errorf("choices = %+v, want one with %q and finish stop", acc.Choices, f.stream.text)
				}
				if got := usageOf(acc.Usage); got != f.stream.usage {
					t.Errorf("usage = %+v, want %+v", got, f.stream.usage)
				}
			})

			t.Run("a whole tool answer arrives as tool_calls", func(t *testing.T) {
				c, err := client.Chat.Completions.New(ctx, toolParams())
				if err != nil {
					t.Fatal(err)
				}
				f.checkRequest(t, up.last(t), f.chatModel)
				if len(c.Choices) != 1 || c.Choices[0].FinishReason != "tool_calls" {
					t.Fatalf("choices = %+v, want one finishing with tool_calls", c.Choices)
				}
				var got []toolCall
				for _, tc := range c.Choices[0].Message.ToolCalls {
					got = append(got, toolCall{tc.ID, tc.Function.Name, tc.Function.Arguments})
				}
				checkToolCalls(t, got, f.tools)
			})

			t.Run("streamed tool calls keep their ids, names, arguments and indexes", func(t *testing.T) {
				acc, chunks := streamChat(t, client, toolParams())
				f.checkRequest(t, up.last(t), f.chatModel)
				if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "tool_calls" {
					t.Fatalf("choices = %+v, want one finishing with tool_calls", acc.Choices)
				}
				var got []toolCall
				for _, tc := range acc.Choices[0].Message.ToolCalls {
					got = append(got, toolCall{tc.ID, tc.Function.Name, tc.Function.Arguments})
				}
				checkToolCalls(t, got, f.tools)
				index := map[string]int64{}
				for _, c := range chunks {
					for _, ch := range c.Choices {
						for _, tc := range ch.Delta.ToolCalls {
							if tc.ID != "" {
								index[tc.ID] = tc.Index
							}
						}
					}
				}
				for i, want := range f.tools {
					if got, ok := index[want.id]; !ok || got != int64(i) {
						t.Errorf("tool call %s started at index %d (seen %v), want %d", want.id, got, ok, i)
					}
				}
				if acc.Usage.TotalTokens != 0 {
					t.Errorf("a client that did not ask for usage got a usage chunk: %+v", usageOf(acc.Usage))
				}
			})

			if f.embedModel == "" {
				t.Run("embeddings are a 400 naming the provider", func(t *testing.T) {
					_, err := client.Embeddings.New(ctx, embedParams("chat", ""))
					apiErr := asAPIError(t, err)
					if apiErr.StatusCode != 400 || apiErr.Code != "unsupported_endpoint" || !strings.Contains(apiErr.Message, f.name) {
						t.Errorf("status=%d code=%s message=%s", apiErr.StatusCode, apiErr.Code, apiErr.Message)
					}
				})
			}
			// This SDK sends no encoding_format unless told (floats come
			// back); base64 is what the Python and Node SDKs ask for.
			for _, format := range []oa.EmbeddingNewParamsEncodingFormat{"", oa.EmbeddingNewParamsEncodingFormatBase64} {
				if f.embedModel == "" {
					continue
				}
				name := "embeddings with the SDK's default encoding"
				if format != "" {
					name = "embeddings as " + string(format)
				}
				t.Run(name, func(t *testing.T) {
					e, err := client.Embeddings.New(ctx, embedParams("embed", format))
					if err != nil {
						t.Fatal(err)
					}
					f.checkRequest(t, up.last(t), f.embedModel)
					var got [][]float64
					for i, d := range e.Data {
						if d.Index != int64(i) {
							t.Errorf("data[%d].index = %d", i, d.Index)
						}
						if isString := strings.HasPrefix(d.JSON.Embedding.Raw(), `"`); isString != (format == oa.EmbeddingNewParamsEncodingFormatBase64) {
							t.Errorf("data[%d].embedding = %.20s…, want base64 only when asked", i, d.JSON.Embedding.Raw())
						}
						got = append(got, d.Embedding)
					}
					if !reflect.DeepEqual(got, wantVectors) {
						t.Errorf("vectors = %v, want %v", got, wantVectors)
					}
					if e.Usage.PromptTokens != f.embedUsage || e.Usage.TotalTokens != f.embedUsage {
						t.Errorf("usage = %+v, want %d prompt tokens", e.Usage, f.embedUsage)
					}
				})
			}

			for _, stream := range []bool{false, true} {
				how := "a whole answer"
				if stream {
					how = "a stream"
				}
				t.Run("an upstream 400 on "+how+" is a 400 with the provider's message", func(t *testing.T) {
					apiErr := asAPIError(t, chatError(client, askBad, stream))
					if apiErr.StatusCode != 400 || apiErr.Type != "invalid_request_error" || !strings.Contains(apiErr.Message, f.badRequest) {
						t.Errorf("status=%d type=%s message=%q, want 400 invalid_request_error with %q", apiErr.StatusCode, apiErr.Type, apiErr.Message, f.badRequest)
					}
				})
				t.Run("an upstream 429 on "+how+" is a 429 that keeps Retry-After", func(t *testing.T) {
					apiErr := asAPIError(t, chatError(client, askRateLimit, stream))
					if apiErr.StatusCode != 429 || apiErr.Type != "rate_limit_error" || !strings.Contains(apiErr.Message, f.rateLimited) {
						t.Errorf("status=%d type=%s message=%q, want 429 rate_limit_error with %q", apiErr.StatusCode, apiErr.Type, apiErr.Message, f.rateLimited)
					}
					if got := apiErr.Response.Header.Get("Retry-After"); got != "7" {
						t.Errorf("Retry-After = %q, want 7", got)
					}
				})
			}
		})
	}
}

func TestFailoverFromAnAnthropicUpstreamToAGeminiUpstream(t *testing.T) {
	overloaded := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		replyJSON(w, 529, nil, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
	})
	gem := newFakeUpstream(t, geminiUpstream)
	client := startGateway(t, fmt.Sprintf(`
[defaults.retry]
max_retries = 0
[[providers]]
name = "anthropic"
kind = "anthropic"
base_url = "%s"
api_key = "sk-ant-e2e"
models = ["claude-up"]
[[providers]]
name = "gemini"
kind = "gemini"
base_url = "%s"
api_key = "AIza-e2e"
models = ["gemini-up"]
[[routes]]
model = "resilient"
strategy = "fallback"
targets = [{ provider = "anthropic", model = "claude-up" }, { provider = "gemini", model = "gemini-up" }]
`, overloaded.URL, gem.URL))
	ctx := context.Background()
	anthropic, gemini := anthropicFamily(), geminiFamily()
	p := chatParams("Say hello")
	p.Model = "resilient"

	checkFailover := func(t *testing.T, resp *http.Response, triedBefore int) {
		t.Helper()
		if overloaded.count() != triedBefore+1 {
			t.Errorf("the anthropic fake got %d requests, want %d", overloaded.count(), triedBefore+1)
		}
		anthropic.checkRequest(t, overloaded.last(t), "claude-up")
		gemini.checkRequest(t, gem.last(t), "gemini-up")
		if resp == nil {
			t.Fatal("no response captured")
		}
		h := resp.Header
		if h.Get("X-Gateway-Provider") != "gemini" || h.Get("X-Gateway-Model") != "gemini-up" || h.Get("X-Gateway-Attempts") != "2" {
			t.Errorf("provider=%q model=%q attempts=%q, want gemini, gemini-up, 2",
				h.Get("X-Gateway-Provider"), h.Get("X-Gateway-Model"), h.Get("X-Gateway-Attempts"))
		}
	}

	t.Run("a whole answer comes from the second family", func(t *testing.T) {
		before := overloaded.count()
		var resp *http.Response
		c, err := client.Chat.Completions.New(ctx, p, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		checkFailover(t, resp, before)
		if c.Choices[0].Message.Content != gemini.chat.text || usageOf(c.Usage) != gemini.chat.usage {
			t.Errorf("content=%q usage=%+v, want gemini's %+v", c.Choices[0].Message.Content, usageOf(c.Usage), gemini.chat)
		}
	})

	t.Run("a stream comes from the second family", func(t *testing.T) {
		before := overloaded.count()
		var resp *http.Response
		sp := p
		sp.StreamOptions = oa.ChatCompletionStreamOptionsParam{IncludeUsage: oa.Bool(true)}
		acc, _ := streamChat(t, client, sp, option.WithResponseInto(&resp))
		checkFailover(t, resp, before)
		if acc.Choices[0].Message.Content != gemini.stream.text || usageOf(acc.Usage) != gemini.stream.usage {
			t.Errorf("content=%q usage=%+v, want gemini's %+v", acc.Choices[0].Message.Content, usageOf(acc.Usage), gemini.stream)
		}
	})
}

// SDK calls and their checks.

func chatParams(prompt string) oa.ChatCompletionNewParams {
	return oa.ChatCompletionNewParams{
		Model:    "chat",
		Messages: []oa.ChatCompletionMessageParamUnion{oa.UserMessage(prompt)},
	}
}

func toolParams() oa.ChatCompletionNewParams {
	p := chatParams(askTools)
	fn := func(name, param string) oa.ChatCompletionToolUnionParam {
		return oa.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: name,
			Parameters: shared.FunctionParameters{
				"type":       "object",
				"properties": map[string]any{param: map[string]any{"type": "string"}},
				"required":   []string{param},
			},
		})
	}
	p.Tools = []oa.ChatCompletionToolUnionParam{fn("get_weather", "city"), fn("get_time", "zone")}
	return p
}

func embedParams(model string, format oa.EmbeddingNewParamsEncodingFormat) oa.EmbeddingNewParams {
	return oa.EmbeddingNewParams{
		Model:          model,
		Input:          oa.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha", "beta"}},
		EncodingFormat: format,
	}
}

// streamChat reads a whole stream, requiring every chunk to accumulate.
func streamChat(t *testing.T, client oa.Client, p oa.ChatCompletionNewParams, opts ...option.RequestOption) (oa.ChatCompletionAccumulator, []oa.ChatCompletionChunk) {
	t.Helper()
	s := client.Chat.Completions.NewStreaming(context.Background(), p, opts...)
	defer s.Close()
	acc := oa.ChatCompletionAccumulator{}
	var chunks []oa.ChatCompletionChunk
	for s.Next() {
		c := s.Current()
		if !acc.AddChunk(c) {
			t.Errorf("chunk %d does not accumulate: %s", len(chunks), c.RawJSON())
		}
		chunks = append(chunks, c)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) == 0 {
		t.Fatalf("the stream had no choice (%d chunks)", len(chunks))
	}
	return acc, chunks
}

// chatError sends prompt, whole or streamed, and returns the call's error.
func chatError(client oa.Client, prompt string, stream bool) error {
	if !stream {
		_, err := client.Chat.Completions.New(context.Background(), chatParams(prompt))
		return err
	}
	s := client.Chat.Completions.NewStreaming(context.Background(), chatParams(prompt))
	defer s.Close()
	for s.Next() {
	}
	return s.Err()
}

func checkToolCalls(t *testing.T, got, want []toolCall) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("tool calls = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].id != want[i].id || got[i].name != want[i].name || !sameJSON(got[i].args, want[i].args) {
			t.Errorf("tool call %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

func asAPIError(t *testing.T, err error) *oa.Error {
	t.Helper()
	var apiErr *oa.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an API error", err)
	}
	return apiErr
}

// Helpers of the fakes.

func asked(body []byte, s string) bool { return bytes.Contains(body, []byte(s)) }

func replyJSON(w http.ResponseWriter, status int, header map[string]string, body string) {
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// writeSSE sends each frame ("event: x\ndata: {...}" or "data: {...}") as
// one server-sent event.
func replySSE(w http.ResponseWriter, frames ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for _, f := range frames {
		_, _ = io.WriteString(w, f+"\n\n")
		w.(http.Flusher).Flush()
	}
}

var retryAfter7 = map[string]string{"Retry-After": "7"}

func headerIs(t *testing.T, req upstreamRequest, name, want string) {
	t.Helper()
	if got := req.Header.Get(name); got != want {
		t.Errorf("upstream header %s = %q, want %q", name, got, want)
	}
}

func bodyModelIs(t *testing.T, req upstreamRequest, want string) {
	t.Helper()
	if got := gjson.GetBytes(req.Body, "model").String(); got != want {
		t.Errorf("upstream body model = %q, want %q", got, want)
	}
}

// Anthropic: POST /v1/messages, x-api-key, SSE events ending with message_stop.

func anthropicFamily() family {
	return family{
		name: "anthropic",
		provider: `[[providers]]
name = "anthropic"
kind = "anthropic"
base_url = "%[1]s"
api_key = "sk-ant-e2e"
models = ["claude-up"]
`,
		handle: anthropicUpstream,
		checkRequest: func(t *testing.T, req upstreamRequest, model string) {
			t.Helper()
			if req.Path != "/v1/messages" {
				t.Errorf("path = %s", req.Path)
			}
			headerIs(t, req, "x-api-key", "sk-ant-e2e")
			headerIs(t, req, "anthropic-version", "2023-06-01")
			headerIs(t, req, "Authorization", "")
			bodyModelIs(t, req, model)
		},
		chatModel:   "claude-up",
		chat:        answer{"Hello from Claude", tokenUsage{21, 6, 27}},
		stream:      answer{"Streamed from Claude", tokenUsage{25, 8, 33}},
		tools:       []toolCall{{"toolu_weather", "get_weather", `{"city":"Paris"}`}, {"toolu_time", "get_time", `{"zone":"UTC"}`}},
		badRequest:  "messages: text content blocks must be non-empty",
		rateLimited: "Number of request tokens has exceeded your per-minute rate limit",
	}
}

func anthropicUpstream(w http.ResponseWriter, r *http.Request, body []byte) {
	stream := gjson.GetBytes(body, "stream").Bool()
	switch {
	case r.URL.Path != "/v1/messages":
		replyJSON(w, 404, nil, `{"type":"error","error":{"type":"not_found_error","message":"Not found"}}`)
	case asked(body, askBad):
		replyJSON(w, 400, nil, `{"type":"error","error":{"type":"invalid_request_error","message":"messages: text content blocks must be non-empty"}}`)
	case asked(body, askRateLimit):
		replyJSON(w, 429, retryAfter7, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`)
	case asked(body, "use-tools") && !asked(body, `"input_schema"`):
		replyJSON(w, 400, nil, `{"type":"error","error":{"type":"invalid_request_error","message":"the gateway sent no tools"}}`)
	case asked(body, "use-tools") && stream:
		replySSE(w,
			`event: message_start`+"\n"+`data: {"type":"message_start","message":{"id":"msg_e2e_4","type":"message","role":"assistant","model":"claude-up","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":1}}}`,
			`event: content_block_start`+"\n"+`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
			`event: content_block_delta`+"\n"+`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}`,
			`event: content_block_stop`+"\n"+`data: {"type":"content_block_stop","index":0}`,
			`event: content_block_start`+"\n"+`data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_weather","name":"get_weather","input":{}}}`,
			`event: content_block_delta`+"\n"+`data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}`,
			`event: content_block_delta`+"\n"+`data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}`,
			`event: content_block_stop`+"\n"+`data: {"type":"content_block_stop","index":1}`,
			`event: content_block_start`+"\n"+`data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_time","name":"get_time","input":{}}}`,
			`event: content_block_delta`+"\n"+`data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"zone\": \"UTC\"}"}}`,
			`event: content_block_stop`+"\n"+`data: {"type":"content_block_stop","index":2}`,
			`event: message_delta`+"\n"+`data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":15}}`,
			`event: message_stop`+"\n"+`data: {"type":"message_stop"}`,
		)
	case asked(body, "use-tools"):
		replyJSON(w, 200, nil, `{"id":"msg_e2e_3","type":"message","role":"assistant","model":"claude-up","content":[`+
			`{"type":"text","text":"Checking."},`+
			`{"type":"tool_use","id":"toolu_weather","name":"get_weather","input":{"city":"Paris"}},`+
			`{"type":"tool_use","id":"toolu_time","name":"get_time","input":{"zone":"UTC"}}],`+
			`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":15}}`)
	case stream:
		replySSE(w,
			`event: message_start`+"\n"+`data: {"type":"message_start","message":{"id":"msg_e2e_2","type":"message","role":"assistant","model":"claude-up","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`,
			`event: content_block_start`+"\n"+`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
			`event: ping`+"\n"+`data: {"type":"ping"}`,
			`event: content_block_delta`+"\n"+`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Streamed "}}`,
			`event: content_block_delta`+"\n"+`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"from Claude"}}`,
			`event: content_block_stop`+"\n"+`data: {"type":"content_block_stop","index":0}`,
			`event: message_delta`+"\n"+`data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":8}}`,
			`event: message_stop`+"\n"+`data: {"type":"message_stop"}`,
		)
	default:
		replyJSON(w, 200, nil, `{"id":"msg_e2e_1","type":"message","role":"assistant","model":"claude-up","content":[{"type":"text","text":"Hello from Claude"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":21,"output_tokens":6}}`)
	}
}

// Gemini AI Studio and Vertex AI share the GenerateContent wire format; the
// fake answers by the method at the end of the path.

func geminiFamily() family {
	return family{
		name: "gemini",
		provider: `[[providers]]
name = "gemini"
kind = "gemini"
base_url = "%[1]s"
api_key = "AIza-e2e"
models = ["gemini-up", "text-embedding-up"]
`,
		handle: geminiUpstream,
		checkRequest: func(t *testing.T, req upstreamRequest, model string) {
			t.Helper()
			if !strings.HasPrefix(req.Path, "/v1beta/models/"+model+":") {
				t.Errorf("path = %s, want the model %s in it", req.Path, model)
			}
			if strings.Contains(req.Query, "key=") {
				t.Errorf("the API key went into the URL: %s", req.Query)
			}
			headerIs(t, req, "x-goog-api-key", "AIza-e2e")
			headerIs(t, req, "Authorization", "")
		},
		chatModel:   "gemini-up",
		embedModel:  "text-embedding-up",
		chat:        answer{"Hello from Gemini", tokenUsage{9, 4, 13}},
		stream:      answer{"Streamed from Gemini", tokenUsage{10, 5, 15}},
		tools:       []toolCall{{"call_0", "get_weather", `{"city":"Paris"}`}, {"call_1", "get_time", `{"zone":"UTC"}`}},
		embedUsage:  0, // batchEmbedContents reports no token counts
		badRequest:  "Request contains an invalid argument.",
		rateLimited: "Resource has been exhausted (e.g. check quota).",
	}
}

func vertexFamily() family {
	f := geminiFamily()
	f.name = "vertex"
	f.provider = `[[providers]]
name = "vertex"
kind = "vertex"
base_url = "%[1]s"
api_key = "ya29.e2e-access-token"
project = "proj-e2e"
location = "us-central1"
models = ["gemini-up", "text-embedding-up"]
`
	f.checkRequest = func(t *testing.T, req upstreamRequest, model string) {
		t.Helper()
		prefix := "/v1/projects/proj-e2e/locations/us-central1/publishers/google/models/" + model + ":"
		if !strings.HasPrefix(req.Path, prefix) {
			t.Errorf("path = %s, want prefix %s", req.Path, prefix)
		}
		headerIs(t, req, "Authorization", "Bearer ya29.e2e-access-token")
		headerIs(t, req, "x-goog-api-key", "")
	}
	f.embedUsage = 5 // the sum of predict's token counts
	return f
}

func geminiUpstream(w http.ResponseWriter, r *http.Request, body []byte) {
	method := r.URL.Path[strings.LastIndex(r.URL.Path, ":")+1:]
	switch {
	case asked(body, askBad):
		replyJSON(w, 400, nil, `{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}`)
	case asked(body, askRateLimit):
		replyJSON(w, 429, retryAfter7, `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`)
	case method == "batchEmbedContents":
		if gjson.GetBytes(body, "requests.#").Int() != 2 || gjson.GetBytes(body, "requests.0.model").String() != "models/text-embedding-up" {
			replyJSON(w, 400, nil, `{"error":{"code":400,"message":"unexpected embed request","status":"INVALID_ARGUMENT"}}`)
			return
		}
		replyJSON(w, 200, nil, `{"embeddings":[{"values":[0.5,-0.25,0.125]},{"values":[0.75,-1,0.0625]}]}`)
	case method == "predict":
		replyJSON(w, 200, nil, `{"predictions":[`+
			`{"embeddings":{"values":[0.5,-0.25,0.125],"statistics":{"token_count":2,"truncated":false}}},`+
			`{"embeddings":{"values":[0.75,-1,0.0625],"statistics":{"token_count":3,"truncated":false}}}]}`)
	case asked(body, "use-tools") && !asked(body, `"functionDeclarations"`):
		replyJSON(w, 400, nil, `{"error":{"code":400,"message":"the gateway sent no tools","status":"INVALID_ARGUMENT"}}`)
	case method == "streamGenerateContent" && r.URL.Query().Get("alt") != "sse":
		replyJSON(w, 400, nil, `{"error":{"code":400,"message":"this fake streams only with alt=sse","status":"INVALID_ARGUMENT"}}`)
	case method == "streamGenerateContent" && asked(body, "use-tools"):
		replySSE(w,
			`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Checking."}]},"index":0}],"usageMetadata":{"promptTokenCount":30,"totalTokenCount":30},"modelVersion":"gemini-up"}`,
			`data: {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"get_time","args":{"zone":"UTC"}}}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":10,"totalTokenCount":40},"modelVersion":"gemini-up"}`,
		)
	case method == "streamGenerateContent":
		replySSE(w,
			`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Streamed "}]},"index":0}],"usageMetadata":{"promptTokenCount":10,"totalTokenCount":10},"modelVersion":"gemini-up"}`,
			`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"from Gemini"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15},"modelVersion":"gemini-up"}`,
		)
	case method == "generateContent" && asked(body, "use-tools"):
		replyJSON(w, 200, nil, `{"candidates":[{"content":{"role":"model","parts":[`+
			`{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},`+
			`{"functionCall":{"name":"get_time","args":{"zone":"UTC"}}}]},"finishReason":"STOP","index":0}],`+
			`"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":10,"totalTokenCount":40},"modelVersion":"gemini-up"}`)
	case method == "generateContent":
		replyJSON(w, 200, nil, `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello from Gemini"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":4,"totalTokenCount":13},"modelVersion":"gemini-up"}`)
	default:
		replyJSON(w, 404, nil, `{"error":{"code":404,"message":"unknown method","status":"NOT_FOUND"}}`)
	}
}

// Bedrock: Converse JSON and ConverseStream event-stream frames, signed with
// SigV4 from the default credential chain.

const bedrockModel = "anthropic.claude-up-v1:0"

func bedrockFamily() family {
	return family{
		name: "bedrock",
		provider: `[[providers]]
name = "bedrock"
kind = "bedrock"
base_url = "%[1]s"
models = ["` + bedrockModel + `"]
`,
		setup:  awsTestEnv,
		handle: bedrockUpstream,
		checkRequest: func(t *testing.T, req upstreamRequest, model string) {
			t.Helper()
			if !strings.HasPrefix(req.Path, "/model/"+model+"/converse") {
				t.Errorf("path = %s, want the model %s in it", req.Path, model)
			}
			auth := req.Header.Get("Authorization")
			if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDE2EBEDROCK/") ||
				!strings.Contains(auth, "/us-east-1/bedrock/aws4_request") || !strings.Contains(auth, "Signature=") {
				t.Errorf("Authorization = %q, want a SigV4 signature for bedrock in us-east-1", auth)
			}
			if req.Header.Get("X-Amz-Date") == "" {
				t.Error("no X-Amz-Date")
			}
		},
		chatModel:   bedrockModel,
		chat:        answer{"Hello from Bedrock", tokenUsage{14, 5, 19}},
		stream:      answer{"Streamed from Bedrock", tokenUsage{16, 7, 23}},
		tools:       []toolCall{{"tooluse_weather", "get_weather", `{"city":"Paris"}`}, {"tooluse_time", "get_time", `{"zone":"UTC"}`}},
		badRequest:  "Malformed input request: #: extraneous key [foo] is not permitted",
		rateLimited: "Too many requests, please wait before trying again.",
	}
}

// awsTestEnv gives the AWS default chain fixed keys and a region, and keeps
// it away from the machine's profiles, instance metadata and endpoints.
func awsTestEnv(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":                      "AKIDE2EBEDROCK",
		"AWS_SECRET_ACCESS_KEY":                  "e2e-secret-key",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_REGION":                             "us-east-1",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_CONFIG_FILE":                        none,
		"AWS_SHARED_CREDENTIALS_FILE":            none,
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
		"AWS_BEARER_TOKEN_BEDROCK":               "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME":       "",
	} {
		t.Setenv(k, v)
	}
}

// bedrockEvent is one ConverseStream event: its type and JSON payload.
type bedrockEvent struct{ typ, payload string }

func replyEventStream(w http.ResponseWriter, events ...bedrockEvent) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	enc := eventstream.NewEncoder()
	for _, ev := range events {
		var msg eventstream.Message
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		msg.Headers.Set(":event-type", eventstream.StringValue(ev.typ))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Payload = []byte(ev.payload)
		if err := enc.Encode(w, msg); err != nil {
			panic(http.ErrAbortHandler)
		}
		w.(http.Flusher).Flush()
	}
}

func bedrockUpstream(w http.ResponseWriter, r *http.Request, body []byte) {
	stream := strings.HasSuffix(r.URL.Path, "/converse-stream")
	switch {
	case !strings.HasSuffix(r.URL.Path, "/converse") && !stream:
		replyJSON(w, 404, map[string]string{"X-Amzn-ErrorType": "UnknownOperationException"}, `{}`)
	case asked(body, askBad):
		replyJSON(w, 400, map[string]string{"X-Amzn-ErrorType": "ValidationException"}, `{"message":"Malformed input request: #: extraneous key [foo] is not permitted"}`)
	case asked(body, askRateLimit):
		replyJSON(w, 429, map[string]string{"X-Amzn-ErrorType": "ThrottlingException", "Retry-After": "7"}, `{"message":"Too many requests, please wait before trying again."}`)
	case asked(body, "use-tools") && !asked(body, `"toolSpec"`):
		replyJSON(w, 400, map[string]string{"X-Amzn-ErrorType": "ValidationException"}, `{"message":"the gateway sent no tools"}`)
	case asked(body, "use-tools") && stream:
		replyEventStream(w,
			bedrockEvent{"messageStart", `{"role":"assistant"}`},
			bedrockEvent{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Checking."}}`},
			bedrockEvent{"contentBlockStop", `{"contentBlockIndex":0}`},
			bedrockEvent{"contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_weather","name":"get_weather"}}}`},
			bedrockEvent{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}}`},
			bedrockEvent{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}}}`},
			bedrockEvent{"contentBlockStop", `{"contentBlockIndex":1}`},
			bedrockEvent{"contentBlockStart", `{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_time","name":"get_time"}}}`},
			bedrockEvent{"contentBlockDelta", `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"zone\":\"UTC\"}"}}}`},
			bedrockEvent{"contentBlockStop", `{"contentBlockIndex":2}`},
			bedrockEvent{"messageStop", `{"stopReason":"tool_use"}`},
			bedrockEvent{"metadata", `{"usage":{"inputTokens":40,"outputTokens":15,"totalTokens":55},"metrics":{"latencyMs":90}}`},
		)
	case asked(body, "use-tools"):
		replyJSON(w, 200, nil, `{"output":{"message":{"role":"assistant","content":[`+
			`{"text":"Checking."},`+
			`{"toolUse":{"toolUseId":"tooluse_weather","name":"get_weather","input":{"city":"Paris"}}},`+
			`{"toolUse":{"toolUseId":"tooluse_time","name":"get_time","input":{"zone":"UTC"}}}]}},`+
			`"stopReason":"tool_use","usage":{"inputTokens":40,"outputTokens":15,"totalTokens":55},"metrics":{"latencyMs":120}}`)
	case stream:
		replyEventStream(w,
			bedrockEvent{"messageStart", `{"role":"assistant"}`},
			bedrockEvent{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Streamed "}}`},
			bedrockEvent{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"from Bedrock"}}`},
			bedrockEvent{"contentBlockStop", `{"contentBlockIndex":0}`},
			bedrockEvent{"messageStop", `{"stopReason":"end_turn"}`},
			bedrockEvent{"metadata", `{"usage":{"inputTokens":16,"outputTokens":7,"totalTokens":23},"metrics":{"latencyMs":90}}`},
		)
	default:
		replyJSON(w, 200, nil, `{"output":{"message":{"role":"assistant","content":[{"text":"Hello from Bedrock"}]}},"stopReason":"end_turn","usage":{"inputTokens":14,"outputTokens":5,"totalTokens":19},"metrics":{"latencyMs":120}}`)
	}
}

// Cohere: POST /v2/chat (SSE when streaming) and /v2/embed, bearer key.

func cohereFamily() family {
	return family{
		name: "cohere",
		provider: `[[providers]]
name = "cohere"
kind = "cohere"
base_url = "%[1]s"
api_key = "co-e2e"
models = ["command-up", "embed-up"]
`,
		handle: cohereUpstream,
		checkRequest: func(t *testing.T, req upstreamRequest, model string) {
			t.Helper()
			if req.Path != "/v2/chat" && req.Path != "/v2/embed" {
				t.Errorf("path = %s", req.Path)
			}
			headerIs(t, req, "Authorization", "Bearer co-e2e")
			bodyModelIs(t, req, model)
		},
		chatModel:   "command-up",
		embedModel:  "embed-up",
		chat:        answer{"Hello from Cohere", tokenUsage{12, 6, 18}},
		stream:      answer{"Streamed from Cohere", tokenUsage{13, 7, 20}},
		tools:       []toolCall{{"get_weather_e2e", "get_weather", `{"city":"Paris"}`}, {"get_time_e2e", "get_time", `{"zone":"UTC"}`}},
		embedUsage:  4,
		badRequest:  "invalid request: message must be at least 1 token long",
		rateLimited: "You are using a Trial key, which is limited to 10 API calls / minute.",
	}
}

func cohereUpstream(w http.ResponseWriter, r *http.Request, body []byte) {
	stream := gjson.GetBytes(body, "stream").Bool()
	switch {
	case r.URL.Path == "/v2/embed":
		if gjson.GetBytes(body, "texts.#").Int() != 2 || gjson.GetBytes(body, "embedding_types.0").String() != "float" {
			replyJSON(w, 400, nil, `{"id":"co-err","message":"unexpected embed request"}`)
			return
		}
		replyJSON(w, 200, nil, `{"id":"co-emb","embeddings":{"float":[[0.5,-0.25,0.125],[0.75,-1,0.0625]]},"texts":["alpha","beta"],`+
			`"meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":4}},"response_type":"embeddings_by_type"}`)
	case r.URL.Path != "/v2/chat":
		replyJSON(w, 404, nil, `{"id":"co-err","message":"not found"}`)
	case asked(body, askBad):
		replyJSON(w, 400, nil, `{"id":"co-err","message":"invalid request: message must be at least 1 token long"}`)
	case asked(body, askRateLimit):
		replyJSON(w, 429, retryAfter7, `{"id":"co-err","message":"You are using a Trial key, which is limited to 10 API calls / minute."}`)
	case asked(body, "use-tools") && !asked(body, `"parameters"`):
		replyJSON(w, 400, nil, `{"id":"co-err","message":"the gateway sent no tools"}`)
	case asked(body, "use-tools") && stream:
		replySSE(w,
			`event: message-start`+"\n"+`data: {"id":"co-e2e-4","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}`,
			`event: tool-plan-delta`+"\n"+`data: {"type":"tool-plan-delta","delta":{"message":{"tool_plan":"Checking."}}}`,
			`event: tool-call-start`+"\n"+`data: {"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"get_weather_e2e","type":"function","function":{"name":"get_weather","arguments":""}}}}}`,
			`event: tool-call-delta`+"\n"+`data: {"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\n    \"city\": "}}}}}`,
			`event: tool-call-delta`+"\n"+`data: {"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"\"Paris\"\n}"}}}}}`,
			`event: tool-call-end`+"\n"+`data: {"type":"tool-call-end","index":0}`,
			`event: tool-call-start`+"\n"+`data: {"type":"tool-call-start","index":1,"delta":{"message":{"tool_calls":{"id":"get_time_e2e","type":"function","function":{"name":"get_time","arguments":""}}}}}`,
			`event: tool-call-delta`+"\n"+`data: {"type":"tool-call-delta","index":1,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\"zone\": \"UTC\"}"}}}}}`,
			`event: tool-call-end`+"\n"+`data: {"type":"tool-call-end","index":1}`,
			`event: message-end`+"\n"+`data: {"type":"message-end","delta":{"finish_reason":"TOOL_CALL","usage":{"billed_units":{"input_tokens":30,"output_tokens":15},"tokens":{"input_tokens":40,"output_tokens":15}}}}`,
		)
	case asked(body, "use-tools"):
		replyJSON(w, 200, nil, `{"id":"co-e2e-3","finish_reason":"TOOL_CALL","message":{"role":"assistant","tool_plan":"Checking.","tool_calls":[`+
			`{"id":"get_weather_e2e","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},`+
			`{"id":"get_time_e2e","type":"function","function":{"name":"get_time","arguments":"{\"zone\":\"UTC\"}"}}]},`+
			`"usage":{"billed_units":{"input_tokens":30,"output_tokens":15},"tokens":{"input_tokens":40,"output_tokens":15}}}`)
	case stream:
		replySSE(w,
			`event: message-start`+"\n"+`data: {"id":"co-e2e-2","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}`,
			`event: content-start`+"\n"+`data: {"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}`,
			`event: content-delta`+"\n"+`data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"Streamed "}}}}`,
			`event: content-delta`+"\n"+`data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"from Cohere"}}}}`,
			`event: content-end`+"\n"+`data: {"type":"content-end","index":0}`,
			`event: message-end`+"\n"+`data: {"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":3,"output_tokens":7},"tokens":{"input_tokens":13,"output_tokens":7}}}}`,
		)
	default:
		replyJSON(w, 200, nil, `{"id":"co-e2e-1","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":"Hello from Cohere"}]},`+
			`"usage":{"billed_units":{"input_tokens":3,"output_tokens":6},"tokens":{"input_tokens":12,"output_tokens":6}}}`)
	}
}

// Azure OpenAI: OpenAI's wire format under /openai/deployments/{dep}/...,
// api-version in the query, key in the api-key header.

func azureFamily() family {
	deployments := map[string]string{"gpt-4o-up": "dep-chat", "embed-up": "dep-embed"}
	return family{
		name: "azure",
		provider: `[[providers]]
name = "azure"
kind = "azure"
base_url = "%[1]s"
api_key = "az-e2e"
api_version = "2024-10-21"
models = ["gpt-4o-up", "embed-up"]
deployments = { "gpt-4o-up" = "dep-chat", "embed-up" = "dep-embed" }
`,
		handle: azureUpstream,
		checkRequest: func(t *testing.T, req upstreamRequest, model string) {
			t.Helper()
			if !strings.HasPrefix(req.Path, "/openai/deployments/"+deployments[model]+"/") {
				t.Errorf("path = %s, want the deployment of %s", req.Path, model)
			}
			if req.Query != "api-version=2024-10-21" {
				t.Errorf("query = %s", req.Query)
			}
			headerIs(t, req, "api-key", "az-e2e")
			headerIs(t, req, "Authorization", "")
			bodyModelIs(t, req, model)
		},
		chatModel:   "gpt-4o-up",
		embedModel:  "embed-up",
		chat:        answer{"Hello from Azure", tokenUsage{17, 4, 21}},
		stream:      answer{"Streamed from Azure", tokenUsage{18, 5, 23}},
		tools:       []toolCall{{"call_az_weather", "get_weather", `{"city":"Paris"}`}, {"call_az_time", "get_time", `{"zone":"UTC"}`}},
		embedUsage:  4,
		badRequest:  "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
		rateLimited: "have exceeded token rate limit of your current OpenAI S0 pricing tier.",
	}
}

func azureUpstream(w http.ResponseWriter, r *http.Request, body []byte) {
	stream := gjson.GetBytes(body, "stream").Bool()
	chunk := func(choices string) string {
		return `data: {"id":"chatcmpl-az","object":"chat.completion.chunk","created":1,"model":"gpt-4o-up","choices":[` + choices + `]}`
	}
	// Azure's streams open with the prompt's content-filter results.
	filterResults := `data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`
	usageChunk := func(u string) []string {
		if !gjson.GetBytes(body, "stream_options.include_usage").Bool() {
			return []string{"data: [DONE]"}
		}
		return []string{`data: {"id":"chatcmpl-az","object":"chat.completion.chunk","created":1,"model":"gpt-4o-up","choices":[],"usage":` + u + `}`, "data: [DONE]"}
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/embeddings"):
		vec := func(v []float64) string {
			if gjson.GetBytes(body, "encoding_format").String() == "base64" {
				return `"` + float32Base64(v) + `"`
			}
			b, _ := json.Marshal(v)
			return string(b)
		}
		replyJSON(w, 200, nil, `{"object":"list","model":"embed-up","data":[`+
			`{"object":"embedding","index":0,"embedding":`+vec(wantVectors[0])+`},`+
			`{"object":"embedding","index":1,"embedding":`+vec(wantVectors[1])+`}],`+
			`"usage":{"prompt_tokens":4,"total_tokens":4}}`)
	case !strings.HasSuffix(r.URL.Path, "/chat/completions"):
		replyJSON(w, 404, nil, `{"error":{"code":"404","message":"Resource not found"}}`)
	case asked(body, askBad):
		replyJSON(w, 400, nil, `{"error":{"code":"content_filter","message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","param":"prompt","type":null,"status":400}}`)
	case asked(body, askRateLimit):
		replyJSON(w, 429, retryAfter7, `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier."}}`)
	case asked(body, "use-tools") && !asked(body, `"get_weather"`):
		replyJSON(w, 400, nil, `{"error":{"code":"invalid","message":"the gateway sent no tools"}}`)
	case asked(body, "use-tools") && stream:
		replySSE(w, append([]string{
			filterResults,
			chunk(`{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_az_weather","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_az_time","type":"function","function":{"name":"get_time","arguments":"{\"zone\":\"UTC\"}"}}]},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{},"finish_reason":"tool_calls"}`),
		}, usageChunk(`{"prompt_tokens":40,"completion_tokens":15,"total_tokens":55}`)...)...)
	case asked(body, "use-tools"):
		replyJSON(w, 200, nil, `{"id":"chatcmpl-az3","object":"chat.completion","created":1,"model":"gpt-4o-up","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[`+
			`{"id":"call_az_weather","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},`+
			`{"id":"call_az_time","type":"function","function":{"name":"get_time","arguments":"{\"zone\":\"UTC\"}"}}]},"finish_reason":"tool_calls"}],`+
			`"usage":{"prompt_tokens":40,"completion_tokens":15,"total_tokens":55}}`)
	case stream:
		replySSE(w, append([]string{
			filterResults,
			chunk(`{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{"content":"Streamed "},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{"content":"from Azure"},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{},"finish_reason":"stop"}`),
		}, usageChunk(`{"prompt_tokens":18,"completion_tokens":5,"total_tokens":23}`)...)...)
	default:
		replyJSON(w, 200, nil, `{"id":"chatcmpl-az1","object":"chat.completion","created":1,"model":"gpt-4o-up","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from Azure","refusal":null},"finish_reason":"stop","content_filter_results":{}}],`+
			`"usage":{"prompt_tokens":17,"completion_tokens":4,"total_tokens":21},"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`)
	}
}

// float32Base64 is OpenAI's base64 embedding: little-endian float32s.
func float32Base64(v []float64) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(f)))
	}
	return base64.StdEncoding.EncodeToString(b)
}
