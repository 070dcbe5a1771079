package responses

import "encoding/json"

// Replay is the whole event sequence of a finished response, as a stream
// would have sent it, numbered from 0: for an answer the gateway already has
// (a cached one) and a client that asked for a stream.
//
// response.created and response.in_progress carry the response without
// output or usage; each output item is announced (output_item.added), its
// content parts opened, filled with one delta and closed, a function call's
// arguments sent in one delta, and the item closed with its final form;
// items of other types (reasoning, built-in tool calls) are added and done
// as they are. The last event is response.completed, response.incomplete or
// response.failed by the response's status, carrying it whole.
func Replay(resp *Response) []byte {
	final := *resp
	if final.Output == nil {
		final.Output = []Item{}
	}
	start := final
	start.Status, start.Output, start.Usage = StatusInProgress, []Item{}, nil
	start.CompletedAt, start.IncompleteDetails, start.Error = nil, nil, nil
	s := &Stream{resp: &start, started: true, ended: true, open: -1, part: -1}
	s.lifecycle("response.created")
	s.lifecycle("response.in_progress")
	for i, it := range final.Output {
		added := it
		switch it.Type {
		case TypeMessage:
			added.Status, added.Content = StatusInProgress, Content{List: true, Parts: []Part{}}
		case TypeFunctionCall:
			added.Status, added.Arguments = StatusInProgress, ""
		}
		s.emit("response.output_item.added", &itemEvent{OutputIndex: i, Item: added})
		switch it.Type {
		case TypeMessage:
			s.replayParts(i, it)
		case TypeFunctionCall:
			if it.Arguments != "" {
				s.emit("response.function_call_arguments.delta", &argsDeltaEvent{ItemID: it.ID, OutputIndex: i, Delta: it.Arguments})
			}
			s.emit("response.function_call_arguments.done", &argsDoneEvent{ItemID: it.ID, OutputIndex: i, Name: it.Name, Arguments: it.Arguments})
		}
		s.emit("response.output_item.done", &itemEvent{OutputIndex: i, Item: it})
	}
	s.resp = &final
	switch final.Status {
	case StatusIncomplete:
		s.lifecycle("response.incomplete")
	case StatusFailed:
		s.lifecycle("response.failed")
	default:
		s.lifecycle("response.completed")
	}
	return s.flush()
}

// replayParts sends the part events of output message i.
func (s *Stream) replayParts(i int, it Item) {
	parts := it.Content.Parts
	if !it.Content.List {
		parts = []Part{{Type: PartOutputText, Text: it.Content.Text}}
	}
	for j, p := range parts {
		s.emit("response.content_part.added", &partEvent{ItemID: it.ID, OutputIndex: i, ContentIndex: j, Part: Part{Type: p.Type, Raw: p.Raw}})
		switch p.Type {
		case PartRefusal:
			if p.Refusal != "" {
				s.emit("response.refusal.delta", &deltaEvent{ItemID: it.ID, OutputIndex: i, ContentIndex: j, Delta: p.Refusal})
			}
			s.emit("response.refusal.done", &refusalDoneEvent{ItemID: it.ID, OutputIndex: i, ContentIndex: j, Refusal: p.Refusal})
		case PartOutputText:
			if p.Text != "" {
				s.emit("response.output_text.delta", &textDeltaEvent{ItemID: it.ID, OutputIndex: i, ContentIndex: j, Delta: p.Text,
					Logprobs: []json.RawMessage{}})
			}
			s.emit("response.output_text.done", &textDoneEvent{ItemID: it.ID, OutputIndex: i, ContentIndex: j, Text: p.Text,
				Logprobs: []json.RawMessage{}})
		}
		s.emit("response.content_part.done", &partEvent{ItemID: it.ID, OutputIndex: i, ContentIndex: j, Part: p})
	}
}

// Failed ends a stream the gateway relayed from a native Responses upstream
// when it broke before the upstream's own end: the error event and
// response.failed, numbered from seq (one past the upstream's last event).
// resp is the response as far as the relay knows it (the upstream's last
// response object, with the items it finished); it is marked failed with
// err's message.
func Failed(resp *Response, seq int, err error) []byte {
	s := &Stream{resp: resp, seq: seq, started: true, ended: true, open: -1, part: -1}
	if s.resp.Output == nil {
		s.resp.Output = []Item{}
	}
	s.fail(err)
	return s.flush()
}
