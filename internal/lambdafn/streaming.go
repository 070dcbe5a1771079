package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// StreamEvent is an event of the stream function, from either of its front
// doors: a Function URL request (payload 2.0: version, rawPath,
// requestContext.http) or an API Gateway REST API proxy request (payload
// 1.0: resource, path, httpMethod). It has the fields of both, so the
// runtime decodes an event, body included, once; the request context, the
// one name whose shape differs, stays raw until the kind is known.
type StreamEvent struct {
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
	Body                  string            `json:"body"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
	RequestContext        json.RawMessage   `json:"requestContext"`

	// Function URL (payload 2.0).
	Version        string   `json:"version"`
	RawPath        string   `json:"rawPath"`
	RawQueryString string   `json:"rawQueryString"`
	Cookies        []string `json:"cookies"`

	// REST API proxy integration (payload 1.0).
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
}

// REST reports whether the event came through the REST API: only its
// payload format has a top-level httpMethod.
func (ev *StreamEvent) REST() bool { return ev.HTTPMethod != "" }

// ErrUnknownEvent is why Streaming refuses an event that is neither a
// Function URL request nor a REST API proxy request.
var ErrUnknownEvent = errors.New("lambdafn: the stream function serves Function URL (payload 2.0) and REST API " +
	"proxy (payload 1.0) events; this event is neither")

// Streaming adapts h to both streaming front doors of one function: a
// Function URL with InvokeMode RESPONSE_STREAM (Stream) and an API Gateway
// REST API with responseTransferMode STREAM (RESTStream). Both answer with
// the same streamed response (a JSON prelude, 8 NUL bytes, the body), so
// one function serves both and shares its warm execution environments
// between them.
func Streaming(h http.Handler) func(context.Context, *StreamEvent) (io.Reader, error) {
	url, rest := Stream(h), RESTStream(h)
	return func(ctx context.Context, ev *StreamEvent) (io.Reader, error) {
		switch {
		case ev.REST():
			req := &events.APIGatewayProxyRequest{
				Resource: ev.Resource, Path: ev.Path, HTTPMethod: ev.HTTPMethod,
				Headers: ev.Headers, MultiValueHeaders: ev.MultiValueHeaders,
				QueryStringParameters:           ev.QueryStringParameters,
				MultiValueQueryStringParameters: ev.MultiValueQueryStringParameters,
				PathParameters:                  ev.PathParameters, StageVariables: ev.StageVariables,
				Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded,
			}
			if err := decodeContext(ev.RequestContext, &req.RequestContext); err != nil {
				return nil, err
			}
			resp, err := rest(ctx, req)
			if err != nil {
				return nil, err
			}
			return resp, nil
		case ev.Version == "2.0":
			req := &events.LambdaFunctionURLRequest{
				Version: ev.Version, RawPath: ev.RawPath, RawQueryString: ev.RawQueryString,
				Cookies: ev.Cookies, Headers: ev.Headers, QueryStringParameters: ev.QueryStringParameters,
				Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded,
			}
			if err := decodeContext(ev.RequestContext, &req.RequestContext); err != nil {
				return nil, err
			}
			resp, err := url(ctx, req)
			if err != nil {
				return nil, err
			}
			return resp, nil
		default:
			return nil, ErrUnknownEvent
		}
	}
}

func decodeContext(raw json.RawMessage, into any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("lambdafn: the event's requestContext: %w", err)
	}
	return nil
}
