package messages

import (
	"encoding/json"
	"slices"
	"strings"
)

// The gateway caches complete Messages answers and answers a repeated request
// from the cache: a non-stream request with the stored body, a stream request
// with Replay's events. Accumulator builds the answer of a native stream;
// ParseMessage reads a stored one. Both accept only answers a Message holds
// whole (text, tool_use and thinking blocks): an answer with other blocks
// (server tools, redacted thinking, citations) is not stored, so a replay
// never drops part of one.

// ParseMessage reads a complete Messages answer body; ok is false when it is
// not one, or holds a block or field a Message would drop.
func ParseMessage(body []byte) (m *Message, ok bool) {
	var w struct {
		Message
		Content []json.RawMessage `json:"content"`
	}
	if json.Unmarshal(body, &w) != nil || w.Type != "message" || w.StopReason == nil {
		return nil, false
	}
	m = &w.Message
	m.Content = make([]ContentBlock, 0, len(w.Content))
	for _, raw := range w.Content {
		b, ok := wholeBlock(raw)
		if !ok {
			return nil, false
		}
		m.Content = append(m.Content, b)
	}
	return m, true
}

// wholeBlock decodes a content block that ContentBlock holds with every field.
func wholeBlock(raw json.RawMessage) (ContentBlock, bool) {
	var fields map[string]json.RawMessage
	var b ContentBlock
	if json.Unmarshal(raw, &fields) != nil || json.Unmarshal(raw, &b) != nil {
		return ContentBlock{}, false
	}
	allowed := map[string][]string{
		BlockText:     {"type", "text"},
		BlockToolUse:  {"type", "id", "name", "input"},
		BlockThinking: {"type", "thinking", "signature"},
	}[b.Type]
	if allowed == nil {
		return ContentBlock{}, false
	}
	for k, v := range fields {
		if !slices.Contains(allowed, k) && string(v) != "null" {
			return ContentBlock{}, false
		}
	}
	return b, true
}

// Accumulator folds the events of a native Messages stream (the data of each
// event, in order) into the answer they add up to. The zero value is ready.
type Accumulator struct {
	m       Message
	args    map[int]*strings.Builder
	usage   NativeUsage
	started bool
	stopped bool
	invalid bool
}

// Add folds in one event's data.
func (a *Accumulator) Add(data []byte) {
	a.usage.Add(data)
	var ev struct {
		Type         string          `json:"type"`
		Message      json.RawMessage `json:"message"`
		Index        int             `json:"index"`
		ContentBlock json.RawMessage `json:"content_block"`
		Delta        struct {
			Type         string  `json:"type"`
			Text         string  `json:"text"`
			PartialJSON  string  `json:"partial_json"`
			Thinking     string  `json:"thinking"`
			Signature    string  `json:"signature"`
			StopReason   *string `json:"stop_reason"`
			StopSequence *string `json:"stop_sequence"`
		} `json:"delta"`
	}
	if json.Unmarshal(data, &ev) != nil {
		a.invalid = true
		return
	}
	switch ev.Type {
	case "message_start":
		var m Message
		if json.Unmarshal(ev.Message, &m) != nil {
			a.invalid = true
			return
		}
		a.m, a.started = m, true
		a.m.Content = nil
	case "content_block_start":
		b, ok := wholeBlock(ev.ContentBlock)
		if !ok || ev.Index != len(a.m.Content) {
			a.invalid = true
			return
		}
		if b.Type == BlockToolUse {
			if a.args == nil {
				a.args = map[int]*strings.Builder{}
			}
			a.args[ev.Index] = &strings.Builder{}
			if s := string(b.Input); s != "" && s != "{}" {
				a.args[ev.Index].WriteString(s)
			}
		}
		a.m.Content = append(a.m.Content, b)
	case "content_block_delta":
		if ev.Index < 0 || ev.Index >= len(a.m.Content) {
			a.invalid = true
			return
		}
		b := &a.m.Content[ev.Index]
		switch d := ev.Delta; d.Type {
		case "text_delta":
			b.Text += d.Text
		case "input_json_delta":
			if a.args[ev.Index] == nil {
				a.invalid = true
				return
			}
			a.args[ev.Index].WriteString(d.PartialJSON)
		case "thinking_delta":
			b.Thinking += d.Thinking
		case "signature_delta":
			b.Signature += d.Signature
		default:
			a.invalid = true // citations and deltas added later: not held whole
		}
	case "message_delta":
		if ev.Delta.StopReason != nil {
			a.m.StopReason = ev.Delta.StopReason
		}
		if ev.Delta.StopSequence != nil {
			a.m.StopSequence = ev.Delta.StopSequence
		}
	case "message_stop":
		a.stopped = true
	case "error":
		a.invalid = true
	}
}

// Message is the complete answer; ok is false unless the stream ran from
// message_start to message_stop and held only what a Message holds whole.
func (a *Accumulator) Message() (m *Message, ok bool) {
	if a.invalid || !a.started || !a.stopped || a.m.StopReason == nil {
		return nil, false
	}
	out := a.m
	out.Content = make([]ContentBlock, len(a.m.Content))
	copy(out.Content, a.m.Content)
	for i, b := range out.Content {
		if b.Type != BlockToolUse {
			continue
		}
		args := a.args[i].String()
		if args == "" {
			args = "{}"
		}
		if !json.Valid([]byte(args)) {
			return nil, false
		}
		out.Content[i].Input = json.RawMessage(args)
	}
	if u, ok := a.usage.Usage(); ok {
		out.Usage = u
	}
	return &out, true
}

// Replay renders a complete answer as the events of a Messages stream, in
// the order Anthropic sends them: message_start, then per block
// content_block_start (a ping after the first), one delta with all of its
// text, input (input_json_delta) or thinking (thinking_delta, then
// signature_delta), content_block_stop; then message_delta with the stop
// reason and usage, and message_stop.
func Replay(m *Message) []byte {
	s := &Stream{}
	start := *m
	start.Content, start.StopReason, start.StopSequence = []ContentBlock{}, nil, nil
	start.Usage.OutputTokens = 0
	s.emit("message_start", messageStartEvent{Type: "message_start", Message: start})
	for i, b := range m.Content {
		opened := ContentBlock{Type: b.Type, ID: b.ID, Name: b.Name}
		s.emit("content_block_start", blockStartEvent{Type: "content_block_start", Index: i, ContentBlock: opened})
		if i == 0 {
			s.out.Write(frame("ping", []byte(`{"type":"ping"}`)))
		}
		delta := func(d blockDelta) {
			s.emit("content_block_delta", blockDeltaEvent{Type: "content_block_delta", Index: i, Delta: d})
		}
		switch b.Type {
		case BlockToolUse:
			if in := string(b.Input); in != "" && in != "{}" {
				delta(blockDelta{Type: "input_json_delta", PartialJSON: &in})
			}
		case BlockThinking:
			if b.Thinking != "" {
				delta(blockDelta{Type: "thinking_delta", Thinking: &b.Thinking})
			}
			if b.Signature != "" {
				delta(blockDelta{Type: "signature_delta", Signature: &b.Signature})
			}
		default:
			if b.Text != "" {
				delta(blockDelta{Type: "text_delta", Text: &b.Text})
			}
		}
		s.emit("content_block_stop", blockStopEvent{Type: "content_block_stop", Index: i})
	}
	stop := m.StopReason
	if stop == nil {
		stop = new(string)
		*stop = StopEndTurn
	}
	s.emit("message_delta", messageDeltaEvent{Type: "message_delta",
		Delta: messageDelta{StopReason: stop, StopSequence: m.StopSequence}, Usage: m.Usage})
	s.emit("message_stop", typeOnly{Type: "message_stop"})
	return s.flush()
}
