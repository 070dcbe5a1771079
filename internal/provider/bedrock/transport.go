package bedrock

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
)

// readOnlyBodies is the SDK's HTTP client with request bodies that net/http
// can only Read.
//
// The SDK (smithy-go's ClientHandler) closes a request's body as soon as Do
// returns, that is once the response headers are in, and its body wrapper
// then answers WriteTo with io.EOF (Read with 0, io.EOF). net/http's write
// loop, after sending the body's ContentLength bytes, drains the body once
// more with io.Copy, which uses WriteTo and reports its io.EOF as an error:
// the request write fails and the transport closes the connection. A server
// that answers as soon as it has the body, as a ConverseStream does, can get
// its headers through before that last read, and the connection under the
// event stream is then closed ("decode event: read tcp ...: use of closed
// network connection"). Without WriteTo the drain Reads, and io.Copy takes
// io.EOF from Read as the end of the body.
type readOnlyBodies struct {
	bedrockruntime.HTTPClient
}

// Do implements bedrockruntime.HTTPClient.
func (c readOnlyBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = readOnlyBody{req.Body}
	}
	return c.HTTPClient.Do(req)
}

// readOnlyBody hides any method of its body but Read and Close.
type readOnlyBody struct{ rc io.ReadCloser }

func (b readOnlyBody) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b readOnlyBody) Close() error               { return b.rc.Close() }
