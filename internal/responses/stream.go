package responses

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
)

// Stream translates a chat completion stream into the Responses API's SSE
// events. Feed it the JSON of each chat.completion.chunk (provider.Chunk.Data)
// with Chunk, then end it with Finish after the upstream's clean end or with
// Fail when the stream broke. Each call returns the frames to write, as
// "event: <type>\ndata: <json>\n\n", with sequence_number counting up from 0:
//
//	response.created, response.in_progress,
//	per output item: response.output_item.added, then for the reasoning
//	(reasoning_content) response.content_part.added, response.reasoning_text.delta…,
//	response.reasoning_text.done, response.content_part.done; for a message
//	response.content_part.added, response.output_text.delta…,
//	response.output_text.done, response.content_part.done (refusals likewise
//	with response.refusal.*), for a function call
//	response.function_call_arguments.delta…, response.function_call_arguments.done;
//	then response.output_item.done;
//	finally response.completed or response.incomplete carrying the whole
//	response with its usage, or, from Fail, an error event and response.failed.
//
// Items are emitted one after another, as OpenAI does: a new item (text after
// a tool call, the next tool call) closes the one before. Only the chat
// stream's first choice is translated. A Stream is not safe for concurrent use.
type Stream struct {
	req     *Request
	meta    Meta
	resp    *Response
	seq     int
	started bool
	ended   bool
	// open is the index in resp.Output of the item still receiving deltas
	// (-1 when none); part the index of its open content part (-1 when none).
	open, part int
	// calls maps a chat tool call index to its item's index in resp.Output.
	calls  map[int]int
	finish string
	usage  *openai.Usage
	buf    []byte
	// The open reasoning item's text, thinking blocks, and the text no
	// block has taken yet (a signature may come alone, after its text).
	rtext, unsigned strings.Builder
	rblocks         []openai.ThinkingBlock
}

// NewStream starts the translation of the stream answering req.
func NewStream(req *Request, meta Meta) *Stream {
	return &Stream{req: req, meta: meta, open: -1, part: -1, calls: map[int]int{}}
}

// Start returns response.created and response.in_progress; later calls
// return nothing. Chunk, Finish and Fail start the stream themselves, so Start
// is only needed to send those events before the first chunk.
func (s *Stream) Start() []byte {
	s.start("")
	return s.flush()
}

func (s *Stream) start(model string) {
	if s.started {
		return
	}
	s.started = true
	s.resp = newResponse(s.req, s.meta, model)
	s.lifecycle("response.created")
	s.lifecycle("response.in_progress")
}

// Chunk translates one chat.completion.chunk. An undecodable chunk is an
// *openai.Error (upstream_error); end the stream with Fail(err) then. Chunks
// after the end are ignored.
func (s *Stream) Chunk(data []byte) ([]byte, error) {
	if s.ended {
		return nil, nil
	}
	var ch openai.ChatCompletionChunk
	if err := json.Unmarshal(data, &ch); err != nil {
		return s.flush(), &openai.Error{Code: openai.CodeUpstreamError, Retryable: true,
			Message: "the upstream sent a stream event that is not a chat completion chunk"}
	}
	s.start(ch.Model)
	if ch.Usage != nil {
		u := *ch.Usage
		s.usage = &u
	}
	for _, c := range ch.Choices {
		if c.Index != 0 {
			continue
		}
		if c.Delta.ReasoningContent == "" {
			c.Delta.ReasoningContent = openai.DeltaReasoning(data)[0]
		}
		if c.Delta.ReasoningContent != "" {
			s.reasoning(c.Delta.ReasoningContent)
		}
		for _, tb := range c.Delta.ThinkingBlocks {
			s.thinkingBlock(tb)
		}
		if c.Delta.Content != nil && *c.Delta.Content != "" {
			s.text(PartOutputText, *c.Delta.Content)
		}
		if c.Delta.Refusal != nil && *c.Delta.Refusal != "" {
			s.text(PartRefusal, *c.Delta.Refusal)
		}
		for _, td := range c.Delta.ToolCalls {
			s.toolCall(td)
		}
		if c.FinishReason != nil && *c.FinishReason != "" {
			s.finish = *c.FinishReason
		}
	}
	return s.flush(), nil
}

// Finish ends a stream that the upstream ended cleanly: it closes the open
// item and sends response.completed, or response.incomplete when the
// upstream stopped for length (max_output_tokens) or its content filter.
func (s *Stream) Finish() []byte {
	if s.ended {
		return nil
	}
	s.start("")
	s.ended = true
	status, _ := finishStatus(s.finish)
	itemStatus := StatusCompleted
	if status == StatusIncomplete {
		itemStatus = StatusIncomplete
	}
	s.closeOpen(itemStatus)
	settle(s.resp, s.finish, s.usage, s.meta.now())
	if s.resp.Status == StatusIncomplete {
		s.lifecycle("response.incomplete")
	} else {
		s.lifecycle("response.completed")
	}
	return s.flush()
}

// Fail ends a stream that broke (a cut connection, an upstream error event,
// an undecodable chunk): it sends an error event, then response.failed
// carrying the response with its error, the output so far (the open item
// marked incomplete) and any usage seen. That is the order in which OpenAI
// sends them; the error event carries the error both flat, as the API
// reference describes it, and nested under "error", which is what the
// official SDKs raise on.
func (s *Stream) Fail(err error) []byte {
	if s.ended {
		return nil
	}
	s.start("")
	s.ended = true
	if s.open >= 0 {
		if it := &s.resp.Output[s.open]; it.Type == TypeReasoning {
			*it = newReasoningItem(it.ID, StatusIncomplete, s.rtext.String(), s.rblocks)
		} else {
			it.Status = StatusIncomplete
		}
		s.open, s.part = -1, -1
	}
	s.resp.Usage = UsageFromChat(s.usage)
	s.fail(err)
	return s.flush()
}

// fail marks the response failed with err and sends the error event and
// response.failed.
func (s *Stream) fail(err error) {
	e := openai.AsError(err)
	s.resp.Status = StatusFailed
	s.resp.CompletedAt = nil
	s.resp.Error = &ResponseError{Code: errorCode(e), Message: e.Message}
	body := e.Body().Error
	s.emit("error", &errorEvent{Code: body.Code, Message: body.Message, Param: body.Param, Error: body})
	s.lifecycle("response.failed")
}

// Response is the response as streamed so far: after Finish or Fail, the
// final one, to store and to bill (nil before the stream started). Do not
// modify it while the stream is running.
func (s *Stream) Response() *Response { return s.resp }

// Usage is the chat usage the upstream reported (nil until its usage chunk).
func (s *Stream) Usage() *openai.Usage { return s.usage }

// text appends a text or refusal delta to the open message, opening the
// message and the part as needed.
func (s *Stream) text(kind, delta string) {
	if s.open < 0 || s.resp.Output[s.open].Type != TypeMessage {
		s.closeOpen(StatusCompleted)
		s.resp.Output = append(s.resp.Output, Item{Type: TypeMessage, ID: s.meta.newID("msg"), Status: StatusInProgress,
			Role: "assistant", Content: Content{List: true, Parts: []Part{}}})
		s.open = len(s.resp.Output) - 1
		s.emit("response.output_item.added", &itemEvent{OutputIndex: s.open, Item: s.resp.Output[s.open]})
	}
	it := &s.resp.Output[s.open]
	if s.part < 0 || it.Content.Parts[s.part].Type != kind {
		s.closePart()
		it.Content.Parts = append(it.Content.Parts, Part{Type: kind})
		s.part = len(it.Content.Parts) - 1
		s.emit("response.content_part.added", &partEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: s.part,
			Part: it.Content.Parts[s.part]})
	}
	p := &it.Content.Parts[s.part]
	if kind == PartRefusal {
		p.Refusal += delta
		s.emit("response.refusal.delta", &deltaEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: s.part, Delta: delta})
		return
	}
	p.Text += delta
	s.emit("response.output_text.delta", &textDeltaEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: s.part, Delta: delta,
		Logprobs: []json.RawMessage{}})
}

// toolCall folds one tool call delta in. The first delta of a call opens its
// function_call item (closing the item before); later ones stream its
// arguments. A provider that repeats the name or id on every delta is fine:
// the first one is kept.
func (s *Stream) toolCall(td openai.ToolCallDelta) {
	name, args := "", ""
	if td.Function != nil {
		name, args = td.Function.Name, td.Function.Arguments
	}
	idx, ok := s.calls[td.Index]
	if !ok {
		s.closeOpen(StatusCompleted)
		callID := td.ID
		if callID == "" {
			callID = s.meta.newID("call")
		}
		s.resp.Output = append(s.resp.Output, Item{Type: TypeFunctionCall, ID: s.meta.newID("fc"), Status: StatusInProgress,
			CallID: callID, Name: name})
		idx = len(s.resp.Output) - 1
		s.calls[td.Index], s.open = idx, idx
		s.emit("response.output_item.added", &itemEvent{OutputIndex: idx, Item: s.resp.Output[idx]})
	}
	it := &s.resp.Output[idx]
	if it.Name == "" {
		it.Name = name
	}
	if args == "" {
		return
	}
	it.Arguments += args
	if idx == s.open {
		s.emit("response.function_call_arguments.delta", &argsDeltaEvent{ItemID: it.ID, OutputIndex: idx, Delta: args})
	}
	// A delta for a call already closed (a provider interleaving parallel
	// calls) cannot be streamed any more; it still reaches the final response.
}

// reasoning appends reasoning text to the open reasoning item, opening the
// item and its reasoning_text part as needed.
func (s *Stream) reasoning(delta string) {
	s.openReasoning()
	it := &s.resp.Output[s.open]
	if s.part < 0 {
		s.part = 0
		s.emit("response.content_part.added", &partEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: 0,
			Part: reasoningPart("")})
	}
	s.rtext.WriteString(delta)
	s.unsigned.WriteString(delta)
	s.emit("response.reasoning_text.delta", &deltaEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: 0, Delta: delta})
}

// thinkingBlock adds a signed (or redacted) thinking block to the open
// reasoning item; a signature that came alone signs the text before it.
func (s *Stream) thinkingBlock(tb openai.ThinkingBlock) {
	s.openReasoning()
	if tb.Type == openai.ThinkingTypeThinking {
		if tb.Thinking == "" {
			tb.Thinking = s.unsigned.String()
		}
		s.unsigned.Reset()
	}
	s.rblocks = append(s.rblocks, tb)
}

// openReasoning makes the open item a reasoning item, closing another one.
func (s *Stream) openReasoning() {
	if s.open >= 0 && s.resp.Output[s.open].Type == TypeReasoning {
		return
	}
	s.closeOpen(StatusCompleted)
	s.rtext.Reset()
	s.unsigned.Reset()
	s.rblocks = nil
	s.resp.Output = append(s.resp.Output, newReasoningItem(s.meta.newID("rs"), StatusInProgress, "", nil))
	s.open, s.part = len(s.resp.Output)-1, -1
	s.emit("response.output_item.added", &itemEvent{OutputIndex: s.open, Item: s.resp.Output[s.open]})
}

// closeReasoning sends the done events of the open reasoning item.
func (s *Stream) closeReasoning(status string) {
	it := &s.resp.Output[s.open]
	text := s.rtext.String()
	if s.part >= 0 {
		s.emit("response.reasoning_text.done", &reasoningDoneEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: 0, Text: text})
		s.emit("response.content_part.done", &partEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: 0, Part: reasoningPart(text)})
	}
	*it = newReasoningItem(it.ID, status, text, s.rblocks)
}

// reasoningPart is a reasoning_text content part.
func reasoningPart(text string) Part {
	raw, _ := marshal(reasoningText{Type: PartReasoningText, Text: text})
	return Part{Type: PartReasoningText, Text: text, Raw: raw}
}

// closePart sends the done events of the open content part.
func (s *Stream) closePart() {
	if s.open < 0 || s.part < 0 {
		return
	}
	it := &s.resp.Output[s.open]
	p := it.Content.Parts[s.part]
	if p.Type == PartRefusal {
		s.emit("response.refusal.done", &refusalDoneEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: s.part, Refusal: p.Refusal})
	} else {
		s.emit("response.output_text.done", &textDoneEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: s.part, Text: p.Text,
			Logprobs: []json.RawMessage{}})
	}
	s.emit("response.content_part.done", &partEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: s.part, Part: p})
	s.part = -1
}

// closeOpen sends the done events of the open item with the given status.
func (s *Stream) closeOpen(status string) {
	if s.open < 0 {
		return
	}
	it := &s.resp.Output[s.open]
	switch it.Type {
	case TypeMessage:
		s.closePart()
	case TypeFunctionCall:
		s.emit("response.function_call_arguments.done", &argsDoneEvent{ItemID: it.ID, OutputIndex: s.open, Name: it.Name, Arguments: it.Arguments})
	case TypeReasoning:
		s.closeReasoning(status)
	}
	it.Status = status
	s.emit("response.output_item.done", &itemEvent{OutputIndex: s.open, Item: *it})
	s.open, s.part = -1, -1
}

// lifecycle sends an event carrying the whole response.
func (s *Stream) lifecycle(typ string) {
	s.emit(typ, &lifecycleEvent{Response: s.resp})
}

// emit frames one event. Every event is encoded at once, so later changes to
// the response do not reach events already sent.
func (s *Stream) emit(typ string, ev event) {
	ev.set(typ, s.seq)
	s.seq++
	b, err := marshal(ev)
	if err != nil {
		// Every event is plain data or JSON kept from a decoded body.
		b = []byte(`{"type":"` + typ + `","sequence_number":` + strconv.Itoa(s.seq-1) + `}`)
	}
	s.buf = append(s.buf, "event: "...)
	s.buf = append(s.buf, typ...)
	s.buf = append(s.buf, "\ndata: "...)
	s.buf = append(s.buf, b...)
	s.buf = append(s.buf, "\n\n"...)
}

func (s *Stream) flush() []byte {
	out := s.buf
	s.buf = nil
	return out
}

// event is one stream event; head carries the fields every event has.
type event interface{ set(typ string, seq int) }

type head struct {
	Type           string `json:"type"`
	SequenceNumber int    `json:"sequence_number"`
}

func (h *head) set(typ string, seq int) { h.Type, h.SequenceNumber = typ, seq }

type lifecycleEvent struct {
	head
	Response *Response `json:"response"`
}

type itemEvent struct {
	head
	OutputIndex int  `json:"output_index"`
	Item        Item `json:"item"`
}

type partEvent struct {
	head
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Part         Part   `json:"part"`
}

type deltaEvent struct {
	head
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

type textDeltaEvent struct {
	head
	ItemID       string            `json:"item_id"`
	OutputIndex  int               `json:"output_index"`
	ContentIndex int               `json:"content_index"`
	Delta        string            `json:"delta"`
	Logprobs     []json.RawMessage `json:"logprobs"`
}

type textDoneEvent struct {
	head
	ItemID       string            `json:"item_id"`
	OutputIndex  int               `json:"output_index"`
	ContentIndex int               `json:"content_index"`
	Text         string            `json:"text"`
	Logprobs     []json.RawMessage `json:"logprobs"`
}

type reasoningDoneEvent struct {
	head
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Text         string `json:"text"`
}

type refusalDoneEvent struct {
	head
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Refusal      string `json:"refusal"`
}

type argsDeltaEvent struct {
	head
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Delta       string `json:"delta"`
}

type argsDoneEvent struct {
	head
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Name        string `json:"name"`
	Arguments   string `json:"arguments"`
}

type errorEvent struct {
	head
	Code    *string            `json:"code"`
	Message string             `json:"message"`
	Param   *string            `json:"param"`
	Error   openai.ErrorDetail `json:"error"`
}
