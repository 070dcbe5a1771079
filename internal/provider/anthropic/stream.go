package anthropic

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/sse"
)

// streamEvent is any event of a Messages stream; which fields are set
// depends on Type.
type streamEvent struct {
	Type         string            `json:"type"`
	Message      *messagesResponse `json:"message"`       // message_start
	Index        int               `json:"index"`         // content_block_*
	ContentBlock *responseBlock    `json:"content_block"` // content_block_start
	Delta        *streamDelta      `json:"delta"`         // content_block_delta, message_delta
	Usage        *usage            `json:"usage"`         // message_delta
	Error        *errorDetail      `json:"error"`         // error
}

// streamDelta is the delta of content_block_delta (text_delta,
// input_json_delta, thinking deltas) or of message_delta (stop_reason).
type streamDelta struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	PartialJSON string `json:"partial_json"`
	Thinking    string `json:"thinking"`
	Signature   string `json:"signature"`
	StopReason  string `json:"stop_reason"`
}

// streamTranslator holds the state of one stream.
type streamTranslator struct {
	up    provider.Upstream
	b     *provider.ChunkBuilder
	usage usage
	// tools numbers tool_use blocks among Anthropic's content blocks as
	// OpenAI's tool calls: 0, 1, 2…
	tools    provider.ToolIndexes
	finished bool
	// thinking is the text of the thinking block being streamed, sent again
	// with its signature when the signature arrives.
	thinking strings.Builder
}

func newStreamTranslator(up provider.Upstream, model string, now func() time.Time) *streamTranslator {
	return &streamTranslator{
		up: up,
		b:  &provider.ChunkBuilder{Model: model, Created: now().Unix()},
	}
}

// translate is the provider.EventTranslator of a Messages stream. Unknown
// event and delta types are ignored, as Anthropic asks of its clients.
//
// Thinking is streamed as reasoning_content deltas; when a thinking block's
// signature arrives, a delta carries the whole block, text and signature, as
// one element of thinking_blocks, and a redacted_thinking block is sent the
// same way when it starts. So every thinking_blocks element a client reads
// is a complete block, to append to the message it sends back.
func (t *streamTranslator) translate(ev sse.Event) ([]provider.Chunk, bool, error) {
	var e streamEvent
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		return nil, false, provider.BadUpstreamBody(t.up.Name, fmt.Errorf("%s event: %w", ev.Event, err))
	}
	if e.Type == "" {
		e.Type = ev.Event
	}
	switch e.Type {
	case "message_start":
		if m := e.Message; m != nil {
			if m.ID != "" {
				t.b.ID = m.ID
			}
			if m.Model != "" {
				t.b.Model = m.Model
			}
			t.usage.merge(m.Usage)
		}
		return []provider.Chunk{t.b.Role()}, false, nil

	case "content_block_start":
		cb := e.ContentBlock
		if cb == nil {
			return nil, false, nil
		}
		switch cb.Type {
		case "tool_use":
			idx := t.tools.Index(e.Index)
			return []provider.Chunk{t.b.ToolCallStart(idx, cb.ID, cb.Name)}, false, nil
		case "text":
			if cb.Text != "" {
				return []provider.Chunk{t.b.Text(cb.Text)}, false, nil
			}
		case "thinking":
			t.thinking.Reset()
			if cb.Thinking != "" {
				return []provider.Chunk{t.reasoning(cb.Thinking)}, false, nil
			}
		case "redacted_thinking":
			return []provider.Chunk{t.b.Chunk(openai.Delta{ThinkingBlocks: []openai.ThinkingBlock{
				{Type: openai.ThinkingTypeRedacted, Data: cb.Data}}}, "")}, false, nil
		}
		return nil, false, nil

	case "content_block_delta":
		d := e.Delta
		if d == nil {
			return nil, false, nil
		}
		switch d.Type {
		case "text_delta":
			if d.Text != "" {
				return []provider.Chunk{t.b.Text(d.Text)}, false, nil
			}
		case "input_json_delta":
			// Deltas of blocks that are not client tools (server tools)
			// have no tool call to extend.
			if idx, ok := t.tools.Lookup(e.Index); ok && d.PartialJSON != "" {
				return []provider.Chunk{t.b.ToolCallArgs(idx, d.PartialJSON)}, false, nil
			}
		case "thinking_delta":
			if d.Thinking != "" {
				return []provider.Chunk{t.reasoning(d.Thinking)}, false, nil
			}
		case "signature_delta":
			if d.Signature != "" {
				block := openai.ThinkingBlock{Type: openai.ThinkingTypeThinking, Thinking: t.thinking.String(), Signature: d.Signature}
				t.thinking.Reset()
				return []provider.Chunk{t.b.Chunk(openai.Delta{ThinkingBlocks: []openai.ThinkingBlock{block}}, "")}, false, nil
			}
		}
		// citations_delta: not forwarded.
		return nil, false, nil

	case "message_delta":
		if e.Usage != nil {
			t.usage.merge(*e.Usage)
		}
		if e.Delta != nil && e.Delta.StopReason != "" && !t.finished {
			t.finished = true
			return []provider.Chunk{t.b.Finish(finishReason(e.Delta.StopReason))}, false, nil
		}
		return nil, false, nil

	case "message_stop":
		var out []provider.Chunk
		if !t.finished {
			// Every stream ends with a finish_reason, even one whose
			// message_delta carried none.
			t.finished = true
			out = append(out, t.b.Finish("stop"))
		}
		return append(out, t.b.Usage(t.usage.openAI())), true, nil

	case "error":
		msg := ""
		if e.Error != nil {
			msg = e.Error.Message
			if msg == "" {
				msg = e.Error.Type
			}
		}
		return nil, false, t.up.ErrorEvent(msg)
	}
	// ping, content_block_stop and event types added later.
	return nil, false, nil
}

// reasoning renders a piece of thinking text and keeps it for the block's
// signature delta.
func (t *streamTranslator) reasoning(text string) provider.Chunk {
	t.thinking.WriteString(text)
	return t.b.Chunk(openai.Delta{ReasoningContent: text}, "")
}
