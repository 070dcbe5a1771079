package bedrock

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

const hiRequest = `{"model":"claude-sonnet","messages":[{"role":"user","content":"hi"}]}`

// TestUpstreamErrors checks the mapping of Bedrock's HTTP errors, for Chat
// and for ChatStream (which fails before any event), and that the SDK does
// not retry: the router does.
func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		errType   string
		body      string
		code      openai.Code
		httpCode  int
		retryable bool
		message   string // substring of the client's message
		hidden    string // must not reach the client
	}{
		{
			name: "a ValidationException keeps its 400 and its message", status: 400, errType: "ValidationException",
			body: `{"message":"The model returned the following errors: messages.0.content: field required"}`,
			code: openai.CodeInvalidRequest, httpCode: 400, message: "messages.0.content: field required",
		},
		{
			name: "a ThrottlingException becomes a retryable 429", status: 429, errType: "ThrottlingException",
			body: `{"message":"Too many requests, please wait before trying again."}`,
			code: openai.CodeRateLimited, httpCode: 429, retryable: true, message: "Too many requests",
		},
		{
			name: "a ServiceQuotaExceededException becomes a retryable 429", status: 400, errType: "ServiceQuotaExceededException",
			body: `{"message":"Too many tokens per day"}`,
			code: openai.CodeRateLimited, httpCode: 429, retryable: true, message: "Too many tokens per day",
		},
		{
			name: "a 500 with a plain-text body becomes a retryable 502", status: 500,
			body: "<html>Internal Server Error</html>",
			code: openai.CodeUpstreamError, httpCode: 502, retryable: true,
		},
		{
			name: "an InternalServerException becomes a retryable 502", status: 500, errType: "InternalServerException",
			body: `{"message":"internal failure"}`,
			code: openai.CodeUpstreamError, httpCode: 502, retryable: true, message: "internal failure",
		},
		{
			name: "a ServiceUnavailableException becomes a retryable 502", status: 503, errType: "ServiceUnavailableException",
			body: `{"message":"Service unavailable"}`,
			code: openai.CodeUpstreamError, httpCode: 502, retryable: true,
		},
		{
			name: "a ModelNotReadyException becomes a retryable 502", status: 429, errType: "ModelNotReadyException",
			body: `{"message":"Model is not ready"}`,
			code: openai.CodeUpstreamError, httpCode: 502, retryable: true,
		},
		{
			name: "a ModelTimeoutException becomes a retryable 504", status: 408, errType: "ModelTimeoutException",
			body: `{"message":"Model has timed out"}`,
			code: openai.CodeUpstreamTimeout, httpCode: 504, retryable: true,
		},
		{
			name: "a ResourceNotFoundException becomes a 404", status: 404, errType: "ResourceNotFoundException",
			body: `{"message":"Could not resolve the foundation model from the provided model identifier."}`,
			code: openai.CodeModelNotFound, httpCode: 404, message: "Could not resolve the foundation model",
		},
		{
			name: "an AccessDeniedException becomes an upstream auth error without the account details", status: 403, errType: "AccessDeniedException",
			body: `{"message":"User: arn:aws:iam::123456789012:user/gw is not authorized to perform: bedrock:InvokeModel"}`,
			code: openai.CodeUpstreamAuth, httpCode: 502, retryable: true, message: "refused the gateway's credentials", hidden: "123456789012",
		},
		{
			name: "an UnrecognizedClientException becomes an upstream auth error", status: 403, errType: "UnrecognizedClientException",
			body: `{"message":"The security token included in the request is invalid."}`,
			code: openai.CodeUpstreamAuth, httpCode: 502, retryable: true,
		},
		{
			name: "an unknown 4xx keeps its status and message", status: 409, errType: "SomethingNewException",
			body: `{"message":"a new kind of conflict"}`,
			code: openai.CodeInvalidRequest, httpCode: 409, message: "a new kind of conflict",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(t *testing.T, err error, f *providertest.Fake) {
				e := asGatewayError(t, err)
				if e.Code != tt.code || e.HTTPStatus() != tt.httpCode || e.Retryable != tt.retryable {
					t.Errorf("got code %s status %d retryable %v, want %s %d %v (%v)",
						e.Code, e.HTTPStatus(), e.Retryable, tt.code, tt.httpCode, tt.retryable, e)
				}
				if !strings.Contains(e.Message, tt.message) {
					t.Errorf("message %q does not contain %q", e.Message, tt.message)
				}
				if tt.hidden != "" && strings.Contains(string(e.JSON()), tt.hidden) {
					t.Errorf("message %q leaks %q", e.Message, tt.hidden)
				}
				if e.Provider != "bedrock" {
					t.Errorf("provider = %q, want bedrock", e.Provider)
				}
				assertNoSecret(t, e)
				if n := len(f.Requests()); n != 1 {
					t.Errorf("the fake got %d requests, want 1 (the SDK must not retry)", n)
				}
			}
			t.Run("chat", func(t *testing.T) {
				p, f := newTestProvider(t, jsonAnswer(tt.status, tt.errType, tt.body))
				_, err := p.Chat(context.Background(), chatRequest(t, hiRequest))
				check(t, err, f)
			})
			t.Run("stream", func(t *testing.T) {
				p, f := newTestProvider(t, jsonAnswer(tt.status, tt.errType, tt.body))
				s, err := p.ChatStream(context.Background(), chatRequest(t, hiRequest))
				if err == nil {
					s.Close()
					t.Fatal("ChatStream succeeded, want an error")
				}
				check(t, err, f)
			})
		})
	}
}

// TestUnreadableAnswersAreRetryable: a 200 whose body is not a Converse
// answer is a retryable 502 saying so.
func TestUnreadableAnswersAreRetryable(t *testing.T) {
	for _, tt := range []struct{ name, body string }{
		{"a body that is not JSON", "not json"},
		{"a JSON body without an output message", `{"output":{},"stopReason":"end_turn"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestProvider(t, jsonAnswer(200, "", tt.body))
			_, err := p.Chat(context.Background(), chatRequest(t, hiRequest))
			e := asGatewayError(t, err)
			if e.Code != openai.CodeUpstreamError || !e.Retryable || !strings.Contains(e.Message, "could not read") {
				t.Errorf("got %v (retryable %v), want a retryable unreadable-answer 502", e, e.Retryable)
			}
		})
	}
}

// TestDeadlineBecomesRetryableTimeout: a slow Bedrock cut by the attempt's
// deadline gives a retryable 504.
func TestDeadlineBecomesRetryableTimeout(t *testing.T) {
	p, _ := newTestProvider(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Chat(ctx, chatRequest(t, hiRequest))
	e := asGatewayError(t, err)
	if e.Code != openai.CodeUpstreamTimeout || !e.Retryable || e.HTTPStatus() != 504 {
		t.Errorf("got %v (status %d, retryable %v), want a retryable 504", e, e.HTTPStatus(), e.Retryable)
	}
}

// TestUnreachableBedrockIsRetryable: a refused connection is a retryable 502.
func TestUnreachableBedrockIsRetryable(t *testing.T) {
	p, f := newTestProvider(t, jsonAnswer(200, "", converseAnswer))
	f.Close()
	_, err := p.Chat(context.Background(), chatRequest(t, hiRequest))
	e := asGatewayError(t, err)
	if e.Code != openai.CodeUpstreamError || !e.Retryable || e.HTTPStatus() != 502 {
		t.Errorf("got %v (status %d, retryable %v), want a retryable 502", e, e.HTTPStatus(), e.Retryable)
	}
	assertNoSecret(t, e)
}

// TestMissingCredentialsAreAnAuthError: with no credentials anywhere in the
// chain, the call fails as an upstream auth error and never reaches Bedrock.
func TestMissingCredentialsAreAnAuthError(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	f := providertest.NewFake(t, jsonAnswer(200, "", converseAnswer))
	p, err := New(context.Background(), provider.Config{Name: "bedrock", BaseURL: f.URL}, provider.Deps{})
	if err != nil {
		t.Fatalf("New must not need credentials: %v", err)
	}
	_, err = p.Chat(context.Background(), chatRequest(t, hiRequest))
	e := asGatewayError(t, err)
	if e.Code != openai.CodeUpstreamAuth || e.HTTPStatus() != 502 {
		t.Errorf("got %v (status %d), want a 502 upstream auth error", e, e.HTTPStatus())
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("the fake got %d requests, want none", n)
	}
}
