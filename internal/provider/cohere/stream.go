package cohere

import (
	"encoding/json"
	"errors"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/sse"
)

// streamEvent is one event of a streamed /v2/chat. content and tool_calls
// are arrays in message-start and objects in the events that fill them, so
// they are decoded per event type.
type streamEvent struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Delta struct {
		Message struct {
			Content   json.RawMessage `json:"content"`
			ToolPlan  string          `json:"tool_plan"`
			ToolCalls json.RawMessage `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
		Error        string `json:"error"`
		Usage        *usage `json:"usage"`
	} `json:"delta"`
}

// streamTranslator turns Cohere's stream events into OpenAI chunks: the role
// chunk first, text and tool-call deltas, then at message-end the finish
// chunk and the usage chunk.
type streamTranslator struct {
	up      provider.Upstream
	b       provider.ChunkBuilder
	started bool
	// tools counts the tool calls started so far; the current one has index
	// tools-1.
	tools int
}

func newStreamTranslator(up provider.Upstream, model string, created int64) *streamTranslator {
	return &streamTranslator{up: up,
		b: provider.ChunkBuilder{ID: provider.NewCompletionID(), Model: model, Created: created}}
}

// translate is the provider.EventTranslator.
func (t *streamTranslator) translate(ev sse.Event) ([]provider.Chunk, bool, error) {
	if sse.IsDone(ev.Data) {
		return nil, false, nil
	}
	var e streamEvent
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		return nil, false, provider.BadUpstreamBody(t.up.Name, err)
	}
	typ := e.Type
	if typ == "" {
		typ = ev.Event
	}
	var out []provider.Chunk
	switch typ {
	case "message-start":
		if !t.started && e.ID != "" {
			t.b.ID = e.ID
		}
		out = t.start(out)
	case "content-delta":
		var c struct {
			Text string `json:"text"`
		}
		if err := decodeObject(e.Delta.Message.Content, &c); err != nil {
			return nil, false, provider.BadUpstreamBody(t.up.Name, err)
		}
		if c.Text != "" {
			out = append(t.start(out), t.b.Text(c.Text))
		}
	case "tool-plan-delta":
		if p := e.Delta.Message.ToolPlan; p != "" {
			out = append(t.start(out), t.b.Text(p))
		}
	case "tool-call-start":
		var tc toolCall
		if err := decodeObject(e.Delta.Message.ToolCalls, &tc); err != nil {
			return nil, false, provider.BadUpstreamBody(t.up.Name, err)
		}
		i := t.tools
		t.tools++
		call := openaiToolCall(i, tc)
		out = append(t.start(out), t.b.ToolCallStart(i, call.ID, call.Function.Name))
		if tc.Function.Arguments != "" {
			out = append(out, t.b.ToolCallArgs(i, tc.Function.Arguments))
		}
	case "tool-call-delta":
		if t.tools == 0 {
			return nil, false, provider.BadUpstreamBody(t.up.Name, errors.New("tool-call-delta before tool-call-start"))
		}
		var tc toolCall
		if err := decodeObject(e.Delta.Message.ToolCalls, &tc); err != nil {
			return nil, false, provider.BadUpstreamBody(t.up.Name, err)
		}
		if tc.Function.Arguments != "" {
			out = append(out, t.b.ToolCallArgs(t.tools-1, tc.Function.Arguments))
		}
	case "message-end":
		if e.Delta.FinishReason == "ERROR" {
			return nil, false, t.up.ErrorEvent(e.Delta.Error)
		}
		out = t.start(out)
		out = append(out,
			t.b.Finish(finishReason(e.Delta.FinishReason, t.tools > 0)),
			t.b.Usage(e.Delta.Usage.toOpenAI()))
		return out, true, nil
	}
	// content-start, content-end, tool-call-end, citation-start, citation-end
	// and events Cohere may add later carry nothing for OpenAI clients.
	return out, false, nil
}

// start prepends the role chunk before the first chunk of the stream.
func (t *streamTranslator) start(out []provider.Chunk) []provider.Chunk {
	if t.started {
		return out
	}
	t.started = true
	return append(out, t.b.Role())
}

// decodeObject decodes raw into v when raw is a JSON object; absent or null
// leaves v empty.
func decodeObject(raw json.RawMessage, v any) error {
	if openai.IsNull(raw) {
		return nil
	}
	return json.Unmarshal(raw, v)
}
