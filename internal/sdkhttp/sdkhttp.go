// Package sdkhttp mends the HTTP client of the AWS SDK clients the gateway
// builds (DynamoDB, Bedrock).
package sdkhttp

import (
	"io"
	"net/http"
)

// Doer is the HTTP client an AWS SDK client's Options take.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// ReadOnlyBodies is c with request bodies that net/http can only Read.
//
// The SDK (smithy-go's ClientHandler) closes a request's body as soon as Do
// returns, that is once the response headers are in, and its body wrapper
// then answers WriteTo with io.EOF (Read with 0, io.EOF). net/http's write
// loop, after sending the body's ContentLength bytes, drains the body once
// more with io.Copy, which uses WriteTo and reports its io.EOF as an error:
// the request write fails and the transport closes the connection. A server
// that answers as soon as it has the body can get its headers through before
// that last read, and the connection is then closed under the response
// still being read ("read tcp ...: use of closed network connection": a
// Bedrock event stream cut, a DynamoDB answer lost). Without WriteTo the
// drain Reads, and io.Copy takes io.EOF from Read as the end of the body.
func ReadOnlyBodies(c Doer) Doer { return readOnlyBodies{c} }

type readOnlyBodies struct{ Doer }

func (c readOnlyBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = readOnlyBody{req.Body}
	}
	return c.Doer.Do(req)
}

// readOnlyBody hides any method of its body but Read and Close.
type readOnlyBody struct{ rc io.ReadCloser }

func (b readOnlyBody) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b readOnlyBody) Close() error               { return b.rc.Close() }
