package lambdafn_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/aigateway/gateway/internal/gateway"
	"github.com/aigateway/gateway/internal/lambdafn"
	"github.com/aigateway/gateway/internal/testutil"
)

func TestParseSecretAcceptsAnObjectOfStrings(t *testing.T) {
	vals, err := lambdafn.ParseSecret("s", `{"OPENAI_API_KEY":"sk-1","GEMINI_API_KEY":"g-2"}`)
	if err != nil {
		t.Fatal(err)
	}
	if vals["OPENAI_API_KEY"] != "sk-1" || vals["GEMINI_API_KEY"] != "g-2" || len(vals) != 2 {
		t.Fatalf("got %v", vals)
	}
	if vals, err := lambdafn.ParseSecret("s", ""); err != nil || len(vals) != 0 {
		t.Fatalf("an empty secret: %v, %v", vals, err)
	}
}

func TestParseSecretErrorsNeverEchoTheValue(t *testing.T) {
	for name, value := range map[string]string{
		"a plain key instead of JSON":  "sk-live-plaintext-value",
		"broken JSON":                  `{"OPENAI_API_KEY":"sk-live-broken-value"`,
		"a number value":               `{"OPENAI_API_KEY":12345678}`,
		"a JSON array":                 `["sk-live-array-value"]`,
		"JSON null":                    `null`,
		"a nested object":              `{"OPENAI_API_KEY":{"v":"sk-live-nested-value"}}`,
		"a string holding the key too": `"sk-live-string-value"`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := lambdafn.ParseSecret("arn:aws:secretsmanager:us-east-1:1:secret:gw", value)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "sk-live") || strings.Contains(msg, "12345678") {
				t.Fatalf("the error echoes the secret: %s", msg)
			}
			if !strings.Contains(msg, "secret:gw") {
				t.Fatalf("the error does not name the secret: %s", msg)
			}
		})
	}
}

type fakeSecrets struct {
	value *string
	err   error
	calls int
	id    string
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	f.id = *in.SecretId
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: f.value}, nil
}

func TestLoadSecretReadsTheNamedSecretOnce(t *testing.T) {
	v := `{"OPENAI_API_KEY":"sk-from-secret"}`
	f := &fakeSecrets{value: &v}
	vals, err := lambdafn.LoadSecret(context.Background(), f, "arn:gw")
	if err != nil {
		t.Fatal(err)
	}
	if f.calls != 1 || f.id != "arn:gw" || vals["OPENAI_API_KEY"] != "sk-from-secret" {
		t.Fatalf("calls %d, id %q, vals %v", f.calls, f.id, vals)
	}
	if _, err := lambdafn.LoadSecret(context.Background(), &fakeSecrets{}, "arn:gw"); err == nil ||
		!strings.Contains(err.Error(), "binary") {
		t.Fatalf("a binary secret: %v", err)
	}
	denied := errors.New("AccessDeniedException: not authorized")
	if _, err := lambdafn.LoadSecret(context.Background(), &fakeSecrets{err: denied}, "arn:gw"); !errors.Is(err, denied) ||
		!strings.Contains(err.Error(), "arn:gw") {
		t.Fatalf("a denied call: %v", err)
	}
}

func TestOverlayPrefersTheSecretOverTheEnvironment(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "from-env", "OPENAI_BASE_URL": "http://env"}
	get := lambdafn.Overlay(func(k string) string { return env[k] }, map[string]string{"OPENAI_API_KEY": "from-secret"})
	if get("OPENAI_API_KEY") != "from-secret" || get("OPENAI_BASE_URL") != "http://env" || get("NOPE") != "" {
		t.Fatalf("got %q %q %q", get("OPENAI_API_KEY"), get("OPENAI_BASE_URL"), get("NOPE"))
	}
}

func TestWithoutASecretARNNoAWSCallIsMade(t *testing.T) {
	// No region, no credentials, no endpoint: any AWS call would fail.
	env := map[string]string{"OPENAI_API_KEY": "k"}
	vals, err := lambdafn.ReadSecret(context.Background(), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil || vals != nil {
		t.Fatalf("vals %v, err %v", vals, err)
	}
}

// TestStreamSurvivesAPanicInLambdaurlsGoroutine runs the panic through the
// real Function URL adapter and the core's recovery as Lambda builds it:
// lambdaurl serves the handler on a goroutine of its own, where an
// unrecovered panic would end the process.
func TestStreamSurvivesAPanicInLambdaurlsGoroutine(t *testing.T) {
	h := lambdafn.Stream(gateway.Recover(testutil.SSEHandler(1, func(http.ResponseWriter) { panic(http.ErrAbortHandler) }), true, nil))
	resp, err := h(context.Background(), &events.LambdaFunctionURLRequest{
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: "x.lambda-url.us-east-1.on.aws",
			HTTP:       events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"},
		},
		RawPath: "/v1/chat/completions",
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasSuffix(string(body), `"code":"internal_error"}}`+"\n\ndata: [DONE]\n\n") {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// failingWriter is a client that went away after the headers.
type failingWriter struct{ *httptest.ResponseRecorder }

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestAFailedWriteCancelsTheRequestContext(t *testing.T) {
	cause := make(chan error, 1)
	h := lambdafn.ClientGone(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {}\n\n")
		select {
		case <-r.Context().Done():
			cause <- context.Cause(r.Context())
		case <-time.After(5 * time.Second):
			cause <- nil
		}
	}))
	h.ServeHTTP(failingWriter{httptest.NewRecorder()}, httptest.NewRequest(http.MethodPost, "/", nil))
	if err := <-cause; !errors.Is(err, lambdafn.ErrClientGone) || !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("cause %v, want ErrClientGone", err)
	}
}

func TestTheLambdaWrappersKeepFlushReachable(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the wrapped writer is not an http.Flusher")
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
	})
	lambdafn.ClientGone(gateway.Recover(h, true, nil)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
}
