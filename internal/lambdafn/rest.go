package lambdafn

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// RESTStream adapts h to an API Gateway REST API whose Lambda proxy
// integration streams (responseTransferMode STREAM, the function invoked
// with InvokeWithResponseStream). The event is the REST proxy request
// (payload format 1.0); the answer is aws-lambda-go's
// APIGatewayProxyStreamingResponse, which the runtime sends as a JSON
// prelude (status and headers), 8 NUL bytes, then the body as h writes it.
//
// The writer h gets behaves as on a Function URL (Stream): the status and
// headers are sent at the first Write, WriteHeader or Flush and frozen
// there; every Write reaches API Gateway as it happens (Flush has nothing
// left to push, it only sends the headers early); a write that fails
// because the client went away cancels the request context (ClientGone).
// A panic that escapes h ends the response with an error instead of the
// execution environment.
func RESTStream(h http.Handler) func(context.Context, *events.APIGatewayProxyRequest) (*events.APIGatewayProxyStreamingResponse, error) {
	h = Deadline(ClientGone(h))
	return func(ctx context.Context, ev *events.APIGatewayProxyRequest) (*events.APIGatewayProxyStreamingResponse, error) {
		req, err := restRequest(ctx, ev)
		if err != nil {
			return nil, err
		}
		pr, pw := io.Pipe()
		w := &streamWriter{header: http.Header{}, body: pw, ready: make(chan struct{})}
		go func() {
			defer func() {
				if p := recover(); p != nil {
					w.commit(http.StatusInternalServerError)
					pw.CloseWithError(fmt.Errorf("lambdafn: the handler panicked: %v", p))
					return
				}
				w.commit(http.StatusOK) // a handler that wrote nothing answers 200 with no body
				pw.Close()
			}()
			h.ServeHTTP(w, req)
		}()
		<-w.ready
		resp := &events.APIGatewayProxyStreamingResponse{StatusCode: w.status, Body: pr}
		resp.Headers, resp.MultiValueHeaders = splitHeaders(w.sent)
		return resp, nil
	}
}

// restRequest is the http.Request a REST API proxy event stands for: its
// method, path (without the stage: API Gateway strips it), query and headers
// (the multi-value forms when the event has them), body (decoded when
// base64) and caller's address.
func restRequest(ctx context.Context, ev *events.APIGatewayProxyRequest) (*http.Request, error) {
	var body io.Reader = strings.NewReader(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("lambdafn: REST event body: %w", err)
		}
		body = bytes.NewReader(b)
	}
	header := http.Header{}
	if len(ev.MultiValueHeaders) > 0 {
		for k, vs := range ev.MultiValueHeaders {
			for _, v := range vs {
				header.Add(k, v)
			}
		}
	} else {
		for k, v := range ev.Headers {
			header.Add(k, v)
		}
	}
	query := url.Values(ev.MultiValueQueryStringParameters)
	if len(query) == 0 && len(ev.QueryStringParameters) > 0 {
		query = url.Values{}
		for k, v := range ev.QueryStringParameters {
			query.Set(k, v)
		}
	}
	host := header.Get("Host")
	if host == "" {
		host = ev.RequestContext.DomainName
	}
	path := ev.Path
	if path == "" {
		path = "/"
	}
	u := &url.URL{Scheme: "https", Host: host, Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, ev.HTTPMethod, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("lambdafn: REST event: %w", err)
	}
	req.Header = header
	req.Host = host
	req.RemoteAddr = ev.RequestContext.Identity.SourceIP
	return req, nil
}

// streamWriter is the http.ResponseWriter of a streamed response: the
// status and a copy of the headers are handed over once (ready), then
// every Write goes straight into the pipe the Lambda runtime reads.
type streamWriter struct {
	header http.Header
	body   *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
	status int
	sent   http.Header // the headers as they were at the first write
}

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		return // informational answers have no place in a streamed prelude
	}
	w.commit(code)
}

func (w *streamWriter) Write(b []byte) (int, error) {
	w.commit(http.StatusOK)
	return w.body.Write(b)
}

// Flush sends the status and headers if nothing did yet: each Write
// already reaches the runtime as it happens.
func (w *streamWriter) Flush() { w.commit(http.StatusOK) }

func (w *streamWriter) commit(code int) {
	w.once.Do(func() {
		w.status, w.sent = code, w.header.Clone()
		close(w.ready)
	})
}

// splitHeaders puts each single-valued header in headers and each header
// with several values (Set-Cookie, Vary, ...) in multiValueHeaders: API
// Gateway merges the two, and a name in only one of them keeps its values
// exactly.
func splitHeaders(h http.Header) (single map[string]string, multi map[string][]string) {
	for k, vs := range h {
		switch len(vs) {
		case 0:
		case 1:
			if single == nil {
				single = make(map[string]string, len(h))
			}
			single[k] = vs[0]
		default:
			if multi == nil {
				multi = map[string][]string{}
			}
			multi[k] = vs
		}
	}
	return single, multi
}
