package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

const streamRequest = `{"model":"claude-sonnet","stream":true,"messages":[{"role":"user","content":"hi"}]}`

var (
	startEvent = ev("messageStart", `{"role":"assistant"}`)
	helloEvent = ev("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hello"}}`)
	stopEvent  = ev("messageStop", `{"stopReason":"end_turn"}`)
	usageEvent = ev("metadata", `{"usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4},"metrics":{"latencyMs":5}}`)
)

// TestBrokenStreams: every way a stream can break after it started gives a
// retryable *openai.Error, never io.EOF, and the chunks before the break
// still reach the caller.
func TestBrokenStreams(t *testing.T) {
	tests := []struct {
		name    string
		events  []fakeEvent
		cut     bool
		message string
	}{
		{
			name:    "a connection dropped mid-stream is a retryable error",
			events:  []fakeEvent{startEvent, helloEvent},
			cut:     true,
			message: "stream was cut",
		},
		{
			name:    "a stream closed without messageStop and metadata is a retryable error",
			events:  []fakeEvent{startEvent, helloEvent},
			message: "stream was cut",
		},
		{
			name:    "a stream closed after messageStop but without metadata is a retryable error",
			events:  []fakeEvent{startEvent, helloEvent, stopEvent},
			message: "stream was cut",
		},
		{
			name:    "a modelStreamErrorException mid-stream is a retryable error event",
			events:  []fakeEvent{startEvent, helloEvent, exception("modelStreamErrorException", `{"message":"the model crashed","originalStatusCode":500}`)},
			message: "the model crashed",
		},
		{
			name:    "a throttlingException mid-stream is a retryable error event",
			events:  []fakeEvent{startEvent, helloEvent, exception("throttlingException", `{"message":"slow down"}`)},
			message: "slow down",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestProvider(t, streamAnswer(t, tt.events, tt.cut))
			s, err := p.ChatStream(context.Background(), chatRequest(t, streamRequest))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			defer s.Close()
			chunks, err := providertest.Drain(t, s)
			if errors.Is(err, io.EOF) {
				t.Fatal("the broken stream ended with io.EOF")
			}
			e := asGatewayError(t, err)
			if !e.Retryable || e.HTTPStatus() != http.StatusBadGateway {
				t.Errorf("got %v (status %d, retryable %v), want a retryable 502", e, e.HTTPStatus(), e.Retryable)
			}
			if !strings.Contains(e.Message, tt.message) {
				t.Errorf("message %q does not contain %q", e.Message, tt.message)
			}
			assertNoSecret(t, e)
			if len(chunks) < 2 || !strings.Contains(string(chunks[1].Data), `"Hello"`) {
				t.Errorf("got %d chunks before the error, want the role and the Hello chunk first", len(chunks))
			}
			for _, c := range chunks {
				if c.Usage != nil {
					t.Error("a broken stream produced a usage chunk")
				}
			}
			if _, again := s.Next(); again != err {
				t.Errorf("Next after the error returned %v, want the same error again", again)
			}
		})
	}
}

// TestExceptionAsFirstEventFailsChatStream: an exception before any content
// is returned by ChatStream with Bedrock's status, so routing can fail over.
func TestExceptionAsFirstEventFailsChatStream(t *testing.T) {
	p, _ := newTestProvider(t, streamAnswer(t, []fakeEvent{exception("throttlingException", `{"message":"Too many requests"}`)}, false))
	s, err := p.ChatStream(context.Background(), chatRequest(t, streamRequest))
	if err == nil {
		s.Close()
		t.Fatal("ChatStream succeeded, want the throttling error")
	}
	e := asGatewayError(t, err)
	if e.Code != openai.CodeRateLimited || !e.Retryable || e.HTTPStatus() != 429 {
		t.Errorf("got %v (status %d, retryable %v), want a retryable 429", e, e.HTTPStatus(), e.Retryable)
	}
}

// TestMetadataBeforeMessageStopStillEndsWithUsage: whatever the order of
// Bedrock's two end events, the usage chunk comes last, then io.EOF.
func TestMetadataBeforeMessageStopStillEndsWithUsage(t *testing.T) {
	p, _ := newTestProvider(t, streamAnswer(t, []fakeEvent{startEvent, helloEvent, usageEvent, stopEvent}, false))
	s, err := p.ChatStream(context.Background(), chatRequest(t, streamRequest))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	chunks, err := providertest.Drain(t, s)
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	if len(chunks) != 4 {
		t.Fatalf("got %d chunks, want role, text, finish, usage", len(chunks))
	}
	if !strings.Contains(string(chunks[2].Data), `"finish_reason":"stop"`) {
		t.Errorf("chunk 3 is %s, want the finish chunk", chunks[2].Data)
	}
	if u := chunks[3].Usage; u == nil || u.PromptTokens != 3 || u.CompletionTokens != 1 || u.TotalTokens != 4 {
		t.Errorf("the last chunk's usage is %+v, want 3 prompt and 1 completion tokens", u)
	}
}

// TestCloseReleasesTheUpstreamConnection: closing a stream mid-way closes the
// SDK event stream, so Bedrock sees the request end.
func TestCloseReleasesTheUpstreamConnection(t *testing.T) {
	released := make(chan struct{})
	p, _ := newTestProvider(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		writeEvent(t, w, startEvent)
		writeEvent(t, w, helloEvent)
		select {
		case <-r.Context().Done():
			close(released)
		case <-time.After(5 * time.Second):
		}
	})
	s, err := p.ChatStream(context.Background(), chatRequest(t, streamRequest))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	if _, err := s.Next(); err != nil {
		t.Fatalf("Next: %v", err)
	}
	s.Close()
	s.Close() // safe twice
	select {
	case <-released:
	case <-time.After(3 * time.Second):
		t.Fatal("the upstream request was still open after Close")
	}
}

// TestCancelledStreamStopsReading: a client that goes away mid-stream ends
// Next promptly instead of waiting for Bedrock.
func TestCancelledStreamStopsReading(t *testing.T) {
	p, _ := newTestProvider(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		writeEvent(t, w, startEvent)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := p.ChatStream(ctx, chatRequest(t, streamRequest))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	if _, err := s.Next(); err != nil {
		t.Fatalf("Next: %v", err)
	}
	cancel()
	done := make(chan error, 1)
	go func() { _, err := s.Next(); done <- err }()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, io.EOF) {
			t.Errorf("Next after cancel returned %v, want an error", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Next kept waiting after the context was cancelled")
	}
}

// TestConcurrentStreamsOnOneClientKeepTheirOwnEvents: many streams at once on
// one provider (one SDK client) each decode their own events. With the SDK's
// shared event codec this is a data race (caught by -race) that can mix events.
func TestConcurrentStreamsOnOneClientKeepTheirOwnEvents(t *testing.T) {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
	p, _ := newTestProvider(t, func(w http.ResponseWriter, r *http.Request) {
		// The model id in the path names the stream: /model/<word>/converse-stream.
		word := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/model/"), "/converse-stream")
		streamAnswer(t, []fakeEvent{startEvent,
			ev("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"`+word+`"}}`),
			ev("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"-`+word+`"}}`),
			stopEvent, usageEvent}, false)(w, r)
	})
	var wg sync.WaitGroup
	for round := 0; round < 4; round++ {
		for _, word := range words {
			wg.Add(1)
			go func(word string) {
				defer wg.Done()
				req := chatRequest(t, streamRequest)
				req.Model = word
				s, err := p.ChatStream(context.Background(), req)
				if err != nil {
					t.Errorf("ChatStream: %v", err)
					return
				}
				defer s.Close()
				chunks, err := providertest.Drain(t, s)
				if err != io.EOF {
					t.Errorf("%s: stream ended with %v", word, err)
					return
				}
				var text strings.Builder
				for _, c := range chunks {
					var cc openai.ChatCompletionChunk
					if json.Unmarshal(c.Data, &cc) == nil && len(cc.Choices) > 0 && cc.Choices[0].Delta.Content != nil {
						text.WriteString(*cc.Choices[0].Delta.Content)
					}
				}
				if text.String() != word+"-"+word {
					t.Errorf("stream for %s decoded %q", word, text.String())
				}
			}(word)
		}
	}
	wg.Wait()
}
