// Package runtimeapi is a small emulator of the AWS Lambda Runtime API for
// tests and `make invoke`: it lets a real `bootstrap` run as a local process
// and hands its responses back as they stream.
//
// It serves what a custom runtime (aws-lambda-go) calls:
//
//	GET  /2018-06-01/runtime/invocation/next          the next event (blocks until Invoke)
//	POST /2018-06-01/runtime/invocation/{id}/response the response, read as it arrives (chunked)
//	POST /2018-06-01/runtime/invocation/{id}/error    a failed invocation
//	POST /2018-06-01/runtime/init/error               a failed start
//
// A streaming function's response has the content type
// application/vnd.awslambda.http-integration-response: a JSON prelude
// (status, headers, cookies; a REST API's also multiValueHeaders), 8 NUL
// bytes, then the body (see ReadPrelude). Function URLs and REST APIs with
// responseTransferMode STREAM read the same format.
// An error a streaming function reports after its first byte arrives as the
// Lambda-Runtime-Function-Error-Type/-Body trailers (Invocation.Err).
//
// A client that goes away (closes Invocation.Body) is modelled on what Lambda
// does: the function is not told. AWS's "Response streaming for Lambda
// functions" guide (configuration-response-streaming) says "streamed responses
// are not interrupted or stopped when the invoking client connection is
// broken" and that the full function duration is billed; the runtime clients
// see no event either (aws-lambda-nodejs-runtime-interface-client issue #145:
// the response stream's "close" never fires when a Function URL client
// aborts). So the emulator keeps reading the function's response, discards
// it (Invocation.Discarded counts it) and answers 202 when the function ends
// it, and the function goes on to the next invocation.
//
// Deadlines are enforced as Lambda does: each invocation gets Timeout, sent
// as Lambda-Runtime-Deadline-Ms; a response not finished by then is cut and
// the invocation fails with Sandbox.Timedout (Lambda then resets the
// execution environment; here the function's late POST is refused, which
// ends an aws-lambda-go runtime). Unlike the real service it runs one
// invocation at a time per bootstrap process.
package runtimeapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// StreamingContentType is the content type of a streamed HTTP response.
const StreamingContentType = "application/vnd.awslambda.http-integration-response"

const prefix = "/2018-06-01/runtime"

// Server is a running emulator.
type Server struct {
	// Timeout is the deadline sent with each invocation (default 5 minutes).
	Timeout time.Duration
	// FunctionARN is sent as Lambda-Runtime-Invoked-Function-Arn.
	FunctionARN string

	ln    net.Listener
	srv   *http.Server
	queue chan *pending

	mu        sync.Mutex
	seq       int
	inflight  map[string]*pending
	firstNext time.Time
	ready     chan struct{}
	initErr   chan *FunctionError
}

type pending struct {
	id      string
	event   []byte
	started chan *Invocation
	// handed is closed when the function took the event; deadline is set
	// before.
	handed   chan struct{}
	deadline time.Time
	// answered is set (under Server.mu) when the function's answer was
	// handed to Invoke; abandoned when Invoke gave up waiting for it (its
	// ctx ended): the answer is then read and discarded.
	answered, abandoned bool
}

// Start listens on a loopback port and serves the Runtime API.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Timeout:     5 * time.Minute,
		FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:local",
		ln:          ln,
		queue:       make(chan *pending),
		inflight:    map[string]*pending{},
		ready:       make(chan struct{}),
		initErr:     make(chan *FunctionError, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/invocation/next", s.next)
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/response", s.response)
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/error", s.invocationError)
	mux.HandleFunc("POST "+prefix+"/init/error", s.initError)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, cutting open connections.
func (s *Server) Close() error { return s.srv.Close() }

// Ready is closed when the function first asks for an event: its init is
// done.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// FirstNext is when the function first asked for an event (zero before).
func (s *Server) FirstNext() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstNext
}

// InitError delivers the error a function reported on /init/error.
func (s *Server) InitError() <-chan *FunctionError { return s.initErr }

// TimedOutType is the error type of an invocation that ran past its deadline.
const TimedOutType = "Sandbox.Timedout"

// FunctionError is an error a function reported.
type FunctionError struct {
	// Type is the Lambda-Runtime-Function-Error-Type (header or trailer).
	Type string
	// Body is the error document, usually {"errorMessage","errorType"}.
	Body []byte
}

func (e *FunctionError) Error() string {
	var doc struct {
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal(e.Body, &doc) == nil && doc.Message != "" {
		return e.Type + ": " + doc.Message
	}
	return e.Type + ": " + string(e.Body)
}

// Invocation is one response as the function sends it.
type Invocation struct {
	// ID is the request id the event was sent with.
	ID string
	// Header holds the response POST's headers (Content-Type tells a streamed
	// HTTP response from a plain JSON result).
	Header http.Header
	// Body is the response as it arrives. Closing it before the end acts as
	// a client that went away: as on Lambda, the function is not told and
	// the rest of its response is read and discarded.
	Body io.ReadCloser
	// Deadline is the invocation's deadline, as the function was told.
	Deadline time.Time

	done      chan struct{}
	err       *FunctionError
	ended     time.Time
	discarded int64
}

// Ended waits until the whole response arrived (or was cut) and returns when.
func (inv *Invocation) Ended() time.Time {
	<-inv.done
	return inv.ended
}

// Discarded waits until the whole response arrived and returns how many bytes
// of it the function sent after the client went away.
func (inv *Invocation) Discarded() int64 {
	<-inv.done
	return inv.discarded
}

// Err waits until the whole response arrived and returns the error the
// function reported: on /error, or in the trailers of a streamed response.
// A nil error means success.
func (inv *Invocation) Err() error {
	<-inv.done
	if inv.err == nil {
		return nil
	}
	return inv.err
}

// Streaming reports whether the response is a streamed HTTP response.
func (inv *Invocation) Streaming() bool {
	return inv.Header.Get("Content-Type") == StreamingContentType
}

// Invoke queues event for the function and waits until the function starts
// answering (or ctx ends). Read the answer from the returned Invocation. A
// function that does not start answering by the invocation's deadline gets
// an Invocation with no body whose Err is a Sandbox.Timedout error, and its
// late answer is refused. When ctx ends first, the caller is a client that
// went away before the first byte: the answer, whenever it comes, is read and
// discarded.
func (s *Server) Invoke(ctx context.Context, event []byte) (*Invocation, error) {
	s.mu.Lock()
	s.seq++
	p := &pending{id: fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq), event: event,
		started: make(chan *Invocation, 1), handed: make(chan struct{})}
	s.inflight[p.id] = p
	s.mu.Unlock()
	select {
	case s.queue <- p:
	case <-ctx.Done():
		s.forget(p)
		return nil, fmt.Errorf("runtimeapi: the function never asked for the event: %w", ctx.Err())
	}
	<-p.handed
	deadline := time.NewTimer(time.Until(p.deadline))
	defer deadline.Stop()
	var gaveUp error
	select {
	case inv := <-p.started:
		return inv, nil
	case <-deadline.C:
	case <-ctx.Done():
		gaveUp = ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case p.answered && gaveUp != nil:
		inv := <-p.started // it started just as ctx ended: discard it
		_ = inv.Body.Close()
		return nil, fmt.Errorf("runtimeapi: no response: %w", gaveUp)
	case p.answered:
		return <-p.started, nil // the response started just in time
	case gaveUp != nil:
		p.abandoned = true
		return nil, fmt.Errorf("runtimeapi: no response: %w", gaveUp)
	}
	delete(s.inflight, p.id)
	inv := &Invocation{ID: p.id, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(nil)), Deadline: p.deadline,
		done: make(chan struct{}), ended: time.Now(), err: s.timedOut()}
	close(inv.done)
	return inv, nil
}

// forget drops p, which the function never took.
func (s *Server) forget(p *pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, p.id)
}

// timedOut is the error of an invocation that ran past its deadline, worded
// as Lambda words it.
func (s *Server) timedOut() *FunctionError {
	body, _ := json.Marshal(map[string]string{
		"errorType":    TimedOutType,
		"errorMessage": fmt.Sprintf("Task timed out after %.2f seconds", s.Timeout.Seconds()),
	})
	return &FunctionError{Type: TimedOutType, Body: body}
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.firstNext.IsZero() {
		s.firstNext = time.Now()
		close(s.ready)
	}
	s.mu.Unlock()
	select {
	case p := <-s.queue:
		p.deadline = time.Now().Add(s.Timeout).Truncate(time.Millisecond)
		close(p.handed)
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", p.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(p.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", s.FunctionARN)
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(p.event)
	case <-r.Context().Done():
	}
}

// answer hands the Invocation newInv builds to the Invoke waiting for it. It
// reports false, having answered the function, for a request id that is
// unknown, already answered or past its deadline. An answer nobody waits for
// any more (Invoke gave up) is accepted and discarded.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, newInv func(p *pending) *Invocation) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.inflight[r.PathValue("id")]
	if p == nil {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`)
		return false
	}
	delete(s.inflight, p.id)
	p.answered = true
	inv := newInv(p)
	if p.abandoned {
		_ = inv.Body.Close()
	}
	p.started <- inv // buffered, and sent once: never blocks
	return true
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	pr, pw := io.Pipe()
	var inv *Invocation
	if !s.answer(w, r, func(p *pending) *Invocation {
		inv = &Invocation{ID: p.id, Header: r.Header.Clone(), Body: pr, Deadline: p.deadline, done: make(chan struct{})}
		return inv
	}) {
		return
	}
	defer close(inv.done)
	defer func() { inv.ended = time.Now() }()
	// The response must be over by the deadline.
	_ = http.NewResponseController(w).SetReadDeadline(inv.Deadline)
	gone := false
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 && gone {
			inv.discarded += int64(n)
		} else if n > 0 {
			// Each read is handed on as it came: a chunk the function wrote
			// reaches the reader as one Read. When the reader went away, the
			// rest is read and dropped, as Lambda does when a client
			// disconnects: the function is not told (see the package doc).
			if _, werr := pw.Write(buf[:n]); werr != nil {
				gone = true
				inv.discarded += int64(n)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				inv.err = s.timedOut()
			} else {
				inv.err = &FunctionError{Type: "Runtime.TruncatedResponse", Body: []byte(err.Error())}
			}
			pw.CloseWithError(inv.err)
			// Cut the function's connection: its response is over.
			if conn, _, herr := http.NewResponseController(w).Hijack(); herr == nil {
				_ = conn.Close()
				return
			}
			panic(http.ErrAbortHandler)
		}
	}
	if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
		body, _ := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
		inv.err = &FunctionError{Type: t, Body: body}
	}
	pw.Close()
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !s.answer(w, r, func(p *pending) *Invocation {
		inv := &Invocation{ID: p.id, Header: r.Header.Clone(), Body: io.NopCloser(bytes.NewReader(body)),
			Deadline: p.deadline, done: make(chan struct{}), ended: time.Now()}
		inv.err = &FunctionError{Type: r.Header.Get("Lambda-Runtime-Function-Error-Type"), Body: body}
		close(inv.done)
		return inv
	}) {
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	select {
	case s.initErr <- &FunctionError{Type: r.Header.Get("Lambda-Runtime-Function-Error-Type"), Body: body}:
	default:
	}
	w.WriteHeader(http.StatusAccepted)
}

// Prelude is the head of a streamed HTTP response. A REST API's may carry
// multiValueHeaders beside headers; API Gateway merges the two.
type Prelude struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Cookies           []string            `json:"cookies"`
}

// Header is every header of the prelude, merged as API Gateway merges
// them: a name's multiValueHeaders values, then its headers value unless it
// is one of them.
func (p *Prelude) Header() http.Header {
	h := http.Header{}
	for k, vs := range p.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range p.Headers {
		if !slices.Contains(h.Values(k), v) {
			h.Add(k, v)
		}
	}
	return h
}

// ErrNoPrelude is returned when a streamed response does not start with a
// JSON prelude followed by 8 NUL bytes.
var ErrNoPrelude = errors.New("runtimeapi: streamed response without a prelude")

// ReadPrelude reads the JSON prelude and the 8 NUL bytes that end it; the
// body follows in br.
func ReadPrelude(br *bufio.Reader) (*Prelude, error) {
	head, err := br.ReadBytes(0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPrelude, err)
	}
	for range 7 {
		b, err := br.ReadByte()
		if err != nil || b != 0 {
			return nil, ErrNoPrelude
		}
	}
	var p Prelude
	if err := json.Unmarshal(head[:len(head)-1], &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPrelude, err)
	}
	return &p, nil
}
