package gemini

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/sse"
)

// translator turns the events of streamGenerateContent?alt=sse (each one a
// whole GenerateContentResponse) into OpenAI chunks. One per stream.
type translator struct {
	p     *Provider
	b     *provider.ChunkBuilder
	cands map[int]*candidateState
	usage openai.Usage
}

type candidateState struct {
	tools    int
	finished bool
}

func (p *Provider) newTranslator(model string) *translator {
	b := &provider.ChunkBuilder{ID: p.newID(), Model: model, Created: p.now().Unix()}
	return &translator{p: p, b: b, cands: map[int]*candidateState{}}
}

// translate is the provider.EventTranslator. It never reports done: Gemini
// has no end event, the body simply ends (see stream).
func (t *translator) translate(ev sse.Event) ([]provider.Chunk, bool, error) {
	var r generateResponse
	if err := json.Unmarshal(ev.Data, &r); err != nil {
		// An error may come as a JSON array holding one error object.
		if e, ok := parseError(ev.Data); ok {
			return nil, false, t.p.errorEvent(e)
		}
		return nil, false, provider.BadUpstreamBody(t.p.up.Name, err)
	}
	if r.Error != nil {
		return nil, false, t.p.errorEvent(r.Error)
	}
	if r.UsageMetadata != nil {
		t.usage = usage(r.UsageMetadata)
	}
	if len(r.Candidates) == 0 {
		if err := t.p.blocked(&r); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	var out []provider.Chunk
	for _, c := range r.Candidates {
		b := t.b.At(c.Index)
		st, seen := t.cands[c.Index]
		if !seen {
			st = &candidateState{}
			t.cands[c.Index] = st
			out = append(out, b.Role())
		}
		if st.finished {
			// Nothing follows a choice's finish_reason.
			continue
		}
		if c.Content != nil {
			for _, pt := range c.Content.Parts {
				switch {
				case pt.FunctionCall != nil:
					// Gemini sends each call whole: its start and all its
					// arguments go out together; its thoughtSignature rides
					// in its id (see signature.go).
					n := st.tools
					st.tools++
					out = append(out,
						b.ToolCallStart(n, callID(n, pt.ThoughtSignature), pt.FunctionCall.Name),
						b.ToolCallArgs(n, compactArgs(pt.FunctionCall.Args)))
				case pt.Thought:
					if pt.Text != "" {
						out = append(out, b.Chunk(openai.Delta{ReasoningContent: pt.Text}, "")) // a thought summary
					}
				case pt.Text != "":
					out = append(out, b.Text(pt.Text))
				}
			}
		}
		if c.FinishReason != "" {
			st.finished = true
			out = append(out, b.Finish(finishReason(c.FinishReason, st.tools > 0)))
		}
	}
	return out, false, nil
}

// complete reports whether every choice that started has finished.
func (t *translator) complete() bool {
	if len(t.cands) == 0 {
		return false
	}
	for _, st := range t.cands {
		if !st.finished {
			return false
		}
	}
	return true
}

// stream wraps the shared SSE stream. A clean end of the body is the end of
// the answer only when every choice got its finish reason; then exactly one
// usage chunk (the last usageMetadata seen, zeros if none) closes the stream.
// A body that ends earlier is a cut, retryable. Errors are sticky.
type stream struct {
	inner  *provider.SSEStream
	t      *translator
	peeked *provider.Chunk
	ended  bool
	err    error
}

// Next implements provider.Stream.
func (s *stream) Next() (provider.Chunk, error) {
	if c := s.peeked; c != nil {
		s.peeked = nil
		return *c, nil
	}
	if s.err != nil {
		return provider.Chunk{}, s.err
	}
	if s.ended {
		return provider.Chunk{}, io.EOF
	}
	c, err := s.inner.Next()
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, io.EOF):
		if !s.t.complete() {
			s.err = &openai.Error{Code: openai.CodeUpstreamError, Provider: s.t.p.up.Name, Retryable: true,
				Message: fmt.Sprintf("provider %s stream was cut: the body ended before a finish reason", s.t.p.up.Name)}
			return provider.Chunk{}, s.err
		}
		s.ended = true
		return s.t.b.Usage(s.t.usage), nil
	default:
		s.err = err
		return provider.Chunk{}, err
	}
}

// Close implements provider.Stream.
func (s *stream) Close() error { return s.inner.Close() }
