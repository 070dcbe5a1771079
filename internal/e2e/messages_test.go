package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/server"
	"github.com/aigateway/gateway/internal/testutil"
)

// The official Anthropic Go SDK, unmodified, against the gateway's
// /v1/messages: to an Anthropic upstream (native pass-through) and to an
// OpenAI upstream (translated).

const adminKey = "admin-e2e-key-0123456789"

// serveGateway runs the local server on a loopback port with the given TOML
// configuration and returns its base URL.
func serveGateway(t *testing.T, toml string) string {
	t.Helper()
	cfg, err := config.Parse(testutil.CacheOffUnlessSet(toml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	g, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(g)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// virtualKey creates a key through the admin API.
func virtualKey(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/admin/keys", strings.NewReader(`{"name":"sdk"}`))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Key == "" {
		t.Fatalf("create key: %d %v", resp.StatusCode, err)
	}
	return out.Key
}

// claudeUpstream is a fake of Anthropic's API in its documented wire format;
// it keeps the bodies it got.
type claudeUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

const (
	claudeText  = `{"id":"msg_01A","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello from Claude"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":5}}`
	claudeTools = `{"id":"msg_01B","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":20}}`
)

var claudeStream = []string{
	`event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"msg_01C","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":8,"output_tokens":1}}}`,
	`event: content_block_start` + "\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
	`event: ping` + "\n" + `data: {"type": "ping"}`,
	`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`,
	`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" from Claude"}}`,
	`event: content_block_stop` + "\n" + `data: {"type":"content_block_stop","index":0}`,
	`event: content_block_start` + "\n" + `data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_weather","input":{}}}`,
	`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Ro"}}`,
	`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"me\"}"}}`,
	`event: content_block_stop` + "\n" + `data: {"type":"content_block_stop","index":1}`,
	`event: message_delta` + "\n" + `data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`,
	`event: message_stop` + "\n" + `data: {"type":"message_stop"}`,
}

func newClaudeUpstream(t *testing.T) *claudeUpstream {
	t.Helper()
	u := &claudeUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.bodies = append(u.bodies, body)
		u.mu.Unlock()
		var req struct {
			Stream bool            `json:"stream"`
			Tools  json.RawMessage `json:"tools"`
		}
		_ = json.Unmarshal(body, &req)
		switch {
		case r.Header.Get("X-Api-Key") != "sk-ant-fake":
			replyJSON(w, 401, nil, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)
		case r.URL.Path == "/v1/messages/count_tokens":
			replyJSON(w, 200, nil, `{"input_tokens":21}`)
		case req.Stream && bytes.Contains(body, []byte("cut me")):
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range claudeStream[:4] {
				fmt.Fprintf(w, "%s\n\n", ev)
			}
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case req.Stream:
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range claudeStream {
				fmt.Fprintf(w, "%s\n\n", ev)
				w.(http.Flusher).Flush()
			}
		case len(req.Tools) > 0:
			replyJSON(w, 200, nil, claudeTools)
		default:
			replyJSON(w, 200, nil, claudeText)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *claudeUpstream) last() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		return nil
	}
	return u.bodies[len(u.bodies)-1]
}

func weatherTool() anthropic.ToolUnionParam {
	return anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
		Name:        "get_weather",
		Description: anthropic.String("The weather in a city"),
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}},
	}}
}

func userText(s string) []anthropic.MessageParam {
	return []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(s))}
}

// stream runs a streaming request and folds its events as the SDK's docs
// show.
func stream(t *testing.T, client anthropic.Client, p anthropic.MessageNewParams) (anthropic.Message, []string) {
	t.Helper()
	s := client.Messages.NewStreaming(context.Background(), p)
	defer s.Close()
	var m anthropic.Message
	var types []string
	for s.Next() {
		ev := s.Current()
		types = append(types, ev.Type)
		if err := m.Accumulate(ev); err != nil {
			t.Fatalf("accumulate %s: %v", ev.Type, err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return m, types
}

func TestAnthropicSDKThroughTheGateway(t *testing.T) {
	claude := newClaudeUpstream(t)
	oai := openAIUpstream(t)
	base := serveGateway(t, fmt.Sprintf(`
[[providers]]
name = "anthropic"
kind = "anthropic"
base_url = "%s"
api_key = "sk-ant-fake"
models = ["claude-sonnet-4-5"]
[[providers]]
name = "openai"
kind = "openai"
base_url = "%s/v1"
api_key = "sk-fake"
models = ["gpt-4o-mini"]
[aliases]
claude-smart = "claude-sonnet-4-5"
[auth]
enabled = true
admin_key = "%s"
`, claude.URL, oai.URL, adminKey))
	key := virtualKey(t, base)
	// As Claude Code configures it: ANTHROPIC_BASE_URL and the key, here as
	// ANTHROPIC_AUTH_TOKEN (sent as a bearer token).
	t.Setenv("ANTHROPIC_BASE_URL", base)
	t.Setenv("ANTHROPIC_AUTH_TOKEN", key)
	t.Setenv("ANTHROPIC_API_KEY", "")
	client := anthropic.NewClient(option.WithMaxRetries(0))
	// As an SDK user configures it: x-api-key.
	keyClient := anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithBaseURL(base), option.WithAPIKey(key), option.WithMaxRetries(0))
	ctx := context.Background()

	t.Run("messages.New to Anthropic passes the request through", func(t *testing.T) {
		for name, c := range map[string]anthropic.Client{"bearer token": client, "x-api-key": keyClient} {
			m, err := c.Messages.New(ctx, anthropic.MessageNewParams{
				Model: "claude-smart", MaxTokens: 256,
				System:   []anthropic.TextBlockParam{{Text: "Be brief."}},
				Messages: userText("Say hello"),
			})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if m.ID != "msg_01A" || m.Content[0].Text != "Hello from Claude" || m.Usage.OutputTokens != 5 || m.StopReason != "end_turn" {
				t.Errorf("%s: %+v", name, m)
			}
		}
		var sent map[string]any
		if err := json.Unmarshal(claude.last(), &sent); err != nil || sent["model"] != "claude-sonnet-4-5" || sent["max_tokens"] != float64(256) {
			t.Errorf("upstream got %s", claude.last())
		}
	})

	t.Run("messages.New to an OpenAI model, with an image", func(t *testing.T) {
		m, err := client.Messages.New(ctx, anthropic.MessageNewParams{
			Model: "gpt-4o-mini", MaxTokens: 256,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(
				anthropic.NewImageBlockBase64("image/png", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="),
				anthropic.NewTextBlock("What is this?"),
			)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if m.Content[0].Text != "Hello world" || m.Model != "gpt-4o-mini" || m.Usage.InputTokens != 11 || m.Usage.OutputTokens != 2 || m.StopReason != "end_turn" {
			t.Errorf("%+v", m)
		}
	})

	t.Run("tool use", func(t *testing.T) {
		m, err := client.Messages.New(ctx, anthropic.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 256, Messages: userText("Weather in Paris?"),
			Tools: []anthropic.ToolUnionParam{weatherTool()},
		})
		if err != nil {
			t.Fatal(err)
		}
		tu := m.Content[1].AsToolUse()
		if m.StopReason != "tool_use" || tu.Name != "get_weather" || tu.ID != "toolu_01" || string(tu.Input) != `{"city":"Paris"}` {
			t.Fatalf("%+v", m)
		}
		// The tool's result goes back in the next turn.
		follow := append(userText("Weather in Paris?"), m.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock(tu.ID, "18°C and sunny", false)))
		m2, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: "gpt-4o-mini", MaxTokens: 256, Messages: follow,
			Tools: []anthropic.ToolUnionParam{weatherTool()}})
		if err != nil {
			t.Fatal(err)
		}
		if m2.Content[0].Text != "Hello world" {
			t.Errorf("%+v", m2)
		}
	})

	t.Run("streaming from Anthropic, accumulated by the SDK", func(t *testing.T) {
		m, types := stream(t, client, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 256,
			Messages: userText("Say hello"), Tools: []anthropic.ToolUnionParam{weatherTool()}})
		// The SDK does not surface the ping.
		if len(types) != len(claudeStream)-1 || types[0] != "message_start" || types[len(types)-1] != "message_stop" {
			t.Errorf("events %v", types)
		}
		if len(m.Content) != 2 || m.Content[0].Text != "Hello from Claude" || string(m.Content[1].AsToolUse().Input) != `{"city": "Rome"}` ||
			m.StopReason != "tool_use" || m.Usage.OutputTokens != 9 || m.Usage.CacheReadInputTokens != 8 {
			t.Errorf("%s", m.RawJSON())
		}
	})

	t.Run("streaming from OpenAI, text and tools, accumulated by the SDK", func(t *testing.T) {
		m, types := stream(t, client, anthropic.MessageNewParams{Model: "gpt-4o-mini", MaxTokens: 256, Messages: userText("Say hello")})
		if m.Content[0].Text != "Hello world" || m.StopReason != "end_turn" || m.Usage.OutputTokens != 2 || m.Usage.InputTokens != 11 {
			t.Errorf("%s (events %v)", m.RawJSON(), types)
		}
		m, _ = stream(t, client, anthropic.MessageNewParams{Model: "gpt-4o-mini", MaxTokens: 256, Messages: userText("Weather in Oslo?"),
			Tools: []anthropic.ToolUnionParam{weatherTool()}, ToolChoice: anthropic.ToolChoiceParamOfTool("get_weather")})
		tu := m.Content[0].AsToolUse()
		if m.StopReason != "tool_use" || tu.ID != "call_w" || tu.Name != "get_weather" || string(tu.Input) != `{"city":"Oslo"}` || m.Usage.OutputTokens != 9 {
			t.Errorf("%s", m.RawJSON())
		}
	})

	t.Run("count tokens: Anthropic's own, or the gateway's estimate", func(t *testing.T) {
		n, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "claude-sonnet-4-5", Messages: userText("Say hello")})
		if err != nil || n.InputTokens != 21 {
			t.Fatalf("%+v %v", n, err)
		}
		if !bytes.Contains(claude.last(), []byte(`"model":"claude-sonnet-4-5"`)) {
			t.Errorf("upstream got %s", claude.last())
		}
		var resp *http.Response
		n, err = client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "gpt-4o-mini", Messages: userText("Say hello to everyone here")},
			option.WithResponseInto(&resp))
		if err != nil || n.InputTokens < 5 || resp.Header.Get("X-Gateway-Token-Count") != "estimate" {
			t.Fatalf("%+v %v", n, err)
		}
	})

	t.Run("a stream cut upstream ends in an error the SDK reports", func(t *testing.T) {
		s := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 16, Messages: userText("cut me")})
		defer s.Close()
		var m anthropic.Message
		for s.Next() {
			_ = m.Accumulate(s.Current())
		}
		var apiErr *anthropic.Error
		if !errors.As(s.Err(), &apiErr) || apiErr.Type() != "api_error" || !strings.Contains(apiErr.Message, "cut") {
			t.Fatalf("err = %v", s.Err())
		}
		if len(m.Content) != 1 || m.Content[0].Text != "Hello" {
			t.Errorf("what came before the cut: %s", m.RawJSON())
		}
	})

	t.Run("an unknown model is a 404 the SDK reports as not_found_error", func(t *testing.T) {
		_, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-does-not-exist", MaxTokens: 16, Messages: userText("x")})
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("err = %v", err)
		}
		if apiErr.StatusCode != 404 || apiErr.Type() != "not_found_error" || !strings.Contains(apiErr.Message, "claude-does-not-exist") || apiErr.RequestID == "" {
			t.Errorf("status=%d type=%s message=%q request id %q", apiErr.StatusCode, apiErr.Type(), apiErr.Message, apiErr.RequestID)
		}
	})

	t.Run("a wrong key is a 401 authentication_error", func(t *testing.T) {
		bad := anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithBaseURL(base), option.WithAPIKey("sk-gw-wrong"), option.WithMaxRetries(0))
		_, err := bad.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 16, Messages: userText("x")})
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Type() != "authentication_error" {
			t.Fatalf("err = %v", err)
		}
	})
}
