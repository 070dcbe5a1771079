package sse

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func readAll(t *testing.T, body string) ([]Event, error) {
	t.Helper()
	r := NewReader(strings.NewReader(body))
	var evs []Event
	for {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestReaderReturnsEventsAndCleanEOF(t *testing.T) {
	evs, err := readAll(t, "event: a\ndata: {\"x\":1}\n\n: heartbeat\n\ndata: line1\ndata: line2\r\n\r\ndata: [DONE]\n\n")
	if err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3", len(evs))
	}
	if evs[0].Event != "a" || string(evs[0].Data) != `{"x":1}` {
		t.Errorf("first event = %+v", evs[0])
	}
	if string(evs[1].Data) != "line1\nline2" {
		t.Errorf("multi-line data = %q", evs[1].Data)
	}
	if !IsDone(evs[2].Data) {
		t.Errorf("last event is not [DONE]: %q", evs[2].Data)
	}
}

func TestReaderReportsBodyCutMidLineAsCut(t *testing.T) {
	evs, err := readAll(t, "data: {\"a\":1}\n\ndata: {\"b\":")
	if !errors.Is(err, ErrCut) {
		t.Fatalf("err = %v, want ErrCut", err)
	}
	if len(evs) != 1 {
		t.Fatalf("got %d events before the cut, want 1", len(evs))
	}
}

func TestReaderReportsBodyCutInsideEventWithoutDataAsCut(t *testing.T) {
	_, err := readAll(t, "data: {}\n\nevent: message_delta\n")
	if !errors.Is(err, ErrCut) {
		t.Fatalf("err = %v, want ErrCut", err)
	}
}

func TestReaderAcceptsFinalDataLineWithoutBlankLine(t *testing.T) {
	evs, err := readAll(t, "data: {\"a\":1}\n")
	if err != io.EOF || len(evs) != 1 {
		t.Fatalf("evs=%d err=%v, want one event then EOF", len(evs), err)
	}
}

func TestReaderSkipsHeartbeatOnlyStreamToEOF(t *testing.T) {
	evs, err := readAll(t, ": ping\n\n: ping\n\n")
	if err != io.EOF || len(evs) != 0 {
		t.Fatalf("evs=%d err=%v", len(evs), err)
	}
}

func TestReaderHandlesLinesLongerThanItsBuffer(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	evs, err := readAll(t, "data: "+long+"\n\n")
	if err != io.EOF || len(evs) != 1 || len(evs[0].Data) != len(long) {
		t.Fatalf("err=%v events=%d", err, len(evs))
	}
}

func TestWriterFramesAndFlushes(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec)
	if err := w.Data([]byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Done(); err != nil {
		t.Fatal(err)
	}
	if got := rec.Body.String(); got != "data: {\"a\":1}\n\ndata: [DONE]\n\n" {
		t.Fatalf("body = %q", got)
	}
	if !rec.Flushed {
		t.Fatal("writer did not flush")
	}
}
