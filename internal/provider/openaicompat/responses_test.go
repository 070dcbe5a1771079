package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

func TestOnlyOpenAIAndAzureServeTheResponsesAPI(t *testing.T) {
	for kind, want := range map[string]bool{"openai": true, "azure": true, "groq": false, "custom": false, "ollama": false} {
		base := "https://upstream.example"
		if got := newProvider(t, kind, base, nil).ServesResponses(); got != want {
			t.Errorf("%s: ServesResponses = %v, want %v", kind, got, want)
		}
	}
}

func TestResponsesPostsTheBodyWithOnlyTheModelPatched(t *testing.T) {
	up := providertest.NewFake(t, providertest.ServeFile(t, "testdata/responses_response.json", "application/json"))
	p := newProvider(t, "openai", up.URL+"/v1", nil)
	raw := `{"model":"my-alias","input":"hi","tools":[{"type":"web_search"}],"future_param":{"x":[1,2]},"stream":true}`
	resp, err := p.Responses(context.Background(), &provider.RawRequest{Model: "gpt-4.1", Body: []byte(raw)})
	if err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	if got.Path != "/v1/responses" || got.Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("path %q, Authorization %q", got.Path, got.Header.Get("Authorization"))
	}
	want := `{"model":"gpt-4.1","input":"hi","tools":[{"type":"web_search"}],"future_param":{"x":[1,2]},"stream":false}`
	if string(got.Body) != want {
		t.Errorf("sent  %s\nwant %s", got.Body, want)
	}
	body, _ := os.ReadFile("testdata/responses_response.json")
	if !bytes.Equal(resp.Body, body) {
		t.Error("the response object was not relayed byte for byte")
	}
	u := resp.Usage
	if u.PromptTokens != 12 || u.CompletionTokens != 3 || u.TotalTokens != 15 || u.CachedTokens() != 4 ||
		u.CompletionTokensDetails == nil || u.CompletionTokensDetails.ReasoningTokens != 1 {
		t.Errorf("usage = %+v", u)
	}
}

func TestAzureResponsesUseTheV1PathAndTheDeploymentAsTheModel(t *testing.T) {
	up := providertest.NewFake(t, providertest.ServeFile(t, "testdata/responses_response.json", "application/json"))
	p := newProvider(t, "azure", up.URL, func(c *provider.Config) { c.Deployments = map[string]string{"gpt-4.1": "my-gpt41"} })
	if _, err := p.Responses(context.Background(), &provider.RawRequest{Model: "gpt-4.1", Body: []byte(`{"model":"x","input":"hi"}`)}); err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	if got.Path != "/openai/v1/responses" || got.Header.Get("api-key") != testKey || got.Header.Get("Authorization") != "" {
		t.Errorf("path %q, api-key %q, Authorization %q", got.Path, got.Header.Get("api-key"), got.Header.Get("Authorization"))
	}
	if string(got.Body) != `{"model":"my-gpt41","input":"hi"}` {
		t.Errorf("sent %s", got.Body)
	}
}

func TestResponsesStreamRelaysEveryEventAndEndsAfterCompleted(t *testing.T) {
	up := providertest.NewFake(t, providertest.ServeFile(t, "testdata/responses_stream.sse", "text/event-stream"))
	p := newProvider(t, "openai", up.URL+"/v1", nil)
	s, err := p.ResponsesStream(context.Background(), &provider.RawRequest{Model: "gpt-4.1", Body: []byte(`{"model":"a","input":"hi"}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks, err := providertest.Drain(t, s)
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want a clean end", err)
	}
	if got := up.Last(t); string(got.Body) != `{"model":"gpt-4.1","input":"hi","stream":true}` || got.Header.Get("Accept") != "text/event-stream" {
		t.Errorf("sent %s (Accept %q)", got.Body, got.Header.Get("Accept"))
	}
	fixture, _ := os.ReadFile("testdata/responses_stream.sse")
	var want []string
	for _, line := range strings.Split(string(fixture), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			want = append(want, d)
		}
	}
	if len(chunks) != len(want) {
		t.Fatalf("got %d chunks, want the %d events", len(chunks), len(want))
	}
	for i, c := range chunks {
		if string(c.Data) != want[i] {
			t.Errorf("chunk %d = %s, want %s", i, c.Data, want[i])
		}
		if (c.Usage != nil) != (i == len(chunks)-1) {
			t.Errorf("chunk %d usage = %+v: only response.completed carries it", i, c.Usage)
		}
	}
	if u := chunks[len(chunks)-1].Usage; u.PromptTokens != 12 || u.CompletionTokens != 3 || u.CachedTokens() != 4 {
		t.Errorf("usage = %+v", u)
	}
}

func TestResponsesStreamFailures(t *testing.T) {
	created := "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n"
	for _, tt := range []struct {
		name    string
		handler func(t *testing.T) *providertest.Fake
		want    string
	}{
		{"an error event", func(t *testing.T) *providertest.Fake {
			return providertest.NewFake(t, providertest.SSE(created+"event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"the model overloaded\",\"param\":null,\"sequence_number\":1}\n\n"))
		}, "the model overloaded"},
		{"a cut stream", func(t *testing.T) *providertest.Fake {
			return providertest.NewFake(t, providertest.Cut(providertest.SSE(created)))
		}, "cut"},
		{"a stream that ends without response.completed", func(t *testing.T) *providertest.Fake {
			return providertest.NewFake(t, providertest.SSE(created))
		}, "closed the stream before its end event"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, "openai", tt.handler(t).URL+"/v1", nil)
			s, err := p.ResponsesStream(context.Background(), &provider.RawRequest{Model: "m", Body: []byte(`{"model":"m","input":"hi"}`)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			chunks, err := providertest.Drain(t, s)
			if len(chunks) != 1 {
				t.Errorf("got %d chunks before the failure, want response.created", len(chunks))
			}
			var e *openai.Error
			if !errors.As(err, &e) || !e.Retryable || !strings.Contains(e.Message, tt.want) {
				t.Fatalf("err = %v, want a retryable error saying %q", err, tt.want)
			}
		})
	}
}

func TestResponsesErrorsKeepTheUpstreamStatusAndMessage(t *testing.T) {
	up := providertest.NewFake(t, providertest.JSON(400, `{"error":{"message":"Unsupported parameter: 'foo'.","type":"invalid_request_error","param":"foo","code":"unsupported_parameter"}}`))
	p := newProvider(t, "openai", up.URL+"/v1", nil)
	for _, stream := range []bool{false, true} {
		req := &provider.RawRequest{Model: "m", Body: []byte(`{"model":"m","input":"hi","foo":1}`)}
		var err error
		if stream {
			_, err = p.ResponsesStream(context.Background(), req)
		} else {
			_, err = p.Responses(context.Background(), req)
		}
		var e *openai.Error
		if !errors.As(err, &e) || e.HTTPStatus() != 400 || e.Message != "Unsupported parameter: 'foo'." || e.Retryable {
			t.Errorf("stream=%v: err = %#v", stream, err)
		}
	}
}

func TestResponsesRefusesAnUnreadableAnswer(t *testing.T) {
	up := providertest.NewFake(t, providertest.Respond(200, map[string]string{"Content-Type": "application/json"}, "not json"))
	p := newProvider(t, "openai", up.URL+"/v1", nil)
	_, err := p.Responses(context.Background(), &provider.RawRequest{Model: "m", Body: []byte(`{"model":"m","input":"hi"}`)})
	var e *openai.Error
	if !errors.As(err, &e) || e.Code != openai.CodeUpstreamError {
		t.Fatalf("err = %v", err)
	}
	var v json.RawMessage
	if json.Unmarshal(e.JSON(), &v) != nil {
		t.Error("the error is not JSON")
	}
}
