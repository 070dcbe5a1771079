package runtimeapi_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/runtimeapi"
)

const base = "/2018-06-01/runtime"

func start(t *testing.T) *runtimeapi.Server {
	t.Helper()
	s, err := runtimeapi.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// next is the function side's GET .../invocation/next.
func next(t *testing.T, s *runtimeapi.Server) (id string, event string, deadline string) {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr() + base + "/invocation/next")
	if err != nil {
		t.Error(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), string(b), resp.Header.Get("Lambda-Runtime-Deadline-Ms")
}

func invoke(t *testing.T, s *runtimeapi.Server, event string) *runtimeapi.Invocation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	inv, err := s.Invoke(ctx, []byte(event))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestAStreamedResponseArrivesChunkByChunkWithItsPrelude(t *testing.T) {
	s := start(t)
	gate := make(chan struct{})
	done := make(chan struct{})
	defer func() { <-done }() // the function side reports before the test ends
	go func() {
		defer close(done)
		id, event, deadline := next(t, s)
		if event != `{"hello":1}` || deadline == "" {
			t.Errorf("event %q, deadline %q", event, deadline)
		}
		pr, pw := io.Pipe()
		go func() {
			_, _ = io.WriteString(pw, `{"statusCode":201,"headers":{"Content-Type":"text/event-stream"}}`+strings.Repeat("\x00", 8)+"data: 1\n\n")
			<-gate // the second chunk waits until the first was read
			_, _ = io.WriteString(pw, "data: 2\n\n")
			_ = pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+base+"/invocation/"+id+"/response", pr)
		req.Header.Set("Content-Type", runtimeapi.StreamingContentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("response POST: %s", resp.Status)
		}
	}()
	inv := invoke(t, s, `{"hello":1}`)
	if !inv.Streaming() {
		t.Fatalf("Content-Type %q", inv.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(inv.Body)
	p, err := runtimeapi.ReadPrelude(br)
	if err != nil {
		t.Fatal(err)
	}
	if p.StatusCode != 201 || p.Headers["Content-Type"] != "text/event-stream" {
		t.Fatalf("prelude %+v", p)
	}
	line, err := br.ReadString('\n')
	if err != nil || line != "data: 1\n" {
		t.Fatalf("first chunk %q, %v", line, err)
	}
	close(gate)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: 2\n\n" {
		t.Fatalf("rest %q", rest)
	}
	if err := inv.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestAnErrorInTheTrailersIsTheInvocationsError(t *testing.T) {
	s := start(t)
	done := make(chan struct{})
	defer func() { <-done }() // the function side reports before the test ends
	go func() {
		defer close(done)
		id, _, _ := next(t, s)
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+base+"/invocation/"+id+"/response",
			io.NopCloser(strings.NewReader("partial")))
		req.TransferEncoding = []string{"chunked"}
		req.Trailer = http.Header{
			"Lambda-Runtime-Function-Error-Type": {"Runtime.StreamError"},
			"Lambda-Runtime-Function-Error-Body": {base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"cut"}`))},
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	inv := invoke(t, s, `{}`)
	b, _ := io.ReadAll(inv.Body)
	var fe *runtimeapi.FunctionError
	if err := inv.Err(); string(b) != "partial" || !errors.As(err, &fe) || fe.Type != "Runtime.StreamError" ||
		err.Error() != "Runtime.StreamError: cut" {
		t.Fatalf("body %q, err %v", b, err)
	}
}

func TestInvocationAndInitErrorsAreReported(t *testing.T) {
	s := start(t)
	post := func(path, typ, body string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+base+path, strings.NewReader(body))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", typ)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/init/error", "Runtime.InitError", `{"errorMessage":"no config"}`); code != http.StatusAccepted {
		t.Fatalf("init/error: %d", code)
	}
	select {
	case ie := <-s.InitError():
		if ie.Error() != "Runtime.InitError: no config" {
			t.Fatalf("init error %v", ie)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no init error")
	}
	done := make(chan struct{})
	defer func() { <-done }() // the function side reports before the test ends
	go func() {
		defer close(done)
		id, _, _ := next(t, s)
		post("/invocation/"+id+"/error", "Runtime.Panic", `{"errorMessage":"boom"}`)
	}()
	inv := invoke(t, s, `{}`)
	if err := inv.Err(); err == nil || err.Error() != "Runtime.Panic: boom" {
		t.Fatalf("err %v", err)
	}
	if code := post("/invocation/nope/response", "", "x"); code != http.StatusNotFound {
		t.Fatalf("unknown id: %d", code)
	}
	if s.FirstNext().IsZero() {
		t.Fatal("FirstNext not recorded")
	}
}

func TestReadPreludeRejectsAResponseWithoutOne(t *testing.T) {
	for name, in := range map[string]string{
		"no NULs":        `{"statusCode":200}data: x`,
		"too few NULs":   `{"statusCode":200}` + "\x00\x00\x00x",
		"not JSON":       "HTTP/1.1 200 OK" + strings.Repeat("\x00", 8),
		"an empty input": "",
	} {
		if _, err := runtimeapi.ReadPrelude(bufio.NewReader(strings.NewReader(in))); !errors.Is(err, runtimeapi.ErrNoPrelude) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestInvokeGivesUpWhenNoFunctionAsks(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Invoke(ctx, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

// post is the function side's POST of a response body for id; it returns
// the status the emulator answered (0 when the connection failed).
func post(t *testing.T, s *runtimeapi.Server, id string, body io.Reader) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+base+"/invocation/"+id+"/response", body)
	req.Header.Set("Content-Type", runtimeapi.StreamingContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAClientThatGoesAwayIsNotToldAndTheFunctionGoesOn(t *testing.T) {
	s := start(t)
	left := make(chan struct{})
	status := make(chan int, 1)
	rest := strings.Repeat("data: more\n\n", 10_000) // far more than any buffer on the way
	go func() {
		id, _, _ := next(t, s)
		pr, pw := io.Pipe()
		go func() {
			_, _ = io.WriteString(pw, `{"statusCode":200}`+strings.Repeat("\x00", 8)+"data: 1\n\n")
			<-left
			for i := 0; i < len(rest); i += 1000 { // chunk by chunk, as a handler writes
				if _, err := io.WriteString(pw, rest[i:i+1000]); err != nil {
					t.Errorf("a write after the client left failed: %v", err)
					break
				}
			}
			_ = pw.Close()
		}()
		status <- post(t, s, id, pr)
	}()
	inv := invoke(t, s, `{}`)
	br := bufio.NewReader(inv.Body)
	if _, err := runtimeapi.ReadPrelude(br); err != nil {
		t.Fatal(err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "data: 1\n" {
		t.Fatalf("first chunk %q, %v", line, err)
	}
	_ = inv.Body.Close() // the client goes away
	close(left)
	if code := <-status; code != http.StatusAccepted {
		t.Fatalf("the function's response POST got %d, want 202: Lambda does not cut the function off", code)
	}
	if err := inv.Err(); err != nil {
		t.Fatalf("err %v: the invocation succeeded as far as Lambda knows", err)
	}
	if got := inv.Discarded(); got < int64(len(rest)) || got > int64(len(rest))+32<<10 {
		t.Fatalf("discarded %d bytes, want the %d written after the client left", got, len(rest))
	}
	// The function asks for the next event on the same connection, as a warm
	// environment does.
	done := make(chan struct{})
	go func() {
		defer close(done)
		id, _, _ := next(t, s)
		if code := post(t, s, id, strings.NewReader(`{"statusCode":200}`+strings.Repeat("\x00", 8)+"again")); code != http.StatusAccepted {
			t.Errorf("second response: %d", code)
		}
	}()
	inv2 := invoke(t, s, `{}`)
	b, _ := io.ReadAll(inv2.Body)
	<-done
	if !strings.HasSuffix(string(b), "again") || inv2.Err() != nil {
		t.Fatalf("second invocation %q, %v", b, inv2.Err())
	}
}

func TestAResponseStillStreamingAtTheDeadlineTimesOut(t *testing.T) {
	s := start(t)
	// Long enough for the first chunk to come before the deadline on a busy
	// machine.
	s.Timeout = 2 * time.Second
	status := make(chan int, 1)
	go func() {
		id, _, _ := next(t, s)
		pr, pw := io.Pipe()
		go func() {
			_, _ = io.WriteString(pw, `{"statusCode":200}`+strings.Repeat("\x00", 8)+"data: 1\n\n")
			time.Sleep(3 * time.Second) // past the deadline, then one more write, which fails
			_, _ = io.WriteString(pw, "data: late\n\n")
			_ = pw.Close()
		}()
		status <- post(t, s, id, pr)
	}()
	inv := invoke(t, s, `{}`)
	b, _ := io.ReadAll(inv.Body)
	var fe *runtimeapi.FunctionError
	if err := inv.Err(); !errors.As(err, &fe) || fe.Type != runtimeapi.TimedOutType ||
		!strings.Contains(err.Error(), "Task timed out after 2.00 seconds") {
		t.Fatalf("err %v, want %s", err, runtimeapi.TimedOutType)
	}
	if !strings.HasSuffix(string(b), "data: 1\n\n") {
		t.Fatalf("body %q: what came before the deadline is delivered", b)
	}
	if over := inv.Ended().Sub(inv.Deadline); over < 0 || over > time.Second {
		t.Fatalf("cut %s after the deadline", over)
	}
	if code := <-status; code == http.StatusAccepted {
		t.Fatal("a response cut at the deadline was accepted")
	}
}

func TestAFunctionThatNeverAnswersTimesOutAndItsLateAnswerIsRefused(t *testing.T) {
	s := start(t)
	s.Timeout = 200 * time.Millisecond
	ids := make(chan string, 1)
	go func() {
		id, _, deadline := next(t, s)
		if deadline == "" {
			t.Error("no deadline header")
		}
		ids <- id
	}()
	began := time.Now()
	inv := invoke(t, s, `{}`)
	var fe *runtimeapi.FunctionError
	if err := inv.Err(); !errors.As(err, &fe) || fe.Type != runtimeapi.TimedOutType {
		t.Fatalf("err %v", err)
	}
	// Not before the deadline the function was told (to the millisecond),
	// nor long after.
	if took := time.Since(began); inv.Ended().Before(inv.Deadline) || took > 2*time.Second {
		t.Fatalf("timed out after %s (%s after the deadline), want 200ms", took, inv.Ended().Sub(inv.Deadline))
	}
	if code := post(t, s, <-ids, strings.NewReader("late")); code != http.StatusNotFound {
		t.Fatalf("late answer: %d, want 404", code)
	}
}

func TestAnAnswerAfterTheCallerGaveUpIsAcceptedAndDiscarded(t *testing.T) {
	s := start(t)
	ids := make(chan string, 1)
	go func() {
		id, _, _ := next(t, s)
		ids <- id
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Invoke(ctx, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if code := post(t, s, <-ids, strings.NewReader(strings.Repeat("x", 1<<20))); code != http.StatusAccepted {
		t.Fatalf("an answer for a client that left got %d, want 202", code)
	}
}
