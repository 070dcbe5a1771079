package gemini

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// fakeUpstream is a fake Gemini or Vertex API.
type fakeUpstream struct{ *providertest.Fake }

func newUpstream(t *testing.T, h http.HandlerFunc) *fakeUpstream {
	t.Helper()
	return &fakeUpstream{providertest.NewFake(t, h)}
}

func (f *fakeUpstream) provider(t *testing.T, kind string) *Provider {
	return newTestProvider(t, provider.Config{Kind: kind, BaseURL: f.URL + "/"})
}

// sseReply writes events one by one, flushing after each.
func sseReply(events ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			io.WriteString(w, "data: "+e+"\r\n\r\n")
			w.(http.Flusher).Flush()
		}
	}
}

const (
	textAnswer   = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello there"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}`
	streamFirst  = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]},"index":0}],"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3}}`
	streamSecond = `{"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"index":0}],"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3}}`
	streamLast   = `{"candidates":[{"content":{"role":"model","parts":[{"text":"!"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}`
)

func chatReq(t *testing.T, model string) *provider.ChatRequest {
	return &provider.ChatRequest{Model: model, Body: chatRequest(t, `{"model":"client-name","messages":[{"role":"user","content":"Hi"}]}`)}
}

func TestEachKindCallsItsURLWithItsCredential(t *testing.T) {
	cases := []struct {
		name, kind, path, query, authHeader, authValue string
		call                                           func(p *Provider) error
		reply                                          http.HandlerFunc
	}{
		{"gemini chat posts generateContent with x-goog-api-key", KindGemini,
			"/v1beta/models/gemini-2.5-flash:generateContent", "", "x-goog-api-key", testKey,
			func(p *Provider) error {
				_, err := p.Chat(context.Background(), chatReq(t, "gemini-2.5-flash"))
				return err
			},
			providertest.JSON(200, textAnswer)},
		{"gemini stream posts streamGenerateContent with alt=sse", KindGemini,
			"/v1beta/models/gemini-2.5-flash:streamGenerateContent", "alt=sse", "x-goog-api-key", testKey,
			func(p *Provider) error {
				s, err := p.ChatStream(context.Background(), chatReq(t, "gemini-2.5-flash"))
				return providertest.StreamErr(t, s, err)
			},
			sseReply(streamLast)},
		{"gemini embeddings post batchEmbedContents", KindGemini,
			"/v1beta/models/text-embedding-004:batchEmbedContents", "", "x-goog-api-key", testKey,
			func(p *Provider) error {
				_, err := p.Embeddings(context.Background(), embedReq(t, "text-embedding-004", `"hi"`, ""))
				return err
			},
			providertest.JSON(200, `{"embeddings":[{"values":[0.5]}]}`)},
		{"a tuned AI Studio model keeps its resource name", KindGemini,
			"/v1beta/tunedModels/my-tune:generateContent", "", "x-goog-api-key", testKey,
			func(p *Provider) error {
				_, err := p.Chat(context.Background(), chatReq(t, "tunedModels/my-tune"))
				return err
			},
			providertest.JSON(200, textAnswer)},
		{"vertex chat posts the publisher model with a bearer token", KindVertex,
			"/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent", "", "Authorization", "Bearer " + testKey,
			func(p *Provider) error {
				_, err := p.Chat(context.Background(), chatReq(t, "gemini-2.5-pro"))
				return err
			},
			providertest.JSON(200, textAnswer)},
		{"vertex stream posts streamGenerateContent with alt=sse", KindVertex,
			"/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent", "alt=sse", "Authorization", "Bearer " + testKey,
			func(p *Provider) error {
				s, err := p.ChatStream(context.Background(), chatReq(t, "gemini-2.5-pro"))
				return providertest.StreamErr(t, s, err)
			},
			sseReply(streamLast)},
		{"vertex embeddings post predict", KindVertex,
			"/v1/projects/my-project/locations/us-central1/publishers/google/models/text-embedding-005:predict", "", "Authorization", "Bearer " + testKey,
			func(p *Provider) error {
				_, err := p.Embeddings(context.Background(), embedReq(t, "text-embedding-005", `"hi"`, ""))
				return err
			},
			providertest.JSON(200, `{"predictions":[{"embeddings":{"values":[0.5],"statistics":{"token_count":1}}}]}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, tc.reply)
			if err := tc.call(up.provider(t, tc.kind)); err != nil {
				t.Fatalf("call failed: %v", err)
			}
			reqs := up.Requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != tc.path || r.Query != tc.query {
				t.Errorf("got %s %s?%s, want POST %s?%s", r.Method, r.Path, r.Query, tc.path, tc.query)
			}
			if got := r.Header.Get(tc.authHeader); got != tc.authValue {
				t.Errorf("%s = %q, want %q", tc.authHeader, got, tc.authValue)
			}
			other := map[string]string{KindGemini: "Authorization", KindVertex: "x-goog-api-key"}[tc.kind]
			if r.Header.Get(other) != "" {
				t.Errorf("the key was also sent in %s", other)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !json.Valid(r.Body) {
				t.Errorf("body is not JSON: %s", r.Body)
			}
		})
	}
}

func TestChatSendsTheTranslatedRequestAndReturnsTheOpenAIAnswer(t *testing.T) {
	up := newUpstream(t, providertest.JSON(200, textAnswer))
	p := up.provider(t, KindGemini)
	resp, err := p.Chat(context.Background(), chatReq(t, "gemini-2.5-flash"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(up.Requests()[0].Body); got != `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}` {
		t.Errorf("upstream body = %s", got)
	}
	var cc openai.ChatCompletion
	if err := json.Unmarshal(resp.Body, &cc); err != nil {
		t.Fatal(err)
	}
	if len(cc.Choices) != 1 || *cc.Choices[0].Message.Content != "Hello there" || cc.Choices[0].FinishReason != "stop" {
		t.Errorf("answer = %s", resp.Body)
	}
	if cc.Model != "gemini-2.5-flash" || cc.Object != "chat.completion" {
		t.Errorf("model %q object %q", cc.Model, cc.Object)
	}
	if resp.Usage.PromptTokens != 3 || resp.Usage.CompletionTokens != 2 || resp.Usage.TotalTokens != 5 {
		t.Errorf("usage = %+v", resp.Usage)
	}
}

func TestABlockedPromptIsAContentFilterError(t *testing.T) {
	blocked := `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH"}]},"usageMetadata":{"promptTokenCount":5,"totalTokenCount":5}}`
	t.Run("in a chat", func(t *testing.T) {
		up := newUpstream(t, providertest.JSON(200, blocked))
		_, err := up.provider(t, KindGemini).Chat(context.Background(), chatReq(t, "m"))
		assertContentFilter(t, err)
	})
	t.Run("in a stream, before the first chunk", func(t *testing.T) {
		up := newUpstream(t, sseReply(blocked))
		_, err := up.provider(t, KindGemini).ChatStream(context.Background(), chatReq(t, "m"))
		assertContentFilter(t, err)
	})
}

func assertContentFilter(t *testing.T, err error) {
	t.Helper()
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.Code != openai.CodeContentFilter || oe.HTTPStatus() != 400 || oe.Retryable {
		t.Fatalf("err = %v, want a non-retryable 400 content_filter", err)
	}
	if !strings.Contains(oe.Message, "SAFETY") {
		t.Errorf("message %q does not give the block reason", oe.Message)
	}
}

func TestAFullStreamYieldsRoleTextFinishThenOneUsageChunkThenEOF(t *testing.T) {
	up := newUpstream(t, sseReply(streamFirst, streamSecond, streamLast))
	s, err := up.provider(t, KindGemini).ChatStream(context.Background(), chatReq(t, "m"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks, err := providertest.Drain(t, s)
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want a clean end", err)
	}
	assertOneUsageChunkLast(t, chunks)
	var text strings.Builder
	var finish []string
	for _, c := range chunks {
		var cc openai.ChatCompletionChunk
		if err := json.Unmarshal(c.Data, &cc); err != nil {
			t.Fatal(err)
		}
		for _, ch := range cc.Choices {
			if ch.Delta.Content != nil {
				text.WriteString(*ch.Delta.Content)
			}
			if ch.FinishReason != nil {
				finish = append(finish, *ch.FinishReason)
			}
		}
	}
	if text.String() != "Hello!" || len(finish) != 1 || finish[0] != "stop" {
		t.Errorf("text %q finish %v", text.String(), finish)
	}
	if u := chunks[len(chunks)-1].Usage; u.PromptTokens != 3 || u.CompletionTokens != 2 || u.TotalTokens != 5 {
		t.Errorf("usage = %+v, want the last usageMetadata", u)
	}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the end = %v, want io.EOF again", err)
	}
}

func TestStreamsThatStopEarlyAreRetryableErrorsNotEOF(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"a connection cut mid-way", providertest.Cut(sseReply(streamFirst, streamSecond)), "cut"},
		{"a body that ends cleanly without a finish reason", sseReply(streamFirst, streamSecond), "before a finish reason"},
		{"an error event mid-stream", sseReply(streamFirst, `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`), "The model is overloaded."},
		{"an event that is not JSON", sseReply(streamFirst, `{"candidates":[`), "could not read"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, tc.handler)
			s, err := up.provider(t, KindGemini).ChatStream(context.Background(), chatReq(t, "m"))
			if err != nil {
				t.Fatalf("ChatStream failed before the first chunk: %v", err)
			}
			defer s.Close()
			chunks, err := providertest.Drain(t, s)
			if len(chunks) == 0 {
				t.Errorf("no chunk before the failure")
			}
			for _, c := range chunks {
				if c.Usage != nil {
					t.Errorf("a usage chunk was sent by a stream that failed")
				}
			}
			var oe *openai.Error
			if !errors.As(err, &oe) || !oe.Retryable || oe.HTTPStatus() != http.StatusBadGateway {
				t.Fatalf("err = %v, want a retryable 502", err)
			}
			if !strings.Contains(oe.Message, tc.want) {
				t.Errorf("message %q does not mention %q", oe.Message, tc.want)
			}
			if _, again := s.Next(); again != err {
				t.Errorf("Next after the failure = %v, want the same error", again)
			}
		})
	}
}

func TestAStreamWhoseBodyIsEmptyFailsBeforeTheFirstChunk(t *testing.T) {
	up := newUpstream(t, sseReply())
	_, err := up.provider(t, KindVertex).ChatStream(context.Background(), chatReq(t, "m"))
	var oe *openai.Error
	if !errors.As(err, &oe) || !oe.Retryable {
		t.Fatalf("err = %v, want a retryable error from ChatStream", err)
	}
}

func TestUpstreamErrorsMapToGatewayErrorsWithoutTheKey(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		want      int
		code      openai.Code
		retryable bool
		message   string
	}{
		{"a JSON 400 keeps its status and Google's message", 400, nil,
			`{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified","status":"INVALID_ARGUMENT"}}`,
			400, openai.CodeInvalidRequest, false, "contents is not specified"},
		{"an error wrapped in an array is read too", 400, nil,
			`[{"error":{"code":400,"message":"Invalid value at 'generation_config.temperature'","status":"INVALID_ARGUMENT"}}]`,
			400, openai.CodeInvalidRequest, false, "generation_config.temperature"},
		{"an unknown model is a 404", 404, nil,
			`{"error":{"code":404,"message":"models/nope is not found for API version v1beta","status":"NOT_FOUND"}}`,
			404, openai.CodeModelNotFound, false, "models/nope is not found"},
		{"a 429 keeps Retry-After", 429, map[string]string{"Retry-After": "7"},
			`{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`,
			429, openai.CodeRateLimited, true, "Resource has been exhausted"},
		{"a 500 is a retryable 502", 500, nil,
			`{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`,
			502, openai.CodeUpstreamError, true, "An internal error has occurred."},
		{"a plain-text 503 becomes the message", 503, map[string]string{"Content-Type": "text/plain"},
			"upstream connect error or disconnect/reset before headers",
			502, openai.CodeUpstreamError, true, "upstream connect error"},
		{"a 401 is the gateway's credentials failing", 401, nil,
			`{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`,
			502, openai.CodeUpstreamAuth, true, "refused the gateway's credentials"},
		{"a 403 is the gateway's credentials failing", 403, nil,
			`{"error":{"code":403,"message":"Permission denied on resource project my-project.","status":"PERMISSION_DENIED"}}`,
			502, openai.CodeUpstreamAuth, true, "refused the gateway's credentials"},
		{"AI Studio's 400 for a bad key is a credentials failure, not the client's", 400, nil,
			`{"error":{"code":400,"message":"API key not valid. Please pass a valid API key. (` + testKey + `)","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`,
			502, openai.CodeUpstreamAuth, true, "refused the gateway's credentials"},
		{"a message that echoes the key is redacted", 400, nil,
			`{"error":{"code":400,"message":"bad request for key ` + testKey + `","status":"INVALID_ARGUMENT"}}`,
			400, openai.CodeInvalidRequest, false, "bad request for key [REDACTED]"},
		{"a plain-text body that echoes the key is redacted", 502, map[string]string{"Content-Type": "text/plain"},
			"bad gateway for key=" + testKey,
			502, openai.CodeUpstreamError, true, "bad gateway for key=[REDACTED]"},
	}
	calls := map[string]func(p *Provider) error{
		"chat": func(p *Provider) error { _, err := p.Chat(context.Background(), chatReq(t, "m")); return err },
		"stream": func(p *Provider) error {
			_, err := p.ChatStream(context.Background(), chatReq(t, "m"))
			return err
		},
		"embeddings": func(p *Provider) error {
			_, err := p.Embeddings(context.Background(), embedReq(t, "e", `"x"`, ""))
			return err
		},
	}
	for _, tc := range cases {
		for callName, call := range calls {
			t.Run(tc.name+" ("+callName+")", func(t *testing.T) {
				up := newUpstream(t, providertest.Respond(tc.status, tc.header, tc.body))
				err := call(up.provider(t, KindGemini))
				var oe *openai.Error
				if !errors.As(err, &oe) {
					t.Fatalf("err = %v, want *openai.Error", err)
				}
				if oe.HTTPStatus() != tc.want || oe.Code != tc.code || oe.Retryable != tc.retryable {
					t.Errorf("got %d %s retryable=%v, want %d %s retryable=%v (%s)",
						oe.HTTPStatus(), oe.Code, oe.Retryable, tc.want, tc.code, tc.retryable, oe.Message)
				}
				if !strings.Contains(oe.Message, tc.message) {
					t.Errorf("message %q does not contain %q", oe.Message, tc.message)
				}
				if tc.status == 429 && oe.RetryAfter != 7*time.Second {
					t.Errorf("RetryAfter = %v, want 7s", oe.RetryAfter)
				}
				for _, s := range []string{oe.Error(), string(oe.JSON())} {
					if strings.Contains(s, testKey) {
						t.Errorf("the key leaked into %q", s)
					}
				}
			})
		}
	}
}

func TestAnUnreachableUpstreamIsARetryableErrorWithoutTheKey(t *testing.T) {
	up := newUpstream(t, providertest.JSON(200, "{}"))
	p := up.provider(t, KindGemini)
	up.Close()
	_, err := p.Chat(context.Background(), chatReq(t, "m"))
	var oe *openai.Error
	if !errors.As(err, &oe) || !oe.Retryable || strings.Contains(oe.Error(), testKey) {
		t.Fatalf("err = %v, want a retryable error without the key", err)
	}
}

func TestAnUnreadableAnswerIsARetryable502(t *testing.T) {
	up := newUpstream(t, providertest.JSON(200, `<html>oops</html>`))
	_, err := up.provider(t, KindGemini).Chat(context.Background(), chatReq(t, "m"))
	var oe *openai.Error
	if !errors.As(err, &oe) || !oe.Retryable || oe.HTTPStatus() != 502 {
		t.Fatalf("err = %v, want a retryable 502", err)
	}
}

func embedReq(t *testing.T, model, input, format string) *provider.EmbeddingsRequest {
	t.Helper()
	body := `{"model":"client","input":` + input + `,"dimensions":3`
	if format != "" {
		body += `,"encoding_format":"` + format + `"`
	}
	var r openai.EmbeddingsRequest
	if err := json.Unmarshal([]byte(body+`}`), &r); err != nil {
		t.Fatal(err)
	}
	return &provider.EmbeddingsRequest{Model: model, Body: &r}
}

func TestGeminiEmbeddingsRoundTripWithZeroUsage(t *testing.T) {
	up := newUpstream(t, providertest.JSON(200, `{"embeddings":[{"values":[0.1,0.2,0.3]},{"values":[0.4,0.5,0.6]}]}`))
	resp, err := up.provider(t, KindGemini).Embeddings(context.Background(), embedReq(t, "gemini-embedding-001", `["first","second"]`, ""))
	if err != nil {
		t.Fatal(err)
	}
	wantReq := `{"requests":[` +
		`{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"first"}]},"outputDimensionality":3},` +
		`{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"second"}]},"outputDimensionality":3}]}`
	if got := string(up.Requests()[0].Body); got != wantReq {
		t.Errorf("upstream body =\n%s\nwant\n%s", got, wantReq)
	}
	want := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2,0.3]},{"object":"embedding","index":1,"embedding":[0.4,0.5,0.6]}],"model":"gemini-embedding-001","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`
	if string(resp.Body) != want {
		t.Errorf("body =\n%s\nwant\n%s", resp.Body, want)
	}
	if resp.Usage != (openai.Usage{}) {
		t.Errorf("usage = %+v, want zero (Gemini reports none)", resp.Usage)
	}
}

func TestVertexEmbeddingsSumTheReportedTokenCounts(t *testing.T) {
	up := newUpstream(t, providertest.JSON(200, `{"predictions":[{"embeddings":{"values":[1,2,3],"statistics":{"token_count":4,"truncated":false}}},{"embeddings":{"values":[4,5,6],"statistics":{"token_count":6,"truncated":false}}}]}`))
	resp, err := up.provider(t, KindVertex).Embeddings(context.Background(), embedReq(t, "text-embedding-005", `["a","b"]`, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(up.Requests()[0].Body); got != `{"instances":[{"content":"a"},{"content":"b"}],"parameters":{"outputDimensionality":3}}` {
		t.Errorf("upstream body = %s", got)
	}
	if resp.Usage.PromptTokens != 10 || resp.Usage.TotalTokens != 10 {
		t.Errorf("usage = %+v, want 10 prompt tokens", resp.Usage)
	}
}

func TestBase64EmbeddingsAreLittleEndianFloat32(t *testing.T) {
	up := newUpstream(t, providertest.JSON(200, `{"embeddings":[{"values":[0.5,-1.25]}]}`))
	resp, err := up.provider(t, KindGemini).Embeddings(context.Background(), embedReq(t, "e", `"x"`, "base64"))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || len(out.Data) != 1 {
		t.Fatalf("body = %s (%v)", resp.Body, err)
	}
	raw, err := base64.StdEncoding.DecodeString(out.Data[0].Embedding)
	if err != nil || len(raw) != 8 {
		t.Fatalf("embedding %q is not 2 base64 float32s", out.Data[0].Embedding)
	}
	for i, want := range []float32{0.5, -1.25} {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != want {
			t.Errorf("value %d = %v, want %v", i, got, want)
		}
	}
}

func TestLargeEmbeddingInputsAreSentInBatches(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		var req batchEmbedRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		var out batchEmbedResponse
		out.Embeddings = make([]struct {
			Values []float64 `json:"values"`
		}, len(req.Requests))
		for i := range out.Embeddings {
			out.Embeddings[i].Values = []float64{float64(i)}
		}
		json.NewEncoder(w).Encode(out)
	})
	inputs := make([]string, 150)
	for i := range inputs {
		inputs[i] = `"x"`
	}
	resp, err := up.provider(t, KindGemini).Embeddings(context.Background(), embedReq(t, "e", "["+strings.Join(inputs, ",")+"]", ""))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(up.Requests()); n != 2 {
		t.Errorf("upstream got %d requests, want 2 batches", n)
	}
	var out openai.EmbeddingsResponse
	_ = json.Unmarshal(resp.Body, &out)
	if len(out.Data) != 150 || out.Data[149].Index != 149 || out.Data[149].Embedding[0] != 49 {
		t.Errorf("got %d embeddings; the last is %+v", len(out.Data), out.Data[len(out.Data)-1])
	}
}

func TestEmbeddingsRejectWhatGeminiCannotTake(t *testing.T) {
	p := newTestProvider(t, provider.Config{Kind: KindGemini})
	cases := []struct{ name, input, format, param string }{
		{"token arrays", `[1,2,3]`, "", "input"},
		{"an empty list", `[]`, "", "input"},
		{"an unknown encoding", `"x"`, "int8", "encoding_format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Embeddings(context.Background(), embedReq(t, "e", tc.input, tc.format))
			var oe *openai.Error
			if !errors.As(err, &oe) || oe.HTTPStatus() != 400 || oe.Param != tc.param {
				t.Fatalf("err = %v, want a 400 on %s", err, tc.param)
			}
		})
	}
}

func TestAMismatchedEmbeddingCountIsABadUpstreamAnswer(t *testing.T) {
	up := newUpstream(t, providertest.JSON(200, `{"embeddings":[{"values":[1]}]}`))
	_, err := up.provider(t, KindGemini).Embeddings(context.Background(), embedReq(t, "e", `["a","b"]`, ""))
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.HTTPStatus() != 502 {
		t.Fatalf("err = %v, want a 502", err)
	}
}

func TestNewChecksTheConfiguration(t *testing.T) {
	cases := []struct {
		name    string
		cfg     provider.Config
		wantErr string
	}{
		{"vertex without a project names project", provider.Config{Kind: KindVertex, APIKey: "sekrit-token", Location: "us-central1"}, "project"},
		{"vertex without a location names location", provider.Config{Kind: KindVertex, APIKey: "sekrit-token", Project: "p"}, "location"},
		{"vertex with a location that is not a host label", provider.Config{Kind: KindVertex, APIKey: "sekrit-token", Project: "p", Location: "evil.com/x"}, "location"},
		{"gemini without a key names api_key", provider.Config{Kind: KindGemini}, "api_key"},
		{"a kind this package does not serve", provider.Config{Kind: "openai", APIKey: "k"}, "kind"},
		{"a base URL that is not http", provider.Config{Kind: KindGemini, APIKey: "k", BaseURL: "ftp://x"}, "base_url"},
		{"gemini with its key in a configured header", provider.Config{Kind: KindGemini, Headers: map[string]provider.Secret{"X-Goog-Api-Key": "k"}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Name = "g"
			_, err := New(tc.cfg, provider.Deps{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "sekrit-token") {
				t.Errorf("error shows the key: %v", err)
			}
		})
	}
}

func TestDefaultBaseURLsFollowTheKindAndLocation(t *testing.T) {
	cases := []struct {
		name     string
		cfg      provider.Config
		wantBase string
	}{
		{"AI Studio", provider.Config{Kind: KindGemini}, "https://generativelanguage.googleapis.com"},
		{"a regional Vertex location", provider.Config{Kind: KindVertex, Location: "europe-west4"}, "https://europe-west4-aiplatform.googleapis.com"},
		{"the global Vertex location", provider.Config{Kind: KindVertex, Location: "global"}, "https://aiplatform.googleapis.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestProvider(t, tc.cfg)
			if p.base != tc.wantBase {
				t.Errorf("base = %q, want %q", p.base, tc.wantBase)
			}
			if p.Kind() != tc.cfg.Kind || p.Name() != "g" {
				t.Errorf("Kind %q Name %q", p.Kind(), p.Name())
			}
		})
	}
}

func TestConfiguredHeadersAreSentUpstream(t *testing.T) {
	up := newUpstream(t, providertest.JSON(200, textAnswer))
	p := newTestProvider(t, provider.Config{Kind: KindVertex, BaseURL: up.URL, Headers: map[string]provider.Secret{"X-Goog-User-Project": "billing-project"}})
	if _, err := p.Chat(context.Background(), chatReq(t, "m")); err != nil {
		t.Fatal(err)
	}
	if got := up.Requests()[0].Header.Get("X-Goog-User-Project"); got != "billing-project" {
		t.Errorf("X-Goog-User-Project = %q", got)
	}
}

func TestVertexDoesNotListModels(t *testing.T) {
	p := newTestProvider(t, provider.Config{Kind: KindVertex, BaseURL: "http://127.0.0.1:1"})
	_, err := p.ListModels(context.Background())
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.Code != openai.CodeUnsupported {
		t.Errorf("err = %v, want unsupported (GET /v1/models then shows the patterns)", err)
	}
}
