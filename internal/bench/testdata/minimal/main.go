// Command minimal is the smallest aws-lambda-go function: the baseline the
// benchmark compares the gateway's bootstrap INIT time and size with.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, map[string]any) (string, error) { return "ok", nil })
}
