package lambdafn_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/aigateway/gateway/internal/lambdafn"
	"github.com/aigateway/gateway/internal/runtimeapi"
)

// runRESTEvent runs a REST API proxy event through h (lambdafn.Streaming, as
// the stream function does) and reads the answer as the Lambda runtime sends
// it to API Gateway: the prelude, 8 NUL bytes, the body.
func runRESTEvent(t *testing.T, h func(context.Context, *lambdafn.StreamEvent) (io.Reader, error), data []byte) eventResponse {
	t.Helper()
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("not a REST API proxy event: %v", err)
	}
	if ev.HTTPMethod == "" || ev.Resource == "" || ev.RequestContext.Stage == "" ||
		!strings.Contains(ev.RequestContext.DomainName, ".execute-api.") {
		t.Fatalf("not a REST API proxy event: httpMethod %q, resource %q, stage %q, domain %q",
			ev.HTTPMethod, ev.Resource, ev.RequestContext.Stage, ev.RequestContext.DomainName)
	}
	var sev lambdafn.StreamEvent
	if err := json.Unmarshal(data, &sev); err != nil {
		t.Fatal(err)
	}
	out, err := h(context.Background(), &sev)
	if err != nil {
		t.Fatal(err)
	}
	resp, ok := out.(*events.APIGatewayProxyStreamingResponse)
	if !ok {
		t.Fatalf("a REST event answered with %T, want *events.APIGatewayProxyStreamingResponse", out)
	}
	defer resp.Close()
	pre, body := readStreamed(t, resp)
	return eventResponse{status: pre.StatusCode, header: flat(pre.Header()), body: body}
}

// readStreamed reads r as the runtime posts it: prelude, NULs, body.
func readStreamed(t *testing.T, r io.Reader) (*runtimeapi.Prelude, string) {
	t.Helper()
	br := bufio.NewReader(r)
	pre, err := runtimeapi.ReadPrelude(br)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	return pre, string(body)
}

func restEvent(method, path string) *events.APIGatewayProxyRequest {
	return &events.APIGatewayProxyRequest{
		Resource: "/{proxy+}", Path: path, HTTPMethod: method,
		RequestContext: events.APIGatewayProxyRequestContext{
			Stage: "prod", DomainName: "abc123defg.execute-api.us-east-1.amazonaws.com",
			Identity: events.APIGatewayRequestIdentity{SourceIP: "198.51.100.7"},
		},
	}
}

func TestRESTStreamTurnsTheEventIntoTheRequest(t *testing.T) {
	var got *http.Request
	var body string
	h := lambdafn.RESTStream(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
	}))
	ev := restEvent("POST", "/v1/chat/completions")
	ev.MultiValueHeaders = map[string][]string{"Authorization": {"Bearer sk-gw-1"}, "X-Many": {"a", "b"},
		"Host": {"gw.example.com"}}
	ev.Headers = map[string]string{"X-Many": "b", "Authorization": "Bearer sk-gw-1"} // API Gateway's last-value copy
	ev.MultiValueQueryStringParameters = map[string][]string{"tag": {"x y", "z&"}}
	ev.QueryStringParameters = map[string]string{"tag": "z&"}
	ev.Body = base64.StdEncoding.EncodeToString([]byte(`{"model":"m"}`))
	ev.IsBase64Encoded = true
	resp, err := h(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	readStreamed(t, resp)
	if got.Method != "POST" || got.URL.Path != "/v1/chat/completions" {
		t.Errorf("%s %s", got.Method, got.URL.Path)
	}
	if q := got.URL.Query()["tag"]; len(q) != 2 || q[0] != "x y" || q[1] != "z&" {
		t.Errorf("query %q, want both values of the multi-value form", got.URL.RawQuery)
	}
	if v := got.Header.Values("X-Many"); len(v) != 2 || v[0] != "a" || v[1] != "b" {
		t.Errorf("X-Many %q, want both values", v)
	}
	if got.Header.Get("Authorization") != "Bearer sk-gw-1" || got.Host != "gw.example.com" {
		t.Errorf("Authorization %q, Host %q", got.Header.Get("Authorization"), got.Host)
	}
	if got.RemoteAddr != "198.51.100.7" {
		t.Errorf("RemoteAddr %q", got.RemoteAddr)
	}
	if body != `{"model":"m"}` {
		t.Errorf("body %q, want the base64 decoded", body)
	}

	// Without the multi-value forms (a test invoke from the console), the
	// single ones serve; without a Host header, the domain name.
	ev = restEvent("GET", "/v1/models")
	ev.Headers = map[string]string{"Authorization": "Bearer sk-gw-2"}
	ev.QueryStringParameters = map[string]string{"q": "1"}
	if resp, err = h(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	readStreamed(t, resp)
	if got.Header.Get("Authorization") != "Bearer sk-gw-2" || got.URL.Query().Get("q") != "1" ||
		got.Host != "abc123defg.execute-api.us-east-1.amazonaws.com" {
		t.Errorf("single-value forms: %v %q %q", got.Header, got.URL.RawQuery, got.Host)
	}

	ev.Body, ev.IsBase64Encoded = "not base64!", true
	if _, err := h(context.Background(), ev); err == nil {
		t.Error("a body that is not base64 was accepted")
	}
}

// Each write reaches the reader while the handler is still running, the
// prelude has the headers of the first write and not those set after it,
// and repeated headers go out as multiValueHeaders.
func TestRESTStreamSendsEachWriteAsItHappens(t *testing.T) {
	step := make(chan struct{})
	h := lambdafn.RESTStream(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Add("Vary", "Origin")
		w.Header().Add("Vary", "Accept")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "data: one\n\n")
		w.Header().Set("X-Too-Late", "1")
		<-step
		_, _ = io.WriteString(w, "data: two\n\n")
	}))
	resp, err := h(context.Background(), restEvent("POST", "/v1/chat/completions"))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp)
	pre, err := runtimeapi.ReadPrelude(br)
	if err != nil {
		t.Fatal(err)
	}
	if pre.StatusCode != http.StatusAccepted || pre.Headers["Content-Type"] != "text/event-stream" {
		t.Errorf("prelude %+v", pre)
	}
	if v := pre.MultiValueHeaders["Vary"]; len(v) != 2 || pre.Headers["Vary"] != "" {
		t.Errorf("Vary: headers %q, multiValueHeaders %q; want both values in multiValueHeaders only", pre.Headers["Vary"], v)
	}
	if _, ok := pre.Header()["X-Too-Late"]; ok {
		t.Error("a header set after the first write reached the prelude")
	}
	first, err := br.ReadString('\n')
	if err != nil || first != "data: one\n" {
		t.Fatalf("first line %q, %v: the first write did not arrive before the handler went on", first, err)
	}
	close(step)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: two\n\n" {
		t.Errorf("rest %q", rest)
	}
}

// A Flush before any write sends the prelude at once: the client sees the
// status and headers while the handler still waits for the model.
func TestRESTStreamFlushSendsTheHeadersEarly(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := lambdafn.RESTStream(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		http.NewResponseController(w).Flush()
		<-release
	}))
	done := make(chan *events.APIGatewayProxyStreamingResponse, 1)
	go func() {
		resp, _ := h(context.Background(), restEvent("POST", "/v1/chat/completions"))
		done <- resp
	}()
	select {
	case resp := <-done:
		pre, err := runtimeapi.ReadPrelude(bufio.NewReader(resp))
		if err != nil || pre.StatusCode != 200 || pre.Headers["Content-Type"] != "text/event-stream" {
			t.Errorf("prelude %+v, %v", pre, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Flush did not send the prelude")
	}
}

// A client that goes away (the runtime stops reading) cancels the request
// context with ErrClientGone, so the upstream request stops.
func TestRESTStreamCancelsTheRequestWhenTheClientGoes(t *testing.T) {
	cause := make(chan error, 1)
	h := lambdafn.RESTStream(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for {
			if _, err := io.WriteString(w, "data: x\n\n"); err != nil {
				break
			}
		}
		<-r.Context().Done()
		cause <- context.Cause(r.Context())
	}))
	resp, err := h(context.Background(), restEvent("POST", "/v1/chat/completions"))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp)
	if _, err := runtimeapi.ReadPrelude(br); err != nil {
		t.Fatal(err)
	}
	_, _ = br.ReadString('\n')
	_ = resp.Close() // the response stream is gone
	select {
	case err := <-cause:
		if !errors.Is(err, lambdafn.ErrClientGone) {
			t.Errorf("cause %v, want ErrClientGone", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request context was not cancelled")
	}
}

// A panic that escapes the handler ends the response with an error the
// runtime reports; the process (its other invocations) lives on.
func TestRESTStreamSurvivesAPanickingHandler(t *testing.T) {
	for name, before := range map[string]bool{"before the first write": false, "after it": true} {
		t.Run(name, func(t *testing.T) {
			h := lambdafn.RESTStream(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if before {
					_, _ = io.WriteString(w, "data: x\n\n")
				}
				panic("boom")
			}))
			resp, err := h(context.Background(), restEvent("GET", "/health"))
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(resp)
			pre, err := runtimeapi.ReadPrelude(br)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 500, true: 200}[before]; pre.StatusCode != want {
				t.Errorf("status %d, want %d", pre.StatusCode, want)
			}
			if _, err := io.ReadAll(br); err == nil || !strings.Contains(err.Error(), "panicked: boom") {
				t.Errorf("body read error %v, want the panic", err)
			}
		})
	}
}

// A handler that writes nothing answers 200 with an empty body.
func TestRESTStreamWithoutAWriteAnswers200(t *testing.T) {
	h := lambdafn.RESTStream(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	resp, err := h(context.Background(), restEvent("GET", "/"))
	if err != nil {
		t.Fatal(err)
	}
	pre, body := readStreamed(t, resp)
	if pre.StatusCode != 200 || body != "" {
		t.Errorf("%d %q", pre.StatusCode, body)
	}
}

// The stream function gets both front doors' events: Streaming answers a
// Function URL event as Stream does and a REST event as RESTStream does,
// and refuses anything else.
func TestStreamingTellsTheEventShapesApart(t *testing.T) {
	h := lambdafn.Streaming(eventCore(t, filepath.Join(eventsDir, "stream", "chat.json")))
	for fn, want := range map[string]string{
		"stream": "*events.LambdaFunctionURLStreamingResponse",
		"rest":   "*events.APIGatewayProxyStreamingResponse",
	} {
		data, err := os.ReadFile(filepath.Join(eventsDir, fn, "chat.json"))
		if err != nil {
			t.Fatal(err)
		}
		var ev lambdafn.StreamEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatal(err)
		}
		out, err := h(context.Background(), &ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%T", out); got != want {
			t.Errorf("events/%s/chat.json answered with %s, want %s", fn, got, want)
		}
		pre, body := readStreamed(t, out)
		checkEventResponse(t, eventWants["chat"], eventResponse{status: pre.StatusCode, header: flat(pre.Header()), body: body})
		if c, ok := out.(io.Closer); ok {
			_ = c.Close()
		}
	}
	for name, raw := range map[string]string{
		"an HTTP API v1 shape without httpMethod": `{"version":"1.0","path":"/health"}`,
		"an SQS message":  `{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`,
		"an empty object": `{}`,
	} {
		var ev lambdafn.StreamEvent
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			t.Fatal(err)
		}
		if _, err := h(context.Background(), &ev); !errors.Is(err, lambdafn.ErrUnknownEvent) {
			t.Errorf("%s: %v, want ErrUnknownEvent", name, err)
		}
	}
}

func flat(h http.Header) map[string]string {
	out := map[string]string{}
	for k, vs := range h {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// FuzzStreamEvent maps arbitrary events through lambdafn.Streaming with a
// handler that reads the body and echoes the path: no panic; an event it
// takes answers with a well-formed prelude and the handler's status, and
// one it refuses is neither a REST nor a Function URL event.
func FuzzStreamEvent(f *testing.F) {
	f.Add([]byte(`{"resource":"/{proxy+}","path":"/v1/models","httpMethod":"GET","requestContext":{"stage":"prod"}}`))
	f.Add([]byte(`{"resource":"/","path":"/","httpMethod":"POST","multiValueHeaders":{"A":["1","2"]},"multiValueQueryStringParameters":{"q":["x y","&"]},"body":"eyJhIjoxfQ==","isBase64Encoded":true,"requestContext":{"identity":{"sourceIp":"198.51.100.7"}}}`))
	f.Add([]byte(`{"httpMethod":"bad method","path":"%zz","body":"!!","isBase64Encoded":true}`))
	f.Add([]byte(`{"version":"2.0","rawPath":"/health","requestContext":{"http":{"method":"GET"}}}`))
	f.Add([]byte(`{"httpMethod":"GET","requestContext":[]}`))
	f.Add([]byte(`{}`))
	h := lambdafn.Streaming(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev lambdafn.StreamEvent
		if json.Unmarshal(data, &ev) != nil {
			return
		}
		out, err := h(context.Background(), &ev)
		if errors.Is(err, lambdafn.ErrUnknownEvent) && (ev.REST() || ev.Version == "2.0") {
			t.Fatalf("refused a REST or Function URL event: %s", data)
		}
		if err != nil {
			return
		}
		br := bufio.NewReader(out)
		pre, err := runtimeapi.ReadPrelude(br)
		if err != nil {
			t.Fatal(err)
		}
		if pre.StatusCode != http.StatusTeapot {
			t.Fatalf("status %d, want the handler's %d", pre.StatusCode, http.StatusTeapot)
		}
		if _, err := io.ReadAll(br); err != nil {
			t.Fatal(err)
		}
	})
}
