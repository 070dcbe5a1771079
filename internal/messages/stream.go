package messages

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
)

// Stream translates a stream of chat completion chunks (the JSON of
// provider.Chunk.Data) into a Messages stream: Anthropic's SSE events, each
// framed as "event: <type>\ndata: <json>\n\n".
//
// The events are those of Anthropic's API, in its order: message_start (with
// the model the client asked for, and input_tokens when known), the first
// content_block_start then a ping, content_block_delta (text_delta,
// thinking_delta for a provider's reasoning text, input_json_delta for tool
// arguments as they arrive), content_block_stop, then message_delta
// (stop_reason, cumulative usage) and message_stop. A cut stream ends with
// an error event instead (Fail).
//
// Only the first choice is read. Tool calls are streamed in the order they
// start; arguments for a call whose block is already closed (a provider
// interleaving parallel calls) reach Message but not the client.
//
// A Stream is used by one goroutine.
type Stream struct {
	model       string
	inputTokens int
	id          string
	started     bool
	pinged      bool
	done        bool

	blocks []ContentBlock
	args   map[int]*strings.Builder // block index → tool arguments so far
	open   int                      // index of the open block, -1 when none
	tools  map[int]int              // chat tool call index → block index

	finish  string
	refused bool
	stopped bool // message_delta was sent
	usage   *openai.Usage

	out bytes.Buffer
}

// NewStream starts the translation of one answer for a client that asked for
// requestedModel. inputTokens is what message_start reports when the
// provider's first chunk carries no usage (chat providers report usage at the
// end): 0 when unknown, or an estimate. message_delta always reports the
// provider's own count.
func NewStream(requestedModel string, inputTokens int) *Stream {
	return &Stream{model: requestedModel, inputTokens: inputTokens, open: -1,
		args: map[int]*strings.Builder{}, tools: map[int]int{}}
}

// Started reports whether message_start was sent: after it, a failure can
// only be an error event.
func (s *Stream) Started() bool { return s.started }

// Start returns message_start, once; later calls return nothing. Chunk calls
// it on the first chunk, so calling it is needed only to send bytes before
// the provider's first chunk arrives.
func (s *Stream) Start() []byte {
	s.start(nil)
	return s.flush()
}

// Chunk translates one chunk and returns the events it makes (possibly
// none). A chunk that is not a chat completion chunk is an error and makes
// no events.
func (s *Stream) Chunk(data []byte) ([]byte, error) {
	if s.done {
		return nil, nil
	}
	var c streamChunk
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, &Error{Status: http.StatusBadGateway, Type: TypeAPI, Message: "the provider sent a stream event that is not a chat completion chunk"}
	}
	if c.Usage != nil {
		u := *c.Usage
		s.usage = &u
	}
	if s.id == "" && c.ID != "" {
		s.id = MessageID(c.ID)
	}
	s.start(c.Usage)
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		s.delta(ch.Delta)
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			s.finish = *ch.FinishReason
			s.closeOpen()
		}
	}
	return s.flush(), nil
}

// Finish ends a stream that ended cleanly: it closes the open block and
// sends message_delta and message_stop (after message_start, when no chunk
// came). Later calls return nothing.
func (s *Stream) Finish() []byte {
	if s.done {
		return nil
	}
	s.start(nil)
	s.closeOpen()
	s.done, s.stopped = true, true
	u := s.finalUsage()
	stop := s.stopReason()
	s.emit("message_delta", messageDeltaEvent{Type: "message_delta",
		Delta: messageDelta{StopReason: &stop}, Usage: u})
	s.emit("message_stop", typeOnly{Type: "message_stop"})
	return s.flush()
}

// Fail ends a stream that broke (a cut connection, an upstream error event)
// with an error event in Anthropic's shape, as Anthropic's API does. Before
// Started, the error is better sent as an HTTP error (FromError(err).Write).
// Later calls return nothing.
func (s *Stream) Fail(err error) []byte {
	if s.done {
		return nil
	}
	s.done = true
	e := FromError(err)
	if e == nil {
		e = &Error{Status: http.StatusInternalServerError, Type: TypeAPI, Message: "the stream ended without an answer"}
	}
	return e.Event()
}

// Ping returns a ping event, a heartbeat for long pauses (clients ignore
// it); nothing once the stream is done.
func (s *Stream) Ping() []byte {
	if s.done {
		return nil
	}
	return frame("ping", []byte(`{"type":"ping"}`))
}

// Usage is the provider's usage as the chunks reported it (zero when none
// did): what the gateway meters and bills.
func (s *Stream) Usage() openai.Usage {
	if s.usage == nil {
		return openai.Usage{}
	}
	return *s.usage
}

// Message is the answer the events so far add up to, as a client folding
// them would build it; StopReason is nil until Finish.
func (s *Stream) Message() *Message {
	m := &Message{ID: s.messageID(), Type: "message", Role: "assistant", Model: s.model,
		Content: make([]ContentBlock, len(s.blocks)), Usage: s.finalUsage()}
	copy(m.Content, s.blocks)
	for i, b := range m.Content {
		if b.Type == BlockToolUse {
			m.Content[i].Input = inputObject(s.args[i].String())
		}
	}
	if s.stopped {
		stop := s.stopReason()
		m.StopReason = &stop
	}
	return m
}

// streamChunk is a chat completion chunk with the reasoning fields some
// OpenAI-protocol providers add to deltas.
type streamChunk struct {
	ID      string `json:"id"`
	Choices []struct {
		Index        int        `json:"index"`
		Delta        chunkDelta `json:"delta"`
		FinishReason *string    `json:"finish_reason"`
	} `json:"choices"`
	Usage *openai.Usage `json:"usage"`
}

func (s *Stream) messageID() string {
	if s.id == "" {
		s.id = MessageID("")
	}
	return s.id
}

// start emits message_start once; u is the first chunk's usage, if any.
func (s *Stream) start(u *openai.Usage) {
	if s.started {
		return
	}
	s.started = true
	usage := Usage{InputTokens: s.inputTokens}
	if u != nil && u.PromptTokens > 0 {
		usage = usageFromChat(u)
		usage.OutputTokens = 0
	}
	s.emit("message_start", messageStartEvent{Type: "message_start", Message: Message{
		ID: s.messageID(), Type: "message", Role: "assistant", Model: s.model,
		Content: []ContentBlock{}, Usage: usage,
	}})
}

// chunkDelta is a delta with "reasoning" (vLLM, OpenRouter, Ollama) beside
// the fields of openai.Delta, which has reasoning_content.
type chunkDelta struct {
	openai.Delta
	Reasoning *string `json:"reasoning"`
}

// reasoning is the delta's reasoning text: reasoning_content, else reasoning.
func (d chunkDelta) reasoning() string {
	if d.ReasoningContent != "" {
		return d.ReasoningContent
	}
	if d.Reasoning != nil {
		return *d.Reasoning
	}
	return ""
}

func (s *Stream) delta(d chunkDelta) {
	if t := d.reasoning(); t != "" {
		s.ensureOpen(BlockThinking)
		s.blocks[s.open].Thinking += t
		s.emitDelta(blockDelta{Type: "thinking_delta", Thinking: &t})
	}
	for _, tb := range d.ThinkingBlocks {
		s.signature(tb)
	}
	if d.Content != nil && *d.Content != "" {
		s.text(*d.Content)
	}
	if d.Refusal != nil && *d.Refusal != "" {
		s.refused = true
		s.text(*d.Refusal)
	}
	for _, td := range d.ToolCalls {
		bi, ok := s.tools[td.Index]
		if !ok {
			name := ""
			if td.Function != nil {
				name = td.Function.Name
			}
			s.closeOpen()
			bi = s.openBlock(ContentBlock{Type: BlockToolUse, ID: toolUseID(td.ID), Name: name})
			s.tools[td.Index] = bi
			s.args[bi] = &strings.Builder{}
		}
		if td.Function == nil || td.Function.Arguments == "" {
			continue
		}
		s.args[bi].WriteString(td.Function.Arguments)
		if bi == s.open {
			args := td.Function.Arguments
			s.emitDelta(blockDelta{Type: "input_json_delta", PartialJSON: &args})
		}
	}
}

// signature ends a thinking block with the signature a thinking_blocks
// element carries (its text was streamed as reasoning_content; when no
// thinking block is open, the element's text is sent first). Redacted
// blocks are left out: a Message has no such block.
func (s *Stream) signature(tb openai.ThinkingBlock) {
	if tb.Type != openai.ThinkingTypeThinking || tb.Signature == "" {
		return
	}
	if s.open < 0 || s.blocks[s.open].Type != BlockThinking {
		s.ensureOpen(BlockThinking)
		if t := tb.Thinking; t != "" {
			s.blocks[s.open].Thinking = t
			s.emitDelta(blockDelta{Type: "thinking_delta", Thinking: &t})
		}
	}
	sig := tb.Signature
	s.blocks[s.open].Signature = sig
	s.emitDelta(blockDelta{Type: "signature_delta", Signature: &sig})
	s.closeOpen()
}

func (s *Stream) text(t string) {
	s.ensureOpen(BlockText)
	s.blocks[s.open].Text += t
	s.emitDelta(blockDelta{Type: "text_delta", Text: &t})
}

// ensureOpen makes the open block one of type typ (text or thinking),
// closing another one.
func (s *Stream) ensureOpen(typ string) {
	if s.open >= 0 && s.blocks[s.open].Type == typ {
		return
	}
	s.closeOpen()
	s.openBlock(ContentBlock{Type: typ})
}

// openBlock emits content_block_start (and the stream's ping after the
// first) and returns the block's index.
func (s *Stream) openBlock(b ContentBlock) int {
	s.blocks = append(s.blocks, b)
	s.open = len(s.blocks) - 1
	s.emit("content_block_start", blockStartEvent{Type: "content_block_start", Index: s.open, ContentBlock: b})
	if !s.pinged {
		s.pinged = true
		s.out.Write(frame("ping", []byte(`{"type":"ping"}`)))
	}
	return s.open
}

func (s *Stream) closeOpen() {
	if s.open < 0 {
		return
	}
	s.emit("content_block_stop", blockStopEvent{Type: "content_block_stop", Index: s.open})
	s.open = -1
}

func (s *Stream) emitDelta(d blockDelta) {
	s.emit("content_block_delta", blockDeltaEvent{Type: "content_block_delta", Index: s.open, Delta: d})
}

func (s *Stream) stopReason() string {
	if s.refused && s.finish != "length" {
		return StopRefusal
	}
	return stopReason(s.finish, len(s.tools) > 0)
}

// finalUsage is the provider's usage when it reported one, else what
// message_start said.
func (s *Stream) finalUsage() Usage {
	if s.usage == nil {
		return Usage{InputTokens: s.inputTokens}
	}
	return usageFromChat(s.usage)
}

func (s *Stream) emit(event string, v any) { s.out.Write(frame(event, mustMarshal(v))) }

func (s *Stream) flush() []byte {
	if s.out.Len() == 0 {
		return nil
	}
	b := bytes.Clone(s.out.Bytes())
	s.out.Reset()
	return b
}

// The events' wire shapes, fields in Anthropic's order.

type typeOnly struct {
	Type string `json:"type"`
}

type messageStartEvent struct {
	Type    string  `json:"type"`
	Message Message `json:"message"`
}

type blockStartEvent struct {
	Type         string       `json:"type"`
	Index        int          `json:"index"`
	ContentBlock ContentBlock `json:"content_block"`
}

type blockDeltaEvent struct {
	Type  string     `json:"type"`
	Index int        `json:"index"`
	Delta blockDelta `json:"delta"`
}

// blockDelta is text_delta (Text), input_json_delta (PartialJSON),
// thinking_delta (Thinking) or signature_delta (Signature).
type blockDelta struct {
	Type        string  `json:"type"`
	Text        *string `json:"text,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
	Thinking    *string `json:"thinking,omitempty"`
	Signature   *string `json:"signature,omitempty"`
}

type blockStopEvent struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
}

type messageDeltaEvent struct {
	Type  string       `json:"type"`
	Delta messageDelta `json:"delta"`
	Usage Usage        `json:"usage"`
}

type messageDelta struct {
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}
