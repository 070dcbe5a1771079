// Command stream is the streaming function behind both streaming front
// doors: its Function URL (InvokeMode RESPONSE_STREAM, aws-lambda-go's
// lambdaurl) and the API Gateway REST API (responseTransferMode STREAM).
// lambdafn.Streaming tells the two event shapes apart, so SSE reaches the
// client chunk by chunk through either.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/aigateway/gateway/internal/lambdafn"
)

func main() {
	h, err := lambdafn.New(context.Background(), os.Getenv)
	if err != nil {
		lambdafn.Exit(err)
	}
	lambda.StartHandlerFunc(lambdafn.Streaming(h))
}
