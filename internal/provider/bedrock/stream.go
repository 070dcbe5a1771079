package bedrock

import (
	"context"
	"encoding/base64"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// stream adapts a ConverseStream event stream to provider.Stream.
//
// Bedrock ends a stream with messageStop then metadata (the usage). The
// stream ends with the finish chunk, the usage chunk, then io.EOF; an event
// stream that closes before both arrived was cut and gives a retryable error.
type stream struct {
	p   *Provider
	ctx context.Context
	es  *bedrockruntime.ConverseStreamEventStream
	b   *provider.ChunkBuilder

	pending  []provider.Chunk
	err      error
	done     bool
	events   int
	roleSent bool
	// tools numbers the tool blocks among Bedrock's content blocks
	// (contentBlockIndex) as OpenAI's tool calls: 0, 1, 2…
	tools    provider.ToolIndexes
	stopped  bool
	metadata *openai.Usage
	// jsonTool is the response_format tool ("" for none); jsonBlock the
	// content block of its call (-1 before it), whose input is streamed as
	// content; calls counts the client's tool calls.
	jsonTool  string
	jsonBlock int32
	calls     int
	// thinking is the text of the reasoning block being streamed, sent again
	// with its signature.
	thinking strings.Builder

	once sync.Once
}

func newStream(ctx context.Context, p *Provider, es *bedrockruntime.ConverseStreamEventStream, model, jsonTool string) *stream {
	return &stream{
		p: p, ctx: ctx, es: es,
		b:        provider.NewChunkBuilder(provider.NewCompletionID(), model),
		jsonTool: jsonTool, jsonBlock: -1,
	}
}

// Next implements provider.Stream.
func (s *stream) Next() (provider.Chunk, error) {
	for {
		if len(s.pending) > 0 {
			c := s.pending[0]
			s.pending = s.pending[1:]
			return c, nil
		}
		if s.err != nil {
			return provider.Chunk{}, s.err
		}
		if s.done {
			return provider.Chunk{}, io.EOF
		}
		s.err = s.advance()
	}
}

// advance reads one event and queues its chunks. It returns the error that
// ends the stream, if any.
func (s *stream) advance() error {
	var ev types.ConverseStreamOutput
	var ok bool
	select {
	case ev, ok = <-s.es.Events():
	case <-s.ctx.Done():
		return provider.TransportError(s.ctx, s.p.name, s.ctx.Err())
	}
	if !ok {
		err := s.es.Err()
		switch {
		case err != nil && s.events == 0:
			// Nothing reached the client yet: keep Bedrock's status (429, 400...).
			return s.p.mapError(s.ctx, err)
		case err != nil:
			return s.p.streamError(s.ctx, err)
		case s.ctx.Err() != nil:
			return provider.TransportError(s.ctx, s.p.name, s.ctx.Err())
		default:
			return cutError(s.p.name, "the upstream closed the stream before its end events")
		}
	}
	s.events++
	s.translate(ev)
	return nil
}

func (s *stream) role() {
	if !s.roleSent {
		s.roleSent = true
		s.pending = append(s.pending, s.b.Role())
	}
}

// translate queues the chunks of one event. Reasoning deltas are
// reasoning_content; a signature delta sends the block whole (text and
// signature) as one thinking_blocks element, and redacted reasoning is sent
// the same way, as the Anthropic provider does. The response_format tool's
// input is streamed as content.
func (s *stream) translate(ev types.ConverseStreamOutput) {
	switch e := ev.(type) {
	case *types.ConverseStreamOutputMemberMessageStart:
		s.role()
	case *types.ConverseStreamOutputMemberContentBlockStart:
		if tu, ok := e.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
			s.role()
			if s.jsonTool != "" && aws.ToString(tu.Value.Name) == s.jsonTool {
				s.jsonBlock = aws.ToInt32(e.Value.ContentBlockIndex)
				return
			}
			s.calls++
			idx := s.toolIndex(e.Value.ContentBlockIndex)
			s.pending = append(s.pending, s.b.ToolCallStart(idx, aws.ToString(tu.Value.ToolUseId), aws.ToString(tu.Value.Name)))
		}
	case *types.ConverseStreamOutputMemberContentBlockDelta:
		switch d := e.Value.Delta.(type) {
		case *types.ContentBlockDeltaMemberText:
			if d.Value != "" {
				s.role()
				s.pending = append(s.pending, s.b.Text(d.Value))
			}
		case *types.ContentBlockDeltaMemberToolUse:
			if in := aws.ToString(d.Value.Input); in != "" {
				s.role()
				if s.jsonBlock >= 0 && aws.ToInt32(e.Value.ContentBlockIndex) == s.jsonBlock {
					s.pending = append(s.pending, s.b.Text(in))
					return
				}
				idx := s.toolIndex(e.Value.ContentBlockIndex)
				s.pending = append(s.pending, s.b.ToolCallArgs(idx, in))
			}
		case *types.ContentBlockDeltaMemberReasoningContent:
			s.role()
			s.reasoning(d.Value)
		}
		// Citation deltas have no place in a chat completion chunk.
	case *types.ConverseStreamOutputMemberContentBlockStop:
		s.thinking.Reset()
	case *types.ConverseStreamOutputMemberMessageStop:
		if !s.stopped {
			s.stopped = true
			s.role()
			finish := finishReason(e.Value.StopReason)
			if s.jsonBlock >= 0 && s.calls == 0 && finish == "tool_calls" {
				finish = "stop"
			}
			s.pending = append(s.pending, s.b.Finish(finish))
			s.end()
		}
	case *types.ConverseStreamOutputMemberMetadata:
		if s.metadata == nil {
			u := usage(e.Value.Usage)
			s.metadata = &u
			s.end()
		}
	}
}

// reasoning queues the chunk of a reasoning delta.
func (s *stream) reasoning(d types.ReasoningContentBlockDelta) {
	switch r := d.(type) {
	case *types.ReasoningContentBlockDeltaMemberText:
		if r.Value != "" {
			s.thinking.WriteString(r.Value)
			s.pending = append(s.pending, s.b.Chunk(openai.Delta{ReasoningContent: r.Value}, ""))
		}
	case *types.ReasoningContentBlockDeltaMemberSignature:
		if r.Value != "" {
			block := openai.ThinkingBlock{Type: openai.ThinkingTypeThinking, Thinking: s.thinking.String(), Signature: r.Value}
			s.thinking.Reset()
			s.pending = append(s.pending, s.b.Chunk(openai.Delta{ThinkingBlocks: []openai.ThinkingBlock{block}}, ""))
		}
	case *types.ReasoningContentBlockDeltaMemberRedactedContent:
		block := openai.ThinkingBlock{Type: openai.ThinkingTypeRedacted, Data: base64.StdEncoding.EncodeToString(r.Value)}
		s.pending = append(s.pending, s.b.Chunk(openai.Delta{ThinkingBlocks: []openai.ThinkingBlock{block}}, ""))
	}
}

// toolIndex returns the tool call index of a content block.
func (s *stream) toolIndex(block *int32) int {
	return s.tools.Index(int(aws.ToInt32(block)))
}

// end queues the usage chunk once both messageStop and metadata arrived, so
// the usage chunk is always the last one whatever their order.
func (s *stream) end() {
	if s.stopped && s.metadata != nil && !s.done {
		s.pending = append(s.pending, s.b.Usage(*s.metadata))
		s.done = true
	}
}

// Close implements provider.Stream: it closes the SDK event stream, which
// closes the HTTP body.
func (s *stream) Close() error {
	s.once.Do(func() { _ = s.es.Close() })
	return nil
}
