// Command stream is the Function URL function (InvokeMode RESPONSE_STREAM):
// the gateway core behind aws-lambda-go's lambdaurl, so SSE reaches the
// client chunk by chunk.
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
	lambda.StartHandlerFunc(lambdafn.Stream(h))
}
