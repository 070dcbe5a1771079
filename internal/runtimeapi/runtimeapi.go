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
// Unlike the real service it runs one invocation at a time per bootstrap
// process and does not enforce deadlines; it sends the deadline header so the
// function's context has one.
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
	// a client that went away: the function's response connection is cut.
	Body io.ReadCloser

	done chan struct{}
	err  *FunctionError
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
// answering (or ctx ends). Read the answer from the returned Invocation.
func (s *Server) Invoke(ctx context.Context, event []byte) (*Invocation, error) {
	s.mu.Lock()
	s.seq++
	p := &pending{id: fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq), event: event, started: make(chan *Invocation, 1)}
	s.inflight[p.id] = p
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inflight, p.id)
		s.mu.Unlock()
	}()
	select {
	case s.queue <- p:
	case <-ctx.Done():
		return nil, fmt.Errorf("runtimeapi: the function never asked for the event: %w", ctx.Err())
	}
	select {
	case inv := <-p.started:
		return inv, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("runtimeapi: no response: %w", ctx.Err())
	}
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
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", p.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(s.Timeout).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", s.FunctionARN)
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(p.event)
	case <-r.Context().Done():
	}
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *pending {
	s.mu.Lock()
	p := s.inflight[r.PathValue("id")]
	s.mu.Unlock()
	if p == nil {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`)
	}
	return p
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	p := s.lookup(w, r)
	if p == nil {
		return
	}
	pr, pw := io.Pipe()
	inv := &Invocation{ID: p.id, Header: r.Header.Clone(), Body: pr, done: make(chan struct{})}
	p.started <- inv
	defer close(inv.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			// Each read is handed on as it came: a chunk the function wrote
			// reaches the reader as one Read.
			if _, werr := pw.Write(buf[:n]); werr != nil {
				// The reader went away: cut the function's connection, as
				// Lambda does when the client disconnects. (Returning or
				// panicking would make the server drain the body first.)
				inv.err = &FunctionError{Type: "Client.Disconnected"}
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					_ = conn.Close()
					return
				}
				panic(http.ErrAbortHandler)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			inv.err = &FunctionError{Type: "Runtime.TruncatedResponse", Body: []byte(err.Error())}
			pw.CloseWithError(err)
			return
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
	p := s.lookup(w, r)
	if p == nil {
		return
	}
	body, _ := io.ReadAll(r.Body)
	inv := &Invocation{ID: p.id, Header: r.Header.Clone(), Body: io.NopCloser(bytes.NewReader(body)), done: make(chan struct{})}
	inv.err = &FunctionError{Type: r.Header.Get("Lambda-Runtime-Function-Error-Type"), Body: body}
	close(inv.done)
	p.started <- inv
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
