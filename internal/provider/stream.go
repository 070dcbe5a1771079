package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/sse"
)

// EventTranslator turns one upstream SSE event into zero or more OpenAI chunks.
// It returns done=true on the provider's own end-of-stream event; an error
// (usually an *openai.Error for an upstream error event) ends the stream.
type EventTranslator func(ev sse.Event) (chunks []Chunk, done bool, err error)

// SSEStream adapts an upstream SSE body to Stream through a translator.
type SSEStream struct {
	provider  string
	ctx       context.Context
	body      io.ReadCloser
	reader    *sse.Reader
	translate EventTranslator
	// EndWithoutMarkerIsClean accepts a clean end of the body as the end of
	// stream (Gemini has no end marker; its last chunk carries finishReason).
	EndWithoutMarkerIsClean bool

	pending []Chunk
	done    bool
	once    sync.Once
}

// NewSSEStream wraps an upstream response body.
func NewSSEStream(ctx context.Context, providerName string, body io.ReadCloser, t EventTranslator) *SSEStream {
	return &SSEStream{provider: providerName, ctx: ctx, body: body, reader: sse.NewReader(body), translate: t}
}

// Next implements Stream.
func (s *SSEStream) Next() (Chunk, error) {
	for {
		if len(s.pending) > 0 {
			c := s.pending[0]
			s.pending = s.pending[1:]
			return c, nil
		}
		if s.done {
			return Chunk{}, io.EOF
		}
		ev, err := s.reader.Next()
		if err == io.EOF {
			if s.EndWithoutMarkerIsClean {
				s.done = true
				return Chunk{}, io.EOF
			}
			return Chunk{}, s.cut(errors.New("the upstream closed the stream before its end event"))
		}
		if err != nil {
			if s.ctx.Err() != nil {
				return Chunk{}, TransportError(s.ctx, s.provider, s.ctx.Err())
			}
			return Chunk{}, s.cut(err)
		}
		chunks, done, err := s.translate(ev)
		if err != nil {
			return Chunk{}, err
		}
		s.pending = append(s.pending, chunks...)
		s.done = done
	}
}

func (s *SSEStream) cut(err error) *openai.Error {
	return &openai.Error{Code: openai.CodeUpstreamError, Provider: s.provider, Retryable: true,
		Message: fmt.Sprintf("provider %s stream was cut: %v", s.provider, err)}
}

// Close implements Stream.
func (s *SSEStream) Close() error {
	s.once.Do(func() { s.body.Close() })
	return nil
}

// Stream sends req and, on a 2xx answer, wraps its body as a Stream; other
// answers are errors as Do makes them.
func (u Upstream) Stream(req *http.Request, msg func([]byte) string, t EventTranslator) (*SSEStream, error) {
	req.Header.Set("Accept", "text/event-stream")
	resp, err := u.Do(req, msg)
	if err != nil {
		return nil, err
	}
	return NewSSEStream(req.Context(), u.Name, resp.Body, t), nil
}

// StreamJSON sends body (JSON) to url with the given headers and, on a 2xx
// answer, wraps the answer as a Stream, as Stream does.
func (u Upstream) StreamJSON(ctx context.Context, method, url string, headers http.Header, body []byte, msg func([]byte) string, t EventTranslator) (*SSEStream, error) {
	req, err := NewJSONRequest(ctx, method, url, headers, body)
	if err != nil {
		return nil, err
	}
	return u.Stream(req, msg, t)
}

// ChunkBuilder makes OpenAI chunks for translators of non-OpenAI streams.
type ChunkBuilder struct {
	ID      string
	Model   string
	Created int64
	// Index is the index of the choice the chunks belong to: 0 unless the
	// client asked for n > 1 choices.
	Index int
}

// At returns a builder of the chunks of choice index, sharing b's ID, Model
// and Created.
func (b *ChunkBuilder) At(index int) *ChunkBuilder {
	c := *b
	c.Index = index
	return &c
}

// NewChunkBuilder starts a builder with the current time.
func NewChunkBuilder(id, model string) *ChunkBuilder {
	return &ChunkBuilder{ID: id, Model: model, Created: time.Now().Unix()}
}

// Chunk renders one chunk with a single choice, of index b.Index.
func (b *ChunkBuilder) Chunk(delta openai.Delta, finish string) Chunk {
	c := openai.ChatCompletionChunk{
		ID: b.ID, Object: "chat.completion.chunk", Created: b.Created, Model: b.Model,
		Choices: []openai.ChunkChoice{{Index: b.Index, Delta: delta}},
	}
	if finish != "" {
		c.Choices[0].FinishReason = &finish
	}
	data, _ := Marshal(c)
	return Chunk{Data: data}
}

// Role renders the first chunk of an assistant message.
func (b *ChunkBuilder) Role() Chunk {
	return b.Chunk(openai.Delta{Role: "assistant", Content: openai.Ptr("")}, "")
}

// Text renders a content delta.
func (b *ChunkBuilder) Text(s string) Chunk {
	return b.Chunk(openai.Delta{Content: &s}, "")
}

// ToolCallStart renders the first delta of tool call number index.
func (b *ChunkBuilder) ToolCallStart(index int, id, name string) Chunk {
	return b.Chunk(openai.Delta{ToolCalls: []openai.ToolCallDelta{{
		Index: index, ID: id, Type: "function", Function: &openai.FunctionCallDelta{Name: name},
	}}}, "")
}

// ToolCallArgs renders an arguments delta of tool call number index.
func (b *ChunkBuilder) ToolCallArgs(index int, args string) Chunk {
	return b.Chunk(openai.Delta{ToolCalls: []openai.ToolCallDelta{{
		Index: index, Function: &openai.FunctionCallDelta{Arguments: args},
	}}}, "")
}

// Finish renders the chunk carrying finish_reason.
func (b *ChunkBuilder) Finish(reason string) Chunk {
	return b.Chunk(openai.Delta{}, reason)
}

// Usage renders the usage-only chunk (empty choices), marked for the gateway.
func (b *ChunkBuilder) Usage(u openai.Usage) Chunk {
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	c := openai.ChatCompletionChunk{
		ID: b.ID, Object: "chat.completion.chunk", Created: b.Created, Model: b.Model,
		Choices: []openai.ChunkChoice{}, Usage: &u,
	}
	data, _ := Marshal(c)
	return Chunk{Data: data, Usage: &u}
}

// ErrorEvent maps an upstream error event, for an upstream with no secrets;
// see Upstream.ErrorEvent.
func ErrorEvent(providerName, message string) *openai.Error {
	return Upstream{Name: providerName}.ErrorEvent(message)
}

// ErrorEvent maps the message of an upstream error event, e.g. Anthropic's
// {"type":"error","error":{"type":"overloaded_error","message":"..."}}, or of
// an error object in a 2xx answer: it becomes a retryable 502 naming the
// provider, with the upstream's secrets redacted from the message.
func (u Upstream) ErrorEvent(message string) *openai.Error {
	message = u.Secrets.Redact(message)
	if message == "" {
		message = "unknown error"
	}
	return &openai.Error{Code: openai.CodeUpstreamError, Provider: u.Name, Retryable: true,
		Message: fmt.Sprintf("provider %s sent an error mid-stream: %s", u.Name, message)}
}
