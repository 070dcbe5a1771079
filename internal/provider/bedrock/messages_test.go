package bedrock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/provider/anthropic"
)

// A Messages body as Claude Code sends it, with the fields the chat
// translation cannot carry; the model is the upstream model (the gateway
// patches it in).
const claudeBody = `{"model":"` + testModel + `","max_tokens":64,"stream":true,"top_k":3,` +
	`"thinking":{"type":"enabled","budget_tokens":1024},"metadata":{"user_id":"u1"},` +
	`"system":[{"type":"text","text":"<rules> & more","cache_control":{"type":"ephemeral","ttl":"1h"}}],` +
	`"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},{"type":"text","text":"Summarise"}]}],` +
	`"future_field":[1,2.50]}`

func TestInvokeBodyIsTheClientsBodyInBedrocksForm(t *testing.T) {
	model, out, err := invokeBody([]byte(claudeBody), "claude-code-20250219, interleaved-thinking-2025-05-14,advanced-tool-use-2025-11-20,interleaved-thinking-2025-05-14")
	if err != nil {
		t.Fatal(err)
	}
	if model != testModel {
		t.Errorf("model = %q", model)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["model"]; ok {
		t.Error("the body still names the model")
	}
	if _, ok := got["stream"]; ok {
		t.Error("the body still has stream")
	}
	if string(got["anthropic_version"]) != `"bedrock-2023-05-31"` {
		t.Errorf("anthropic_version = %s", got["anthropic_version"])
	}
	if string(got["anthropic_beta"]) != `["interleaved-thinking-2025-05-14","tool-search-tool-2025-10-19"]` {
		t.Errorf("anthropic_beta = %s: want Bedrock's features only, renamed, once each", got["anthropic_beta"])
	}
	var client map[string]json.RawMessage
	_ = json.Unmarshal([]byte(claudeBody), &client)
	for _, k := range []string{"max_tokens", "top_k", "thinking", "metadata", "system", "messages", "future_field"} {
		if string(got[k]) != string(client[k]) {
			t.Errorf("%s = %s, want the client's %s", k, got[k], client[k])
		}
	}
	if !strings.Contains(string(out), "<rules> & more") {
		t.Errorf("text was escaped: %s", out)
	}

	_, out, _ = invokeBody([]byte(`{"model":"m","max_tokens":1,"messages":[]}`), "claude-code-20250219")
	if strings.Contains(string(out), "anthropic_beta") {
		t.Errorf("a body with no feature Bedrock knows has anthropic_beta: %s", out)
	}
	if _, _, err := invokeBody([]byte(`{"max_tokens":1}`), ""); err == nil || err.HTTPStatus() != 400 {
		t.Errorf("a body without a model: %v, want a 400", err)
	}
}

func TestServesMessagesOnlyForClaude(t *testing.T) {
	p := &Provider{}
	for model, want := range map[string]bool{
		testModel: true, "us.anthropic.claude-sonnet-4-5-20250929-v1:0": true,
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-opus-4-5-v1:0": true,
		"amazon.nova-pro-v1:0": false, "meta.llama3-3-70b-instruct-v1:0": false,
	} {
		if got := p.ServesMessages(model); got != want {
			t.Errorf("ServesMessages(%q) = %v, want %v", model, got, want)
		}
	}
}

const claudeAnswer = `{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"thinking","thinking":"short","signature":"c2ln"},{"type":"text","text":"A summary."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":3000,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":3000},"output_tokens":9}}`

func TestMessagesGoesThroughInvokeModelAndAnswersAsBedrockDid(t *testing.T) {
	p, f := newTestProvider(t, jsonAnswer(http.StatusOK, "", claudeAnswer))
	resp, err := p.Messages(context.Background(), &anthropic.NativeRequest{Body: []byte(claudeBody), Beta: "context-1m-2025-08-07"})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != claudeAnswer || resp.ContentType != "application/json" {
		t.Errorf("answer %s", resp.Body)
	}
	r := f.Last(t)
	if r.Method != http.MethodPost || r.Path != "/model/"+testModel+"/invoke" {
		t.Errorf("%s %s, want POST /model/%s/invoke", r.Method, r.Path, testModel)
	}
	_, want, _ := invokeBody([]byte(claudeBody), "context-1m-2025-08-07")
	if !bytes.Equal(r.Body, want) {
		t.Errorf("body %s\nwant %s", r.Body, want)
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		t.Errorf("the request is not signed: %v", r.Header)
	}
}

func TestMessagesErrorsKeepBedrocksStatus(t *testing.T) {
	for _, tt := range []struct {
		name   string
		h      http.HandlerFunc
		status int
	}{
		{"a validation error is a 400", jsonAnswer(400, "ValidationException", `{"message":"invalid beta flag"}`), 400},
		{"throttling is a 429", jsonAnswer(429, "ThrottlingException", `{"message":"slow down"}`), 429},
		{"an answer that is not a message is a 502", jsonAnswer(200, "", `{"type":"completion"}`), 502},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestProvider(t, tt.h)
			_, err := p.Messages(context.Background(), &anthropic.NativeRequest{Body: []byte(claudeBody)})
			if e := asGatewayError(t, err); e.HTTPStatus() != tt.status || e.Provider != "bedrock" {
				t.Errorf("error %v (status %d, provider %q), want %d from bedrock", e, e.HTTPStatus(), e.Provider, tt.status)
			}
		})
	}
}

func TestCountTokensUsesBedrocksCountTokens(t *testing.T) {
	p, f := newTestProvider(t, jsonAnswer(http.StatusOK, "", `{"inputTokens":3012}`))
	resp, err := p.CountTokens(context.Background(), &anthropic.NativeRequest{Body: []byte(`{"model":"` + testModel + `","messages":[{"role":"user","content":"hi"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != `{"input_tokens":3012}` {
		t.Errorf("answer %s", resp.Body)
	}
	r := f.Last(t)
	var sent struct {
		Input struct {
			InvokeModel struct {
				Body string `json:"body"`
			} `json:"invokeModel"`
		} `json:"input"`
	}
	if err := json.Unmarshal(r.Body, &sent); err != nil || r.Path != "/model/"+testModel+"/count-tokens" {
		t.Fatalf("%s %s (%v)", r.Path, r.Body, err)
	}
	body, _ := base64.StdEncoding.DecodeString(sent.Input.InvokeModel.Body)
	if !strings.Contains(string(body), `"anthropic_version":"bedrock-2023-05-31"`) || strings.Contains(string(body), `"model"`) {
		t.Errorf("counted body %s", body)
	}
}

// chunk is an InvokeModelWithResponseStream event carrying one of
// Anthropic's stream events.
func chunk(event string) fakeEvent {
	payload, _ := json.Marshal(map[string]string{"bytes": base64.StdEncoding.EncodeToString([]byte(event))})
	return fakeEvent{Event: "chunk", Payload: payload}
}

var claudeStream = []string{
	`{"type":"message_start","message":{"id":"msg_bdrk_02","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_read_input_tokens":3000,"output_tokens":1}}}`,
	`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`,
	`{"type":"content_block_stop","index":0}`,
	`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}`,
	`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":2}}`,
}

func TestMessagesStreamRelaysBedrocksChunksAsAnthropicEvents(t *testing.T) {
	var events []fakeEvent
	for _, e := range claudeStream {
		events = append(events, chunk(e))
	}
	p, f := newTestProvider(t, streamAnswer(t, events, false))
	s, err := p.MessagesStream(context.Background(), &anthropic.NativeRequest{Body: []byte(claudeBody)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r := f.Last(t); r.Path != "/model/"+testModel+"/invoke-with-response-stream" || strings.Contains(string(r.Body), `"stream"`) {
		t.Errorf("%s %s", r.Path, r.Body)
	}
	var got []string
	for {
		fr, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d events: %v", len(got), err)
		}
		var typed struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(fr.Data, &typed)
		if fr.Event != typed.Type || string(fr.Raw) != "event: "+typed.Type+"\ndata: "+string(fr.Data)+"\n\n" {
			t.Errorf("frame %q", fr.Raw)
		}
		got = append(got, string(fr.Data))
	}
	if strings.Join(got, "\n") != strings.Join(claudeStream, "\n") {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(claudeStream, "\n"))
	}
}

func TestMessagesStreamFailures(t *testing.T) {
	t.Run("an exception before any chunk keeps its status, for failover", func(t *testing.T) {
		p, _ := newTestProvider(t, streamAnswer(t, []fakeEvent{exception("throttlingException", `{"message":"Too many requests"}`)}, false))
		_, err := p.MessagesStream(context.Background(), &anthropic.NativeRequest{Body: []byte(claudeBody)})
		if e := asGatewayError(t, err); e.HTTPStatus() != 429 || !e.Retryable {
			t.Errorf("error %v (status %d), want a retryable 429", e, e.HTTPStatus())
		}
	})
	t.Run("a refused request keeps its status", func(t *testing.T) {
		p, _ := newTestProvider(t, jsonAnswer(400, "ValidationException", `{"message":"invalid beta flag"}`))
		_, err := p.MessagesStream(context.Background(), &anthropic.NativeRequest{Body: []byte(claudeBody)})
		if e := asGatewayError(t, err); e.HTTPStatus() != 400 || !strings.Contains(e.Message, "invalid beta flag") {
			t.Errorf("error %v", e)
		}
	})
	for _, tt := range []struct {
		name   string
		events []fakeEvent
		cut    bool
		want   string
	}{
		{"an exception mid-stream ends it with Bedrock's message", []fakeEvent{chunk(claudeStream[0]), exception("modelStreamErrorException", `{"message":"the model crashed"}`)}, false, "the model crashed"},
		{"a stream that ends before message_stop was cut", []fakeEvent{chunk(claudeStream[0]), chunk(claudeStream[1])}, false, "before message_stop"},
		{"a dropped connection was cut", []fakeEvent{chunk(claudeStream[0])}, true, "cut"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestProvider(t, streamAnswer(t, tt.events, tt.cut))
			s, err := p.MessagesStream(context.Background(), &anthropic.NativeRequest{Body: []byte(claudeBody)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for {
				_, err = s.Next()
				if err != nil {
					break
				}
			}
			if err == io.EOF {
				t.Fatal("the stream ended cleanly")
			}
			e := asGatewayError(t, err)
			if !e.Retryable || !strings.Contains(e.Message, tt.want) || e.Provider != "bedrock" {
				t.Errorf("error %v, want a retryable error from bedrock saying %q", e, tt.want)
			}
			assertNoSecret(t, e)
		})
	}
}
