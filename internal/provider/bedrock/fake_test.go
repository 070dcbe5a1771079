package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

const (
	testAccessKey = "AKIDBEDROCKTEST"
	testSecretKey = "bedrock-test-secret-7f3a9c1e5b2d"
	testModel     = "anthropic.claude-3-5-sonnet-20240620-v1:0"
)

// isolateAWS points the default credential chain at fixed test keys and
// away from anything on the machine (profiles, IMDS, bearer tokens).
func isolateAWS(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":                      testAccessKey,
		"AWS_SECRET_ACCESS_KEY":                  testSecretKey,
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
		"AWS_RETRY_MODE":                         "",
		"AWS_MAX_ATTEMPTS":                       "",
	} {
		t.Setenv(k, v)
	}
}

// newTestProvider isolates the AWS environment and builds a provider aimed at
// a fake answering with handle.
func newTestProvider(t *testing.T, handle http.HandlerFunc) (*Provider, *providertest.Fake) {
	t.Helper()
	isolateAWS(t)
	f := providertest.NewFake(t, handle)
	p, err := New(context.Background(), provider.Config{Name: "bedrock", Kind: Kind, BaseURL: f.URL}, provider.Deps{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, f
}

// jsonAnswer answers with a status, an optional X-Amzn-ErrorType and a body.
func jsonAnswer(status int, errType, body string) http.HandlerFunc {
	header := map[string]string{"Content-Type": "application/json"}
	if errType != "" {
		header["X-Amzn-ErrorType"] = errType
	}
	return providertest.Respond(status, header, body)
}

// fakeEvent is one event-stream message of a fixture: an event, or an
// exception when Exception is set.
type fakeEvent struct {
	Event     string          `json:"event,omitempty"`
	Exception string          `json:"exception,omitempty"`
	Payload   json.RawMessage `json:"payload"`
}

// message is ev as an event-stream message.
func (ev fakeEvent) message() eventstream.Message {
	var msg eventstream.Message
	if ev.Exception != "" {
		msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
		msg.Headers.Set(":exception-type", eventstream.StringValue(ev.Exception))
	} else {
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		msg.Headers.Set(":event-type", eventstream.StringValue(ev.Event))
	}
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = ev.Payload
	return msg
}

func writeEvent(t *testing.T, w io.Writer, ev fakeEvent) {
	if err := eventstream.NewEncoder().Encode(w, ev.message()); err != nil {
		t.Errorf("encoding event: %v", err)
	}
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}

// streamAnswer sends events as a ConverseStream answer. With cut, the
// connection is then dropped instead of ended.
func streamAnswer(t *testing.T, events []fakeEvent, cut bool) http.HandlerFunc {
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.WriteHeader(http.StatusOK)
		for _, ev := range events {
			writeEvent(t, w, ev)
		}
	}
	if cut {
		return providertest.Cut(h)
	}
	return h
}

func ev(name, payload string) fakeEvent {
	return fakeEvent{Event: name, Payload: json.RawMessage(payload)}
}

func exception(name, payload string) fakeEvent {
	return fakeEvent{Exception: name, Payload: json.RawMessage(payload)}
}

// chatRequest decodes an OpenAI request body as the gateway would.
func chatRequest(t testing.TB, body string) *provider.ChatRequest {
	t.Helper()
	var r openai.ChatRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("bad test request: %v", err)
	}
	return &provider.ChatRequest{Model: testModel, Body: &r, Raw: []byte(body)}
}

// asGatewayError asserts err is an *openai.Error.
func asGatewayError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var ge *openai.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not an *openai.Error", err, err)
	}
	return ge
}

// assertNoSecret fails when the secret key shows up in an error.
func assertNoSecret(t *testing.T, e *openai.Error) {
	t.Helper()
	if strings.Contains(e.Error(), testSecretKey) || strings.Contains(string(e.JSON()), testSecretKey) {
		t.Errorf("the error leaks the secret key: %s", e.Error())
	}
}
