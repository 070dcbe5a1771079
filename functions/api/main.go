// Command api is the API Gateway HTTP API (payload 2.0) function: the gateway
// core behind aws-lambda-go-api-proxy. Responses are buffered; streaming
// clients use the stream function's Function URL.
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
	lambda.StartHandlerFunc(lambdafn.API(h))
}
