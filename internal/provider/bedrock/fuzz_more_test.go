package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// fuzzProvider builds a provider aimed at a loopback server that answers
// every request with serve's current body, with static test credentials
// (no credential chain, no retries).
func fuzzProvider(f *testing.F, contentType string) (*Provider, *providertest.FuzzFake) {
	f.Helper()
	srv := providertest.NewFuzzFake(f, contentType)
	client := bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey, Source: "fuzz"}, nil
		}),
		Retryer:    aws.NopRetryer{},
		HTTPClient: srv.Client(),
	})
	return NewWithClient(provider.Config{Name: "bedrock", Kind: Kind}, client), srv
}

func fuzzChatRequest(stream bool) *provider.ChatRequest {
	body := `{"model":"claude-sonnet","messages":[{"role":"user","content":"hi"}]}`
	var r openai.ChatRequest
	_ = json.Unmarshal([]byte(body), &r)
	r.Stream = stream
	return &provider.ChatRequest{Model: testModel, Body: &r, Raw: []byte(body)}
}

// checkGatewayError fails unless err is an *openai.Error that encodes and
// does not carry the secret key.
func checkGatewayError(t *testing.T, err error) {
	t.Helper()
	var ge *openai.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not an *openai.Error", err, err)
	}
	if !json.Valid(ge.JSON()) {
		t.Fatalf("error JSON is invalid: %q", ge.JSON())
	}
	if strings.Contains(ge.Error(), testSecretKey) {
		t.Fatalf("error leaks the secret key: %s", ge.Error())
	}
}

// FuzzConverseResponse serves arbitrary Converse answer bodies to Chat, which
// runs the SDK's decoder and translateResponse: it must answer valid JSON
// whose usage matches Response.Usage, or fail with an *openai.Error.
func FuzzConverseResponse(f *testing.F) {
	providertest.AddSeeds(f, "response_*.json")
	f.Add([]byte(`{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t","name":"f","input":[1,{"a":null},"x",2.5e300]}}]}},"stopReason":"tool_use"}`))
	f.Add([]byte(`{"output":{"message":{"content":[{"text":"a"},{"reasoningContent":{"reasoningText":{"text":"r"}}}]}},"usage":{"inputTokens":-1,"outputTokens":2147483647,"cacheReadInputTokens":2147483647}}`))
	f.Add([]byte(`{"output":{"unknownMember":{}}}`))
	f.Add([]byte(`{"output":null}`))
	f.Add([]byte(`not json`))
	p, up := fuzzProvider(f, "application/json")
	f.Fuzz(func(t *testing.T, body []byte) {
		up.SetBody(body)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := p.Chat(ctx, fuzzChatRequest(false))
		if err != nil {
			checkGatewayError(t, err)
			return
		}
		var cc openai.ChatCompletion
		if err := json.Unmarshal(resp.Body, &cc); err != nil {
			t.Fatalf("answer is not a chat completion: %v\n%s", err, resp.Body)
		}
		if cc.Usage == nil || !reflect.DeepEqual(*cc.Usage, resp.Usage) {
			t.Fatalf("Response.Usage %+v does not match the body's %+v", resp.Usage, cc.Usage)
		}
		for _, c := range cc.Choices {
			for _, tc := range c.Message.ToolCalls {
				if !json.Valid([]byte(tc.Function.Arguments)) {
					t.Fatalf("tool arguments %q are not JSON", tc.Function.Arguments)
				}
			}
		}
	})
}

// FuzzConverseStreamEvents serves an arbitrary list of event-stream messages
// (the fixtures' shape: [{"event"|"exception", "payload"}]) to ChatStream,
// which runs the SDK's event decoder and the per-event translation: every
// chunk must be JSON, the usage chunk last, and the stream must end with
// io.EOF or an *openai.Error.
func FuzzConverseStreamEvents(f *testing.F) {
	providertest.AddSeeds(f, "stream_*.json")
	f.Add([]byte(`[{"event":"contentBlockStart","payload":{"contentBlockIndex":-3,"start":{"toolUse":{"toolUseId":"a","name":"f"}}}},{"event":"contentBlockDelta","payload":{"contentBlockIndex":7,"delta":{"toolUse":{"input":"{"}}}},{"event":"metadata","payload":{"usage":{"inputTokens":1}}},{"event":"metadata","payload":{}},{"event":"messageStop","payload":{"stopReason":"weird"}}]`))
	f.Add([]byte(`[{"exception":"throttlingException","payload":{"message":"slow down"}}]`))
	f.Add([]byte(`[{"event":"messageStart","payload":{"role":"assistant"}},{"exception":"modelStreamErrorException","payload":{"message":"x"}}]`))
	f.Add([]byte(`[{"event":"messageStart","payload":"not an object"}]`))
	f.Add([]byte(`[{"event":"unknownEvent","payload":{}}]`))
	f.Add([]byte(`[]`))
	p, up := fuzzProvider(f, "application/vnd.amazon.eventstream")
	f.Fuzz(func(t *testing.T, data []byte) {
		var events []fakeEvent
		if json.Unmarshal(data, &events) != nil || len(events) > 64 {
			return
		}
		var wire bytes.Buffer
		enc := eventstream.NewEncoder()
		for _, e := range events {
			if err := enc.Encode(&wire, e.message()); err != nil {
				return // a header the encoder refuses (too long)
			}
		}
		up.SetBody(wire.Bytes())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := p.ChatStream(ctx, fuzzChatRequest(true))
		if err != nil {
			checkGatewayError(t, err)
			return
		}
		defer s.Close()
		sawUsage := false
		for range 4*len(events) + 8 {
			c, err := s.Next()
			if err == io.EOF {
				if !sawUsage {
					t.Fatal("the stream ended cleanly without a usage chunk")
				}
				return
			}
			if err != nil {
				checkGatewayError(t, err)
				return
			}
			if sawUsage {
				t.Fatal("a chunk follows the usage chunk")
			}
			if !json.Valid(c.Data) {
				t.Fatalf("chunk is not JSON: %q", c.Data)
			}
			sawUsage = c.Usage != nil
		}
		t.Fatalf("the stream of %d events never ended", len(events))
	})
}

// FuzzMapError maps arbitrary Bedrock error codes, messages and statuses: the
// result is always an *openai.Error that encodes with an error status, and a
// credentials refusal never echoes Bedrock's message.
func FuzzMapError(f *testing.F) {
	f.Add("ValidationException", "bad input", 400, "")
	f.Add("AccessDeniedException", "arn:aws:iam::123456789012:role/secret-role", 403, "")
	f.Add("ThrottlingException", "", 429, "5")
	f.Add("ModelErrorException", "boom", 424, "")
	f.Add("SomethingNew", "odd", 418, "")
	f.Add("", "", 0, "")
	f.Add("", "", 200, "")
	f.Add("", "", 502, "")
	p := NewWithClient(provider.Config{Name: "bedrock", Kind: Kind}, nil)
	p.logger = slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, code, msg string, status int, retryAfter string) {
		if status < 0 || status > 999 {
			return
		}
		var inner error = errors.New("operation error Bedrock Runtime: " + msg)
		if code != "" || msg != "" {
			inner = &smithy.GenericAPIError{Code: code, Message: msg}
		}
		err := inner
		if status != 0 {
			h := http.Header{}
			if retryAfter != "" {
				h.Set("Retry-After", retryAfter)
			}
			err = &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: h}},
				Err:      inner,
			}}
		}
		e := p.mapError(context.Background(), &smithy.OperationError{ServiceID: "Bedrock Runtime", OperationName: "Converse", Err: err})
		if e == nil {
			t.Fatal("nil error")
		}
		if !json.Valid(e.JSON()) {
			t.Fatalf("error JSON is invalid: %q", e.JSON())
		}
		if s := e.HTTPStatus(); s < 400 || s > 599 {
			t.Fatalf("status %d is not an error status", s)
		}
		if e.Code == openai.CodeUpstreamAuth && len(msg) > 8 && strings.Contains(e.Message, msg) &&
			!strings.Contains("provider bedrock refused the gateway's credentials ("+code+")", msg) &&
			!strings.Contains("provider bedrock has no usable AWS credentials", msg) {
			t.Fatalf("a credentials refusal echoes Bedrock's message: %q", e.Message)
		}
	})
}
