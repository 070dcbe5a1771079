package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// The official npm clients, unmodified, against the gateway's local server:
// internal/e2e/node holds them (pinned in its package-lock.json, installed by
// `make node-e2e-deps`) and one script per client, which prints one JSON line
// per check. Authentication is on: every call carries a virtual key the way
// its client sends keys.

const nodeDir = "node"

// nodeClients returns the node binary, or fails the test with what to run:
// these tests are part of the suite, so a machine without the clients must not
// pass them by skipping. GATEWAY_SKIP_NODE=1 skips them.
func nodeClients(t *testing.T) string {
	t.Helper()
	if os.Getenv("GATEWAY_SKIP_NODE") == "1" {
		t.Skip("GATEWAY_SKIP_NODE=1: the Node client tests are skipped")
	}
	const fix = "run `make node-e2e-deps` (npm ci in internal/e2e/node), or set GATEWAY_SKIP_NODE=1 to skip the Node client tests"
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: install Node.js and npm, then %s", fix)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	raw, err := os.ReadFile(filepath.Join(nodeDir, "package.json"))
	if err != nil || json.Unmarshal(raw, &pkg) != nil || len(pkg.Dependencies) == 0 {
		t.Fatalf("read %s/package.json: %v", nodeDir, err)
	}
	for name, want := range pkg.Dependencies {
		var installed struct {
			Version string `json:"version"`
		}
		raw, err := os.ReadFile(filepath.Join(nodeDir, "node_modules", name, "package.json"))
		if err != nil {
			t.Fatalf("%s is not installed in internal/e2e/%s/node_modules: %s", name, nodeDir, fix)
		}
		if json.Unmarshal(raw, &installed) != nil || installed.Version != want {
			t.Fatalf("internal/e2e/%s/node_modules has %s %s, package.json pins %s: %s", nodeDir, name, installed.Version, want, fix)
		}
	}
	return node
}

// nodeRun is what one script printed: each check's line by name, in order.
type nodeRun struct {
	checks   map[string]gjson.Result
	order    []string
	asserted map[string]bool
}

// runNodeScript runs one client script against the gateway at base and
// parses its lines. A script that exits non-zero fails the test (after its
// checks are reported); one that hangs is killed after a minute.
func runNodeScript(t *testing.T, node, script, base, key string) nodeRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = nodeDir
	cmd.WaitDelay = 5 * time.Second
	// Only what node needs: no provider keys or proxies from this
	// environment, and no LangSmith tracing.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"NODE_NO_WARNINGS=1",
		"LANGCHAIN_TRACING_V2=false",
		"LANGSMITH_TRACING=false",
		"GATEWAY_BASE_URL=" + base,
		"GATEWAY_KEY=" + key,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("node %s: %v in %s", script, err, time.Since(start).Round(time.Millisecond))
	run := nodeRun{checks: map[string]gjson.Result{}, asserted: map[string]bool{}}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name := gjson.Get(line, "check")
		if !gjson.Valid(line) || name.Type != gjson.String {
			t.Errorf("%s printed a line that is not a check: %s", script, line)
			continue
		}
		run.checks[name.Str] = gjson.Parse(line)
		run.order = append(run.order, name.Str)
	}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Errorf("%s did not finish within a minute; stderr:\n%s", script, stderr.String())
	case errors.As(err, &exit):
		// The failing checks' own lines say why; stderr has the rest.
		t.Errorf("%s exited with %d; stderr:\n%s", script, exit.ExitCode(), stderr.String())
	case err != nil:
		t.Fatalf("run %s: %v", script, err)
	}
	return run
}

// expect runs one check's assertions as a subtest; a check that the client
// failed fails with what the client threw.
func (r nodeRun) expect(t *testing.T, name string, assert func(t *testing.T, c gjson.Result)) {
	t.Helper()
	r.asserted[name] = true
	t.Run(name, func(t *testing.T) {
		c, ok := r.checks[name]
		switch {
		case !ok:
			t.Fatalf("the script printed no line for %q (it printed %v)", name, r.order)
		case c.Get("error").Exists():
			t.Fatalf("the client threw: %s", c.Get("error").Raw)
		}
		assert(t, c)
	})
}

// assertedAll fails for every check the script printed that no expect
// asserted: a new check in a script needs its assertions here.
func (r nodeRun) assertedAll(t *testing.T) {
	t.Helper()
	for _, name := range r.order {
		if !r.asserted[name] {
			t.Errorf("check %q has no assertions: %s", name, r.checks[name].Raw)
		}
	}
}

// is fails unless the JSON at path in c equals want (compared as JSON).
func is(t *testing.T, c gjson.Result, path string, want any) {
	t.Helper()
	w, _ := json.Marshal(want)
	if got := c.Get(path); !got.Exists() || !sameJSON(got.Raw, string(w)) {
		t.Errorf("%s = %s, want %s (check: %s)", path, got.Raw, w, c.Raw)
	}
}

// nodeOpenAIUpstream is a fake of OpenAI's API for the Node clients: chat
// (whole, streamed, with tools, a tool result's answer), the Responses API
// (nativeResponsesUpstream) and embeddings. It answers 401 unless the gateway
// sends the provider's key.
func nodeOpenAIUpstream(w http.ResponseWriter, r *http.Request, body []byte) {
	stream := gjson.GetBytes(body, "stream").Bool()
	chunk := func(choices string) string {
		return `data: {"id":"chatcmpl-n1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[` + choices + `]}`
	}
	end := func(usage string) []string {
		if !gjson.GetBytes(body, "stream_options.include_usage").Bool() {
			return []string{"data: [DONE]"}
		}
		return []string{`data: {"id":"chatcmpl-n1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":` + usage + `}`, "data: [DONE]"}
	}
	switch {
	case r.Header.Get("Authorization") != "Bearer sk-fake":
		replyJSON(w, 401, nil, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
	case r.URL.Path == "/v1/responses":
		nativeResponsesUpstream(w, r, body)
	case r.URL.Path == "/v1/embeddings":
		vec := func(v []float64) string {
			if gjson.GetBytes(body, "encoding_format").String() == "base64" {
				return `"` + float32Base64(v) + `"`
			}
			b, _ := json.Marshal(v)
			return string(b)
		}
		replyJSON(w, 200, nil, `{"object":"list","model":"text-embedding-3-small","data":[`+
			`{"object":"embedding","index":0,"embedding":`+vec(wantVectors[0])+`},`+
			`{"object":"embedding","index":1,"embedding":`+vec(wantVectors[1])+`}],`+
			`"usage":{"prompt_tokens":4,"total_tokens":4}}`)
	case r.URL.Path != "/v1/chat/completions":
		replyJSON(w, 404, nil, `{"error":{"message":"Invalid URL (POST `+r.URL.Path+`)","type":"invalid_request_error","param":null,"code":null}}`)
	case asked(body, `"role":"tool"`):
		replyJSON(w, 200, nil, `{"id":"chatcmpl-n4","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"It is 18°C and sunny in Paris.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":8,"total_tokens":38}}`)
	case asked(body, `"tools"`) && stream:
		replySSE(w, append([]string{
			chunk(`{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_w","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{},"finish_reason":"tool_calls"}`),
		}, end(`{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}`)...)...)
	case asked(body, `"tools"`):
		replyJSON(w, 200, nil, `{"id":"chatcmpl-n3","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[`+
			`{"id":"call_w","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],`+
			`"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}`)
	case stream:
		replySSE(w, append([]string{
			chunk(`{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{"content":"Hello"},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{"content":" world"},"finish_reason":null}`),
			chunk(`{"index":0,"delta":{},"finish_reason":"stop"}`),
		}, end(`{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}`)...)...)
	default:
		replyJSON(w, 200, nil, `{"id":"chatcmpl-n0","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}}`)
	}
}

// nodeGateway starts the gateway with authentication on over an OpenAI fake
// (gpt-4o-mini, gpt-4.1, text-embedding-3-small) and an Anthropic fake
// (claude-sonnet-4-5), and returns its base URL and a virtual key.
func nodeGateway(t *testing.T) (base, key string, oai *fakeUpstream, claude *claudeUpstream) {
	t.Helper()
	oai = newFakeUpstream(t, nodeOpenAIUpstream)
	claude = newClaudeUpstream(t)
	base = serveGateway(t, fmt.Sprintf(`
[defaults.retry]
max_retries = 0
[[providers]]
name = "openai"
kind = "openai"
base_url = "%s/v1"
api_key = "sk-fake"
models = ["gpt-4o-mini", "gpt-4.1", "text-embedding-3-small"]
[[providers]]
name = "anthropic"
kind = "anthropic"
base_url = "%s"
api_key = "sk-ant-fake"
models = ["claude-sonnet-4-5"]
[auth]
enabled = true
admin_key = "%s"
`, oai.URL, claude.URL, adminKey))
	return base, virtualKey(t, base), oai, claude
}

// since is every request the fake got after its first n.
func (u *fakeUpstream) since(n int) []upstreamRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]upstreamRequest(nil), u.reqs[n:]...)
}

// gatewayID fails unless id is one the gateway made for a stored response
// (never the upstream's own).
func gatewayID(t *testing.T, c gjson.Result, path string) string {
	t.Helper()
	id := c.Get(path).String()
	if !strings.HasPrefix(id, "resp_") || id == "resp_native_upstream" {
		t.Errorf("%s = %q, want a gateway response id (check: %s)", path, id, c.Raw)
	}
	return id
}

// followUpsSentTheConversation fails unless every Responses request to the
// OpenAI fake that carried "And now?" came with the whole conversation (the
// first turn, its answer, the new turn) and without previous_response_id,
// which only the gateway can resolve. It returns how many there were.
func followUpsSentTheConversation(t *testing.T, reqs []upstreamRequest) int {
	t.Helper()
	n := 0
	for _, req := range reqs {
		if req.Path != "/v1/responses" || !asked(req.Body, "And now?") {
			continue
		}
		n++
		input := gjson.GetBytes(req.Body, "input").Array()
		if gjson.GetBytes(req.Body, "previous_response_id").Exists() || len(input) != 3 ||
			!strings.Contains(input[0].Raw, "Say hello") || input[1].Get("content.0.text").String() != "Native hello" || !strings.Contains(input[2].Raw, "And now?") {
			t.Errorf("the follow-up reached the upstream as %s", req.Body)
		}
	}
	return n
}

func TestOfficialNodeClientsThroughTheGateway(t *testing.T) {
	node := nodeClients(t)
	base, key, oai, claude := nodeGateway(t)
	run := func(t *testing.T, script string) nodeRun {
		r := runNodeScript(t, node, script, base, key)
		t.Cleanup(func() { r.assertedAll(t) })
		return r
	}
	usage := func(prompt, completion int) map[string]int {
		return map[string]int{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
	}
	weatherOslo := []map[string]string{{"id": "call_w", "name": "get_weather", "arguments": `{"city":"Oslo"}`}}
	responsesStream := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta", "response.output_text.done", "response.content_part.done",
		"response.output_item.done", "response.completed"}

	t.Run("openai", func(t *testing.T) {
		before := oai.count()
		r := run(t, "openai.mjs")
		r.expect(t, "chat", func(t *testing.T, c gjson.Result) {
			is(t, c, "content", "Hello world")
			is(t, c, "finish", "stop")
			is(t, c, "usage", usage(11, 2))
		})
		r.expect(t, "chat stream with usage", func(t *testing.T, c gjson.Result) {
			is(t, c, "content", "Hello world")
			is(t, c, "chunks", 5) // role, two deltas, finish, usage
			is(t, c, "finish", "stop")
			is(t, c, "usage", usage(11, 2))
		})
		r.expect(t, "chat tools", func(t *testing.T, c gjson.Result) {
			is(t, c, "finish", "tool_calls")
			is(t, c, "tool_calls", weatherOslo)
			is(t, c, "usage", usage(20, 9))
		})
		r.expect(t, "chat tools streamed", func(t *testing.T, c gjson.Result) {
			is(t, c, "finish", "tool_calls")
			is(t, c, "tool_calls", weatherOslo)
			is(t, c, "usage", usage(20, 9))
		})
		r.expect(t, "chat to anthropic", func(t *testing.T, c gjson.Result) {
			is(t, c, "content", "Hello from Claude")
			is(t, c, "finish", "stop")
			is(t, c, "usage.prompt_tokens", 12)
			is(t, c, "usage.completion_tokens", 5)
			is(t, c, "usage.total_tokens", 17)
		})
		var first string
		native := func(t *testing.T, c gjson.Result, path string) {
			t.Helper()
			is(t, c, path+"object", "response")
			is(t, c, path+"status", "completed")
			is(t, c, path+"usage.input_tokens", 9)
			is(t, c, path+"usage.output_tokens", 3)
			is(t, c, path+"usage.total_tokens", 12)
		}
		r.expect(t, "responses", func(t *testing.T, c gjson.Result) {
			first = gatewayID(t, c, "id")
			native(t, c, "")
			is(t, c, "output_text", "Native hello")
			is(t, c, "previous_response_id", nil)
		})
		r.expect(t, "responses stream", func(t *testing.T, c gjson.Result) {
			is(t, c, "types", responsesStream)
			is(t, c, "sequence_numbers", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
			is(t, c, "text", "Native hello")
			gatewayID(t, c, "final.id")
			native(t, c, "final.")
		})
		r.expect(t, "responses stream helper", func(t *testing.T, c gjson.Result) {
			gatewayID(t, c, "id")
			native(t, c, "")
			is(t, c, "output_text", "Native hello")
		})
		r.expect(t, "responses follow-up", func(t *testing.T, c gjson.Result) {
			if id := gatewayID(t, c, "id"); id == first {
				t.Errorf("the follow-up has the first response's id %s", id)
			}
			is(t, c, "previous_response_id", first)
			is(t, c, "output_text", "Native hello")
		})
		r.expect(t, "responses retrieve", func(t *testing.T, c gjson.Result) {
			is(t, c, "id", first)
			native(t, c, "")
			is(t, c, "output_text", "Native hello")
		})
		r.expect(t, "responses delete", func(t *testing.T, c gjson.Result) {
			is(t, c, "deleted", map[string]any{"id": first, "object": "response", "deleted": true})
			is(t, c, "after.status", 404)
			is(t, c, "not_found_error", true)
		})
		r.expect(t, "responses to anthropic", func(t *testing.T, c gjson.Result) {
			gatewayID(t, c, "id")
			is(t, c, "status", "completed")
			is(t, c, "output_text", "Hello from Claude")
			is(t, c, "usage.input_tokens", 12)
			is(t, c, "usage.output_tokens", 5)
		})
		r.expect(t, "responses stream helper to anthropic", func(t *testing.T, c gjson.Result) {
			gatewayID(t, c, "id")
			is(t, c, "status", "completed")
			is(t, c, "output_text", "Hello from Claude")
			is(t, c, "calls", []map[string]string{{"call_id": "toolu_02", "name": "get_weather", "arguments": `{"city": "Rome"}`}})
			is(t, c, "types", []string{"response.created", "response.in_progress",
				"response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
				"response.output_text.done", "response.content_part.done", "response.output_item.done",
				"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
				"response.function_call_arguments.done", "response.output_item.done", "response.completed"})
			// Anthropic's 12 uncached and 8 cached input tokens are OpenAI's 20
			// input tokens, 8 of them cached.
			is(t, c, "usage.input_tokens", 20)
			is(t, c, "usage.input_tokens_details.cached_tokens", 8)
			is(t, c, "usage.output_tokens", 9)
		})
		r.expect(t, "embeddings", func(t *testing.T, c gjson.Result) {
			is(t, c, "vectors", wantVectors)
			is(t, c, "indexes", []int{0, 1})
			is(t, c, "usage", map[string]int{"prompt_tokens": 4, "total_tokens": 4})
		})
		r.expect(t, "wrong key", func(t *testing.T, c gjson.Result) {
			is(t, c, "status", 401)
			is(t, c, "authentication_error", true)
		})

		reqs := oai.since(before)
		if n := followUpsSentTheConversation(t, reqs); n != 1 {
			t.Errorf("%d follow-ups reached the upstream, want 1", n)
		}
		for _, req := range reqs {
			// The SDK asks for base64 unless told otherwise, and decodes it.
			if req.Path == "/v1/embeddings" && gjson.GetBytes(req.Body, "encoding_format").String() != "base64" {
				t.Errorf("embeddings reached the upstream as %s", req.Body)
			}
		}
	})

	t.Run("anthropic", func(t *testing.T) {
		r := run(t, "anthropic.mjs")
		r.expect(t, "messages.create", func(t *testing.T, c gjson.Result) {
			is(t, c, "id", "msg_01A")
			is(t, c, "content", []map[string]string{{"type": "text", "text": "Hello from Claude"}})
			is(t, c, "stop_reason", "end_turn")
			is(t, c, "usage.input_tokens", 12)
			is(t, c, "usage.output_tokens", 5)
		})
		r.expect(t, "messages.create to openai", func(t *testing.T, c gjson.Result) {
			is(t, c, "type", "message")
			is(t, c, "model", "gpt-4o-mini")
			is(t, c, "content", []map[string]string{{"type": "text", "text": "Hello world"}})
			is(t, c, "stop_reason", "end_turn")
			is(t, c, "usage.input_tokens", 11)
			is(t, c, "usage.output_tokens", 2)
		})
		r.expect(t, "messages.stream", func(t *testing.T, c gjson.Result) {
			is(t, c, "id", "msg_01C")
			// Every event but the ping, which the SDK does not surface.
			is(t, c, "types", []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
				"content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"})
			is(t, c, "content", []map[string]any{{"type": "text", "text": "Hello from Claude"},
				{"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": map[string]string{"city": "Rome"}}})
			is(t, c, "stop_reason", "tool_use")
			is(t, c, "usage.output_tokens", 9)
			is(t, c, "usage.cache_read_input_tokens", 8)
		})
		r.expect(t, "messages.stream to openai", func(t *testing.T, c gjson.Result) {
			is(t, c, "types", []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"})
			is(t, c, "text", "Hello world")
			is(t, c, "content", []map[string]string{{"type": "text", "text": "Hello world"}})
			is(t, c, "stop_reason", "end_turn")
			is(t, c, "usage.input_tokens", 11)
			is(t, c, "usage.output_tokens", 2)
		})
		r.expect(t, "tools", func(t *testing.T, c gjson.Result) {
			is(t, c, "stop_reason", "tool_use")
			is(t, c, "content.1", map[string]any{"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": map[string]string{"city": "Paris"}})
			// The tool's result reached the OpenAI model as a tool message.
			is(t, c, "next.content", []map[string]string{{"type": "text", "text": "It is 18°C and sunny in Paris."}})
		})
		r.expect(t, "countTokens", func(t *testing.T, c gjson.Result) {
			is(t, c, "native", map[string]int{"input_tokens": 21})
			if n := c.Get("estimate.input_tokens").Int(); n < 5 {
				t.Errorf("estimate = %s", c.Get("estimate").Raw)
			}
			is(t, c, "estimate_header", "estimate")
		})
		r.expect(t, "not found", func(t *testing.T, c gjson.Result) {
			is(t, c, "status", 404)
			is(t, c, "type", "not_found_error")
			is(t, c, "not_found_error", true)
			if !strings.Contains(c.Get("body.error.message").String(), "claude-does-not-exist") || c.Get("requestID").String() == "" {
				t.Errorf("error = %s", c.Raw)
			}
		})
		r.expect(t, "wrong key", func(t *testing.T, c gjson.Result) {
			is(t, c, "status", 401)
			is(t, c, "type", "authentication_error")
			is(t, c, "authentication_error", true)
		})
		if !asked(claude.last(), `"model":"claude-sonnet-4-5"`) {
			t.Errorf("the Anthropic fake last got %s", claude.last())
		}
	})

	t.Run("ai", func(t *testing.T) {
		before := oai.count()
		r := run(t, "ai-sdk.mjs")
		text := []string{"start", "start-step", "text-start", "text-delta", "text-delta", "text-end", "finish-step", "finish"}
		aiUsage := func(in, out int) map[string]int {
			return map[string]int{"inputTokens": in, "outputTokens": out, "totalTokens": in + out}
		}
		r.expect(t, "generateText responses", func(t *testing.T, c gjson.Result) {
			is(t, c, "text", "Native hello")
			is(t, c, "finishReason", "stop")
			is(t, c, "usage", aiUsage(9, 3))
			gatewayID(t, c, "responseId")
		})
		r.expect(t, "generateText responses follow-up", func(t *testing.T, c gjson.Result) {
			is(t, c, "text", "Native hello")
			gatewayID(t, c, "responseId")
		})
		r.expect(t, "streamText responses", func(t *testing.T, c gjson.Result) {
			is(t, c, "text", "Native hello")
			is(t, c, "parts", text)
			is(t, c, "finishReason", "stop")
			is(t, c, "usage", aiUsage(9, 3))
			gatewayID(t, c, "responseId")
		})
		r.expect(t, "generateText responses to anthropic", func(t *testing.T, c gjson.Result) {
			is(t, c, "text", "Hello from Claude")
			is(t, c, "finishReason", "stop")
			is(t, c, "usage", aiUsage(12, 5))
			gatewayID(t, c, "responseId")
		})
		r.expect(t, "streamText responses to anthropic with tools", func(t *testing.T, c gjson.Result) {
			is(t, c, "text", "Hello from Claude")
			is(t, c, "parts", []string{"start", "start-step", "text-start", "text-delta", "text-delta", "text-end",
				"tool-input-start", "tool-input-delta", "tool-input-delta", "tool-input-end", "tool-call", "finish-step", "finish"})
			is(t, c, "finishReason", "tool-calls")
			is(t, c, "toolCalls", []map[string]any{{"id": "toolu_02", "name": "get_weather", "input": map[string]string{"city": "Rome"}}})
			is(t, c, "usage", aiUsage(20, 9))
		})
		r.expect(t, "generateText responses tools", func(t *testing.T, c gjson.Result) {
			is(t, c, "text", "Let me check.")
			is(t, c, "finishReason", "tool-calls")
			is(t, c, "toolCalls", []map[string]any{{"id": "toolu_01", "name": "get_weather", "input": map[string]string{"city": "Paris"}}})
			is(t, c, "usage", aiUsage(40, 20))
		})
		r.expect(t, "generateText chat", func(t *testing.T, c gjson.Result) {
			is(t, c, "text", "Hello world")
			is(t, c, "finishReason", "stop")
			is(t, c, "usage", aiUsage(11, 2))
			is(t, c, "modelId", "gpt-4o-mini")
		})
		r.expect(t, "streamText chat", func(t *testing.T, c gjson.Result) {
			is(t, c, "text", "Hello world")
			is(t, c, "parts", text)
			is(t, c, "finishReason", "stop")
			is(t, c, "usage", aiUsage(11, 2))
		})
		r.expect(t, "generateText chat tools", func(t *testing.T, c gjson.Result) {
			is(t, c, "finishReason", "tool-calls")
			is(t, c, "toolCalls", []map[string]any{{"id": "call_w", "name": "get_weather", "input": map[string]string{"city": "Oslo"}}})
			is(t, c, "usage", aiUsage(20, 9))
		})
		reqs := oai.since(before)
		if n := followUpsSentTheConversation(t, reqs); n != 1 {
			t.Errorf("%d follow-ups reached the upstream, want 1", n)
		}
		paths := map[string]int{}
		for _, req := range reqs {
			paths[req.Path]++
		}
		// openai("gpt-4.1") is the Responses API; createOpenAICompatible is chat.
		if paths["/v1/responses"] != 3 || paths["/v1/chat/completions"] != 3 {
			t.Errorf("the OpenAI fake got %v", paths)
		}
	})

	t.Run("langchain", func(t *testing.T) {
		before := oai.count()
		r := run(t, "langchain.mjs")
		lcUsage := map[string]int{"input_tokens": 11, "output_tokens": 2, "total_tokens": 13}
		r.expect(t, "invoke", func(t *testing.T, c gjson.Result) {
			is(t, c, "content", "Hello world")
			is(t, c, "finish_reason", "stop")
			for k, v := range lcUsage {
				is(t, c, "usage_metadata."+k, v)
			}
		})
		r.expect(t, "stream", func(t *testing.T, c gjson.Result) {
			is(t, c, "content", "Hello world")
			is(t, c, "chunks", 5)
			for k, v := range lcUsage {
				is(t, c, "usage_metadata."+k, v)
			}
		})
		for _, req := range oai.since(before) {
			if req.Path != "/v1/chat/completions" || gjson.GetBytes(req.Body, "model").String() != "gpt-4o-mini" {
				t.Errorf("LangChain's ChatOpenAI reached the upstream as %s %s", req.Path, req.Body)
			}
		}
	})
}
