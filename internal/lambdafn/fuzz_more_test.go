package lambdafn_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/aigateway/gateway/internal/lambdafn"
)

// FuzzAPIEvent maps arbitrary API Gateway v2 events to requests through
// lambdafn.API with a handler that reads the body: no panic, and an event it
// maps is answered with the handler's status.
func FuzzAPIEvent(f *testing.F) {
	f.Add([]byte(`{"version":"2.0","rawPath":"/v1/models","requestContext":{"http":{"method":"GET","path":"/v1/models"}}}`))
	f.Add([]byte(`{"version":"2.0","rawPath":"/v1/chat/completions","rawQueryString":"a=1&b","headers":{"content-type":"application/json"},"cookies":["a=b"],"body":"eyJhIjoxfQ==","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}}}`))
	f.Add([]byte(`{"version":"2.0","rawPath":"%zz","body":"!!","isBase64Encoded":true,"requestContext":{"http":{"method":"bad method"}}}`))
	f.Add([]byte(`{}`))
	h := lambdafn.API(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "ok")
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.APIGatewayV2HTTPRequest
		if json.Unmarshal(data, &ev) != nil {
			return
		}
		resp, err := h(context.Background(), ev)
		if err != nil {
			return
		}
		if resp.StatusCode != http.StatusTeapot {
			t.Fatalf("status %d, want the handler's %d", resp.StatusCode, http.StatusTeapot)
		}
	})
}
