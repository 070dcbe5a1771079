package anthropic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// The native calls pass a client's Messages API request to Anthropic as it
// is, for the gateway's own /v1/messages: no translation either way, so every
// field Anthropic has (and adds) reaches it, and its answer reaches the
// client byte for byte.

// NativeRequest is a Messages API call passed through.
type NativeRequest struct {
	// Body is the client's request body with its model set to the upstream
	// model; it is sent unchanged.
	Body []byte
	// Beta is the client's anthropic-beta header, forwarded after any
	// configured one ("" for none).
	Beta string
}

// Messages sends a non-stream request to POST /v1/messages and returns the
// upstream's answer body unchanged. Usage is left zero: the caller meters the
// answer (messages.NativeUsage). A 2xx answer that is not a message is an
// upstream error.
func (p *Provider) Messages(ctx context.Context, req *NativeRequest) (*provider.Response, error) {
	raw, err := p.up.DoJSON(ctx, http.MethodPost, p.url, p.nativeHeader(req.Beta), req.Body, nil)
	if err != nil {
		return nil, err
	}
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, provider.BadUpstreamBody(p.up.Name, err)
	}
	if probe.Type != "message" {
		return nil, provider.BadUpstreamBody(p.up.Name, fmt.Errorf("type %q is not a message", probe.Type))
	}
	return &provider.Response{Body: raw, ContentType: "application/json"}, nil
}

// CountTokens sends a request to POST /v1/messages/count_tokens and returns
// the upstream's answer body ({"input_tokens":N}) unchanged.
func (p *Provider) CountTokens(ctx context.Context, req *NativeRequest) (*provider.Response, error) {
	raw, err := p.up.DoJSON(ctx, http.MethodPost, p.url+"/count_tokens", p.nativeHeader(req.Beta), req.Body, nil)
	if err != nil {
		return nil, err
	}
	var probe struct {
		InputTokens *int `json:"input_tokens"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil || probe.InputTokens == nil {
		return nil, provider.BadUpstreamBody(p.up.Name, errors.New("the answer has no input_tokens"))
	}
	return &provider.Response{Body: raw, ContentType: "application/json"}, nil
}

// MessagesStream sends a stream request (the body's own "stream": true) to
// POST /v1/messages and returns the upstream's events as they arrive. Errors
// are those of Messages, for an upstream that refused before its first event.
func (p *Provider) MessagesStream(ctx context.Context, req *NativeRequest) (*NativeStream, error) {
	hr, err := provider.NewJSONRequest(ctx, http.MethodPost, p.url, p.nativeHeader(req.Beta), req.Body)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Accept", "text/event-stream")
	resp, err := p.up.Do(hr, nil)
	if err != nil {
		return nil, err
	}
	return NewNativeStream(ctx, p.up, resp.Body), nil
}

// NewNativeStream reads a Messages stream, as server-sent events, from body:
// an upstream's answer, or the events of another transport rendered as SSE
// (Bedrock's InvokeModelWithResponseStream). A read error is the stream cut
// short; an *openai.Error keeps its own message.
func NewNativeStream(ctx context.Context, up provider.Upstream, body io.ReadCloser) *NativeStream {
	return &NativeStream{up: up, ctx: ctx, body: body, br: newFrameReader(body)}
}

// newFrameReader reads a native stream: 4 KB of buffer per open stream (a
// longer line is gathered from several reads, up to maxFrame).
func newFrameReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 4<<10) }

// nativeHeader is header() with the client's anthropic-beta joined to the
// configured one.
func (p *Provider) nativeHeader(beta string) http.Header {
	h := p.header()
	if beta = strings.TrimSpace(beta); beta != "" {
		if have := h.Get("anthropic-beta"); have != "" {
			beta = have + "," + beta
		}
		h.Set("anthropic-beta", beta)
	}
	return h
}

// Frame is one event of an upstream Messages stream.
type Frame struct {
	// Event is the event's type: its event: field, else its data's "type".
	Event string
	// Data is the event's data (its data: lines joined); nil for a frame
	// that holds only comments.
	Data []byte
	// Raw is the frame as it arrived, through the blank line that ends it:
	// what a pass-through sends on. An error event's is redacted of the
	// provider's secrets.
	Raw []byte
	// Err is set on an error event: the failure as the gateway reports it
	// (retryable, naming the provider).
	Err *openai.Error
}

// NativeStream reads an upstream Messages stream frame by frame, keeping
// each frame's bytes. It tells a complete stream (one that sent
// message_stop) from one cut short.
type NativeStream struct {
	up      provider.Upstream
	ctx     context.Context
	body    io.ReadCloser
	br      *bufio.Reader
	stopped bool // message_stop was read
	once    sync.Once
}

// maxFrame bounds one frame so a hostile upstream cannot grow memory without end.
const maxFrame = 16 << 20

// Next returns the next frame. It returns io.EOF once message_stop has been
// returned, and an *openai.Error when the stream ended without it (a cut
// connection, a read failure). An error event is returned as a frame with
// Err set; the caller decides whether the stream goes on.
func (s *NativeStream) Next() (Frame, error) {
	if s.stopped {
		return Frame{}, io.EOF
	}
	var raw, data bytes.Buffer
	var f Frame
	hasData := false
	lineStart := 0
	inFrame := false // a field or comment line was read
	for {
		line, err := s.br.ReadSlice('\n')
		raw.Write(line)
		if raw.Len() > maxFrame {
			return Frame{}, s.cut(errors.New("an event is too long"))
		}
		if err == bufio.ErrBufferFull {
			continue // the rest of the line follows
		}
		if err != nil {
			switch {
			case err == io.EOF && !inFrame && raw.Len() == lineStart:
				return Frame{}, s.cut(errors.New("the upstream closed the stream before message_stop"))
			case err == io.EOF && hasData && raw.Len() == lineStart:
				// The last event, without its blank line: complete enough.
			case s.ctx.Err() != nil:
				return Frame{}, provider.TransportError(s.ctx, s.up.Name, s.ctx.Err())
			case err == io.EOF:
				return Frame{}, s.cut(errors.New("the body ended inside an event"))
			default:
				return Frame{}, s.cut(err)
			}
			break
		}
		text := bytes.TrimRight(raw.Bytes()[lineStart:], "\r\n")
		lineStart = raw.Len()
		if len(text) == 0 {
			if inFrame {
				break
			}
			continue // blank lines before an event: kept with it
		}
		inFrame = true
		if text[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(text, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "event":
			f.Event = string(value)
		}
	}
	f.Raw = raw.Bytes()
	if !hasData {
		return f, nil
	}
	f.Data = data.Bytes()
	var ev struct {
		Type  string       `json:"type"`
		Error *errorDetail `json:"error"`
	}
	_ = json.Unmarshal(f.Data, &ev) // not JSON: relayed as it is
	if f.Event == "" {
		f.Event = ev.Type
	}
	switch f.Event {
	case "message_stop":
		s.stopped = true
		s.Close()
	case "error":
		msg := ""
		if ev.Error != nil {
			msg = ev.Error.Message
			if msg == "" {
				msg = ev.Error.Type
			}
		}
		f.Err = s.up.ErrorEvent(msg)
		f.Raw = []byte(s.up.Secrets.Redact(string(f.Raw)))
	}
	return f, nil
}

func (s *NativeStream) cut(err error) *openai.Error {
	var ge *openai.Error
	if errors.As(err, &ge) {
		return ge
	}
	return &openai.Error{Code: openai.CodeUpstreamError, Provider: s.up.Name, Retryable: true,
		Message: fmt.Sprintf("provider %s stream was cut: %v", s.up.Name, err)}
}

// Close releases the upstream connection. Safe to call more than once.
func (s *NativeStream) Close() error {
	s.once.Do(func() { s.body.Close() })
	return nil
}
