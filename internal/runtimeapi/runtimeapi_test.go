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
