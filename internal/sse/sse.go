// Package sse reads upstream Server-Sent Events and writes client ones.
//
// The reader tells a clean end of stream from a cut connection: Next returns
// io.EOF only when the body ended at an event boundary; a body that stops in the
// middle of an event, or fails while being read, returns ErrCut (wrapping the
// cause). Whether a stream that ended cleanly was complete (it saw `[DONE]` or
// the provider's stop event) is for the caller to judge.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrCut reports a stream that stopped before it was complete.
var ErrCut = errors.New("stream cut before its end")

// Event is one SSE event. Data joins multi-line data with "\n".
type Event struct {
	Event string
	Data  []byte
	ID    string
}

// Reader reads events from an upstream body.
type Reader struct {
	br   *bufio.Reader
	data bytes.Buffer
}

// maxLine bounds one line so a hostile upstream cannot grow memory without end.
const maxLine = 8 << 20

// readBuffer is the reader's buffer, one per open stream, so it is kept
// small: an event is usually well under 1 KB, and a longer line is gathered
// from several reads (up to maxLine). At 16 KB it was the largest of the
// gateway's own allocations per stream (20 of 96 MiB of heap with 1,000
// streams open, client and upstream included).
const readBuffer = 4 << 10

// NewReader wraps r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, readBuffer)}
}

// Next returns the next event with data (events with no data lines, comments
// and heartbeats are skipped). It returns io.EOF at a clean end and an error
// wrapping ErrCut when the body ends mid-event or a read fails.
func (r *Reader) Next() (Event, error) {
	var ev Event
	r.data.Reset()
	hasData, inEvent := false, false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF {
				if hasData {
					// Some servers close right after the last data line without
					// a blank line; treat a complete line as a complete event.
					ev.Data = append([]byte(nil), r.data.Bytes()...)
					return ev, nil
				}
				if inEvent {
					return Event{}, fmt.Errorf("%w: body ended inside an event", ErrCut)
				}
				return Event{}, io.EOF
			}
			return Event{}, fmt.Errorf("%w: %v", ErrCut, err)
		}
		if len(line) == 0 {
			if hasData {
				ev.Data = append([]byte(nil), r.data.Bytes()...)
				return ev, nil
			}
			ev, inEvent = Event{}, false
			continue
		}
		if line[0] == ':' {
			continue
		}
		inEvent = true
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if hasData {
				r.data.WriteByte('\n')
			}
			r.data.Write(value)
			hasData = true
		case "event":
			ev.Event = string(value)
		case "id":
			ev.ID = string(value)
		}
	}
}

// readLine returns one line without its end (\n, \r\n). A final line without a
// line end is returned with io.ErrUnexpectedEOF as a cut.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(buf) > maxLine {
				return nil, errors.New("line too long")
			}
			line, err = r.br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// Done is the OpenAI end-of-stream marker.
var Done = []byte("[DONE]")

// IsDone reports whether data is the `[DONE]` marker.
func IsDone(data []byte) bool { return bytes.Equal(bytes.TrimSpace(data), Done) }

// Writer writes client-facing SSE and flushes after every event when the
// underlying writer can flush.
type Writer struct {
	w       io.Writer
	flusher http.Flusher
}

// NewWriter wraps w.
func NewWriter(w io.Writer) *Writer {
	f, _ := w.(http.Flusher)
	return &Writer{w: w, flusher: f}
}

// SetHeaders sets the response headers of an SSE stream.
func SetHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
}

// Data writes `data: <b>\n\n` and flushes.
func (w *Writer) Data(b []byte) error {
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	if _, err := w.w.Write(buf); err != nil {
		return err
	}
	w.Flush()
	return nil
}

// Done writes `data: [DONE]\n\n`.
func (w *Writer) Done() error { return w.Data(Done) }

// Flush flushes when possible.
func (w *Writer) Flush() {
	if w.flusher != nil {
		w.flusher.Flush()
	}
}
