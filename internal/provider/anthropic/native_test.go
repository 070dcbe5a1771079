package anthropic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// A client body with fields the chat translation does not know: the native
// call must carry every byte of it.
const nativeBody = `{"model":"claude-upstream-model","max_tokens":64,"top_k":5,"messages":[{"role":"user","content":[{"type":"text","text":"Hi","cache_control":{"type":"ephemeral"}}]}],"future_field":{"x":1}}`

func TestMessagesSendsTheBodyUnchangedAndReturnsTheAnswerUnchanged(t *testing.T) {
	answer := providertest.ReadFile(t, "testdata/responses/tool_use.json")
	p, up := fake(t, provider.Config{Name: "claude", Headers: map[string]provider.Secret{"anthropic-beta": "configured-beta"}},
		providertest.ServeFile(t, "testdata/responses/tool_use.json", "application/json"))
	resp, err := p.Messages(context.Background(), &NativeRequest{Body: []byte(nativeBody), Beta: "client-beta-1,client-beta-2"})
	if err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	if got.Path != "/v1/messages" || string(got.Body) != nativeBody {
		t.Errorf("upstream got %s %s", got.Path, got.Body)
	}
	checkHeaders(t, received(t, up), DefaultAPIVersion)
	if b := got.Header.Get("anthropic-beta"); b != "configured-beta,client-beta-1,client-beta-2" {
		t.Errorf("anthropic-beta = %q", b)
	}
	if !bytes.Equal(resp.Body, answer) || resp.ContentType != "application/json" {
		t.Errorf("answer changed: %s", resp.Body)
	}
}

func TestMessagesErrors(t *testing.T) {
	tests := []struct {
		name      string
		h         http.HandlerFunc
		code      openai.Code
		status    int
		retryable bool
	}{
		{"an upstream 400 keeps its status and message", providertest.JSON(400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}`),
			openai.CodeInvalidRequest, 400, false},
		{"an upstream 429 is retryable and keeps Retry-After", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			providertest.JSON(429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)(w, r)
		}, openai.CodeRateLimited, 429, true},
		{"an overloaded upstream is a retryable 502", providertest.JSON(529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`),
			openai.CodeUpstreamError, 502, true},
		{"a 2xx answer that is not a message is an upstream error", providertest.JSON(200, `{"type":"completion"}`),
			openai.CodeUpstreamError, 502, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := fake(t, provider.Config{Name: "claude"}, tt.h)
			_, err := p.Messages(context.Background(), &NativeRequest{Body: []byte(nativeBody)})
			var e *openai.Error
			if !errors.As(err, &e) || e.Code != tt.code || e.HTTPStatus() != tt.status || e.Retryable != tt.retryable {
				t.Fatalf("err = %#v", err)
			}
			if tt.status == 429 && e.RetryAfter != 7*time.Second {
				t.Errorf("Retry-After = %s", e.RetryAfter)
			}
		})
	}
}

func TestCountTokensCallsTheCountEndpoint(t *testing.T) {
	p, up := fake(t, provider.Config{Name: "claude"}, providertest.JSON(200, `{"input_tokens":42}`))
	resp, err := p.CountTokens(context.Background(), &NativeRequest{Body: []byte(`{"model":"m","messages":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := up.Last(t); got.Path != "/v1/messages/count_tokens" || string(got.Body) != `{"model":"m","messages":[]}` {
		t.Errorf("upstream got %s %s", got.Path, got.Body)
	}
	if string(resp.Body) != `{"input_tokens":42}` {
		t.Errorf("answer %s", resp.Body)
	}
	p, _ = fake(t, provider.Config{Name: "claude"}, providertest.JSON(200, `{"tokens":42}`))
	if _, err := p.CountTokens(context.Background(), &NativeRequest{Body: []byte(`{}`)}); err == nil {
		t.Error("an answer without input_tokens was accepted")
	}
}

// readAll reads every frame of s until its end.
func readAll(t *testing.T, s *NativeStream) (frames []Frame, err error) {
	t.Helper()
	for {
		f, err := s.Next()
		if err != nil {
			return frames, err
		}
		frames = append(frames, f)
	}
}

func TestMessagesStreamRelaysEveryByteAndEndsAtMessageStop(t *testing.T) {
	sse := providertest.ReadFile(t, "testdata/stream/text_and_tools.sse")
	// A comment and \r\n line ends, which some proxies add, are kept too.
	withExtras := append([]byte(": keep-alive\n\n"), bytes.ReplaceAll(sse, []byte("event: ping\n"), []byte("event: ping\r\n"))...)
	for name, body := range map[string][]byte{"Anthropic's stream": sse, "with a comment and CRLF": withExtras} {
		t.Run(name, func(t *testing.T) {
			p, up := fake(t, provider.Config{Name: "claude"}, providertest.SSE(string(body)))
			s, err := p.MessagesStream(context.Background(), &NativeRequest{Body: []byte(strings.Replace(nativeBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if a := up.Last(t).Header.Get("Accept"); a != "text/event-stream" {
				t.Errorf("Accept = %q", a)
			}
			frames, err := readAll(t, s)
			if err != io.EOF {
				t.Fatalf("end = %v, want io.EOF after message_stop", err)
			}
			var relayed []byte
			for _, f := range frames {
				relayed = append(relayed, f.Raw...)
			}
			if !bytes.Equal(relayed, body) {
				t.Errorf("relayed bytes differ:\n%s\nwant:\n%s", relayed, body)
			}
			first, last := frames[0], frames[len(frames)-1]
			if name == "Anthropic's stream" && (first.Event != "message_start" || !bytes.HasPrefix(first.Data, []byte(`{"type":"message_start"`))) {
				t.Errorf("first frame %q %s", first.Event, first.Data)
			}
			if last.Event != "message_stop" || last.Err != nil {
				t.Errorf("last frame %q", last.Event)
			}
		})
	}
}

func TestMessagesStreamReportsACutAndAnErrorEvent(t *testing.T) {
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"
	t.Run("a body that ends before message_stop is a cut", func(t *testing.T) {
		p, _ := fake(t, provider.Config{Name: "claude"}, providertest.SSE(start))
		s, err := p.MessagesStream(context.Background(), &NativeRequest{Body: []byte(nativeBody)})
		if err != nil {
			t.Fatal(err)
		}
		frames, err := readAll(t, s)
		var e *openai.Error
		if len(frames) != 1 || !errors.As(err, &e) || !e.Retryable || !strings.Contains(e.Message, "cut") {
			t.Fatalf("%d frames, err %v", len(frames), err)
		}
	})
	t.Run("a body that ends inside an event is a cut", func(t *testing.T) {
		p, _ := fake(t, provider.Config{Name: "claude"}, providertest.SSE(start+"event: content_block_delta\ndata: {\"type\":\"content_bl"))
		s, _ := p.MessagesStream(context.Background(), &NativeRequest{Body: []byte(nativeBody)})
		if frames, err := readAll(t, s); len(frames) != 1 || err == nil || err == io.EOF {
			t.Fatalf("%d frames, err %v", len(frames), err)
		}
	})
	t.Run("an error event is a frame with Err, redacted of the key", func(t *testing.T) {
		errEvent := "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded for " + testKey + "\"}}\n\n"
		p, _ := fake(t, provider.Config{Name: "claude"}, providertest.SSE(start+errEvent))
		s, _ := p.MessagesStream(context.Background(), &NativeRequest{Body: []byte(nativeBody)})
		frames, _ := readAll(t, s)
		if len(frames) != 2 {
			t.Fatalf("%d frames", len(frames))
		}
		f := frames[1]
		if f.Event != "error" || f.Err == nil || !f.Err.Retryable || !strings.Contains(f.Err.Message, "Overloaded") {
			t.Fatalf("frame %+v", f)
		}
		if strings.Contains(string(f.Raw), testKey) || strings.Contains(f.Err.Message, testKey) ||
			!strings.Contains(string(f.Raw), `"type":"overloaded_error"`) {
			t.Errorf("error frame %s / %s", f.Raw, f.Err.Message)
		}
	})
	t.Run("an upstream that refuses before the stream is an error from MessagesStream", func(t *testing.T) {
		p, _ := fake(t, provider.Config{Name: "claude"}, providertest.JSON(404, `{"type":"error","error":{"type":"not_found_error","message":"model: nope"}}`))
		_, err := p.MessagesStream(context.Background(), &NativeRequest{Body: []byte(nativeBody)})
		var e *openai.Error
		if !errors.As(err, &e) || e.HTTPStatus() != 404 || e.Message != "model: nope" {
			t.Fatalf("err = %v", err)
		}
	})
}
