package gateway_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/gateway"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// A Bedrock provider serving a Claude model (through InvokeModel, natively)
// and a Nova model (through Converse, translated).
const bedrockMessagesConfig = `
[defaults.retry]
max_retries = 0
[[providers]]
name = "bedrock"
kind = "bedrock"
base_url = "{A}"
region = "us-east-1"
models = ["us.anthropic.claude-sonnet-4-5-20250929-v1:0", "amazon.nova-pro-v1:0"]
[aliases]
claude = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
nova = "amazon.nova-pro-v1:0"
`

// bedrockAWSEnv gives the AWS default chain fixed keys and keeps it away from
// the machine's profiles, instance metadata and endpoints.
func bedrockAWSEnv(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDGATEWAYTEST", "AWS_SECRET_ACCESS_KEY": "gateway-test-secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_BEARER_TOKEN_BEDROCK": "", "AWS_ENDPOINT_URL": "",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "",
	} {
		t.Setenv(k, v)
	}
}

// The Claude answer: 12 new input tokens, 3000 written to the one-hour
// cache, 9 out.
const bedrockClaudeAnswer = `{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"thinking","thinking":"short","signature":"c2ln"},{"type":"text","text":"A summary."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":3000,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":3000},"output_tokens":9}}`

var bedrockClaudeEvents = []string{
	`{"type":"message_start","message":{"id":"msg_bdrk_02","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_read_input_tokens":3000,"output_tokens":1}}}`,
	`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`,
	`{"type":"content_block_stop","index":0}`,
	`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}`,
	`{"type":"message_stop"}`,
}

func bedrockEventStream(w http.ResponseWriter, typ string, payloads ...string) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	enc := eventstream.NewEncoder()
	for _, p := range payloads {
		var msg eventstream.Message
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		msg.Headers.Set(":event-type", eventstream.StringValue(typ))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Payload = []byte(p)
		_ = enc.Encode(w, msg)
	}
}

// bedrockMessagesUpstream answers InvokeModel (and its stream) for Claude and
// Converse for Nova, and 404 elsewhere.
func bedrockMessagesUpstream(w http.ResponseWriter, r *http.Request) {
	claude := "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/"
	switch r.URL.Path {
	case claude + "invoke":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(bedrockClaudeAnswer))
	case claude + "invoke-with-response-stream":
		var chunks []string
		for _, e := range bedrockClaudeEvents {
			b, _ := json.Marshal(map[string]string{"bytes": base64.StdEncoding.EncodeToString([]byte(e))})
			chunks = append(chunks, string(b))
		}
		bedrockEventStream(w, "chunk", chunks...)
	case claude + "count-tokens":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"inputTokens":3012}`))
	case "/model/amazon.nova-pro-v1:0/converse":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"output":{"message":{"role":"assistant","content":[{"text":"From Nova."}]}},"stopReason":"end_turn","usage":{"inputTokens":5,"outputTokens":3,"totalTokens":8},"metrics":{"latencyMs":1}}`))
	default:
		w.Header().Set("X-Amzn-ErrorType", "UnknownOperationException")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{}`))
	}
}

// TestMessagesToClaudeOnBedrockGoThroughInvokeModel: /v1/messages for a
// Claude model on Bedrock sends the client's request itself (in Bedrock's
// form: no model, Bedrock's anthropic_version, Bedrock's beta features) to
// InvokeModel and answers with Bedrock's bytes, priced with the one-hour
// cache-write price; count_tokens asks Bedrock. Another Bedrock model still
// goes through Converse.
func TestMessagesToClaudeOnBedrockGoThroughInvokeModel(t *testing.T) {
	bedrockAWSEnv(t)
	up := newUpstream(t, bedrockMessagesUpstream)
	g, logs := newGateway(t, bedrockMessagesConfig, up)
	body := `{"model":"claude","max_tokens":64,"top_k":3,"thinking":{"type":"enabled","budget_tokens":1024},` +
		`"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral","ttl":"1h"}}],` +
		`"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},{"type":"text","text":"Summarise"}]}]}`

	rec := postMessages(t, g, "/v1/messages", body)
	if rec.Code != 200 || rec.Body.String() != bedrockClaudeAnswer {
		t.Fatalf("%d %s, want Bedrock's answer as it is", rec.Code, rec.Body)
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(up.lastBody(), &sent); err != nil {
		t.Fatal(err)
	}
	if _, hasModel := sent["model"]; hasModel || string(sent["anthropic_version"]) != `"bedrock-2023-05-31"` ||
		string(sent["anthropic_beta"]) != `["interleaved-thinking-2025-05-14"]` ||
		!strings.Contains(string(sent["system"]), `"cache_control":{"type":"ephemeral","ttl":"1h"}`) ||
		string(sent["top_k"]) != "3" || !strings.Contains(string(sent["messages"]), `"type":"document"`) {
		t.Errorf("InvokeModel body %s", up.lastBody())
	}
	// 12 at $3, 3000 one-hour writes at $6, 9 out at $15 per million.
	if got := rec.Header().Get("X-Gateway-Cost-Usd"); got != "0.018171" {
		t.Errorf("cost %q, want 0.018171 (one-hour writes at twice the input price)", got)
	}

	rec = postMessages(t, g, "/v1/messages", strings.Replace(body, `"max_tokens":64`, `"max_tokens":64,"stream":true`, 1))
	if rec.Code != 200 {
		t.Fatalf("stream: %d %s", rec.Code, rec.Body)
	}
	var want strings.Builder
	for _, e := range bedrockClaudeEvents {
		var typed struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal([]byte(e), &typed)
		want.WriteString("event: " + typed.Type + "\ndata: " + e + "\n\n")
	}
	// Bedrock's events, then the gateway's closing cost comment.
	want.WriteString(gateway.CostComment + rec.Header().Get("X-Gateway-Cost-Usd"))
	if got := rec.Body.String(); !strings.HasPrefix(got, want.String()) || strings.Count(got, gateway.CostComment) != 1 {
		t.Errorf("stream\n%s\nwant Bedrock's events and one cost comment\n%s", got, want.String())
	}
	if !strings.Contains(logs.String(), `"prompt_tokens":3012,"completion_tokens":2`) {
		t.Errorf("the stream's usage is not in the log: %s", logs)
	}

	rec = postMessages(t, g, "/v1/messages/count_tokens", `{"model":"claude","messages":[{"role":"user","content":"hi"}]}`)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"input_tokens":3012}` || rec.Header().Get("X-Gateway-Token-Count") != "" {
		t.Errorf("count_tokens: %d %s %v", rec.Code, rec.Body, rec.Header())
	}

	rec = postMessages(t, g, "/v1/messages", `{"model":"nova","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"text":"From Nova."`) {
		t.Errorf("nova: %d %s, want the Converse answer translated", rec.Code, rec.Body)
	}
}
