package openai

import (
	"encoding/json"
	"sort"
	"strings"
)

// Accumulator rebuilds a complete ChatCompletion from streamed chunks, so a
// finished stream can be cached and replayed as JSON or as SSE. Reasoning is
// kept: the reasoning_content text (or "reasoning", see DeltaReasoning) and
// the thinking blocks (with their signatures, and redacted blocks whole) a
// provider streams beside it; a replay names the text reasoning_content.
type Accumulator struct {
	c       ChatCompletion
	content map[int]*strings.Builder
	calls   map[int]map[int]*ToolCall // choice → tool index → call
	order   map[int][]int
	choices map[int]*Choice
	// reasoning is each choice's reasoning text; unsigned the part of it
	// no thinking block has taken yet.
	reasoning, unsigned map[int]*strings.Builder
	// Valid is false when a chunk could not be decoded: the stream must not be cached.
	Valid bool
}

// NewAccumulator starts an empty accumulator.
func NewAccumulator() *Accumulator {
	return &Accumulator{content: map[int]*strings.Builder{}, calls: map[int]map[int]*ToolCall{},
		order: map[int][]int{}, choices: map[int]*Choice{}, reasoning: map[int]*strings.Builder{},
		unsigned: map[int]*strings.Builder{}, Valid: true}
}

// Add folds one chunk's JSON in.
func (a *Accumulator) Add(data []byte) {
	var ch ChatCompletionChunk
	if err := json.Unmarshal(data, &ch); err != nil {
		a.Valid = false
		return
	}
	if a.c.ID == "" {
		a.c.ID, a.c.Created, a.c.Model, a.c.SystemFingerprint = ch.ID, ch.Created, ch.Model, ch.SystemFingerprint
	}
	if ch.Usage != nil {
		u := *ch.Usage
		a.c.Usage = &u
	}
	alias := DeltaReasoning(data)
	for _, cc := range ch.Choices {
		if cc.Delta.ReasoningContent == "" {
			cc.Delta.ReasoningContent = alias[cc.Index]
		}
		choice, ok := a.choices[cc.Index]
		if !ok {
			choice = &Choice{Index: cc.Index, Message: ResponseMessage{Role: "assistant"}}
			a.choices[cc.Index] = choice
			a.content[cc.Index] = &strings.Builder{}
			a.calls[cc.Index] = map[int]*ToolCall{}
			a.reasoning[cc.Index], a.unsigned[cc.Index] = &strings.Builder{}, &strings.Builder{}
		}
		if t := cc.Delta.ReasoningContent; t != "" {
			a.reasoning[cc.Index].WriteString(t)
			a.unsigned[cc.Index].WriteString(t)
		}
		for _, tb := range cc.Delta.ThinkingBlocks {
			// A signature may come alone, for the text streamed before it.
			if tb.Type == ThinkingTypeThinking && tb.Thinking == "" {
				tb.Thinking = a.unsigned[cc.Index].String()
			}
			if tb.Type == ThinkingTypeThinking {
				a.unsigned[cc.Index].Reset()
			}
			choice.Message.ThinkingBlocks = append(choice.Message.ThinkingBlocks, tb)
		}
		if cc.Delta.Content != nil {
			a.content[cc.Index].WriteString(*cc.Delta.Content)
		}
		if cc.Delta.Refusal != nil {
			r := ""
			if choice.Message.Refusal != nil {
				r = *choice.Message.Refusal
			}
			r += *cc.Delta.Refusal
			choice.Message.Refusal = &r
		}
		for _, td := range cc.Delta.ToolCalls {
			call, ok := a.calls[cc.Index][td.Index]
			if !ok {
				call = &ToolCall{Type: "function"}
				a.calls[cc.Index][td.Index] = call
				a.order[cc.Index] = append(a.order[cc.Index], td.Index)
			}
			if td.ID != "" {
				call.ID = td.ID
			}
			if td.Function != nil {
				call.Function.Name += td.Function.Name
				call.Function.Arguments += td.Function.Arguments
			}
		}
		if cc.FinishReason != nil {
			choice.FinishReason = *cc.FinishReason
		}
	}
}

// Completion returns the rebuilt completion.
func (a *Accumulator) Completion() *ChatCompletion {
	c := a.c
	c.Object = "chat.completion"
	idx := make([]int, 0, len(a.choices))
	for i := range a.choices {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	c.Choices = make([]Choice, 0, len(idx))
	for _, i := range idx {
		ch := *a.choices[i]
		ch.Message.ThinkingBlocks = append([]ThinkingBlock(nil), ch.Message.ThinkingBlocks...)
		ch.Message.ReasoningContent = a.reasoning[i].String()
		text := a.content[i].String()
		order := append([]int(nil), a.order[i]...)
		sort.Ints(order)
		for _, ti := range order {
			ch.Message.ToolCalls = append(ch.Message.ToolCalls, *a.calls[i][ti])
		}
		if text != "" || len(ch.Message.ToolCalls) == 0 {
			ch.Message.Content = &text
		}
		c.Choices = append(c.Choices, ch)
	}
	return &c
}

// Chunks renders a completion as the chunks a stream of it would have sent:
// per choice a role chunk, the reasoning (reasoningDeltas), the content, each
// tool call, the finish chunk; then the usage chunk when withUsage and the
// completion has usage.
func (c *ChatCompletion) Chunks(withUsage bool) [][]byte {
	var out [][]byte
	emit := func(choices []ChunkChoice, usage *Usage) {
		ch := ChatCompletionChunk{ID: c.ID, Object: "chat.completion.chunk", Created: c.Created, Model: c.Model,
			SystemFingerprint: c.SystemFingerprint, Choices: choices, Usage: usage}
		b, _ := json.Marshal(ch)
		out = append(out, b)
	}
	for _, choice := range c.Choices {
		d := Delta{Role: "assistant", Content: Ptr("")}
		emit([]ChunkChoice{{Index: choice.Index, Delta: d}}, nil)
		for _, rd := range reasoningDeltas(choice.Message) {
			emit([]ChunkChoice{{Index: choice.Index, Delta: rd}}, nil)
		}
		if choice.Message.Content != nil && *choice.Message.Content != "" {
			emit([]ChunkChoice{{Index: choice.Index, Delta: Delta{Content: choice.Message.Content}}}, nil)
		}
		if choice.Message.Refusal != nil {
			emit([]ChunkChoice{{Index: choice.Index, Delta: Delta{Refusal: choice.Message.Refusal}}}, nil)
		}
		for i, tc := range choice.Message.ToolCalls {
			emit([]ChunkChoice{{Index: choice.Index, Delta: Delta{ToolCalls: []ToolCallDelta{{
				Index: i, ID: tc.ID, Type: "function",
				Function: &FunctionCallDelta{Name: tc.Function.Name, Arguments: tc.Function.Arguments},
			}}}}}, nil)
		}
		fr := choice.FinishReason
		emit([]ChunkChoice{{Index: choice.Index, Delta: Delta{}, FinishReason: &fr}}, nil)
	}
	if withUsage && c.Usage != nil {
		emit([]ChunkChoice{}, c.Usage)
	}
	return out
}

// reasoningDeltas are the deltas that stream m's reasoning as providers
// stream it: per thinking block its text as reasoning_content, then the
// block with its signature (a redacted block whole); then any reasoning
// text no block holds. A message whose blocks do not spell out the start of
// its reasoning text streams the text first and the blocks after it.
func reasoningDeltas(m ResponseMessage) []Delta {
	var out []Delta
	rest := m.ReasoningContent
	var signed strings.Builder
	for _, tb := range m.ThinkingBlocks {
		if tb.Type == ThinkingTypeThinking {
			signed.WriteString(tb.Thinking)
		}
	}
	inline := strings.HasPrefix(rest, signed.String())
	if !inline && rest != "" {
		out = append(out, Delta{ReasoningContent: rest})
	}
	for _, tb := range m.ThinkingBlocks {
		if inline && tb.Type == ThinkingTypeThinking && tb.Thinking != "" {
			out = append(out, Delta{ReasoningContent: tb.Thinking})
		}
		out = append(out, Delta{ThinkingBlocks: []ThinkingBlock{tb}})
	}
	if inline {
		if rest = strings.TrimPrefix(rest, signed.String()); rest != "" {
			out = append(out, Delta{ReasoningContent: rest})
		}
	}
	return out
}
