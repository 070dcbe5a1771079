package statetest

import (
	"os"
	"testing"
)

// Endpoint returns DynamoDB Local's endpoint from DYNAMODB_ENDPOINT, which
// `make test` sets after starting it. Without it the test fails and says how
// to start it, unless GATEWAY_SKIP_DYNAMODB=1 asks to skip.
func Endpoint(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv("DYNAMODB_ENDPOINT"); ep != "" {
		return ep
	}
	if os.Getenv("GATEWAY_SKIP_DYNAMODB") == "1" {
		t.Skip("GATEWAY_SKIP_DYNAMODB=1: skipping the DynamoDB tests")
	}
	t.Fatal("DYNAMODB_ENDPOINT is not set: run `make test`, which starts DynamoDB Local " +
		"(or start it with `localstack/dynamodb-local.sh start` and export the DYNAMODB_ENDPOINT it prints); " +
		"set GATEWAY_SKIP_DYNAMODB=1 to skip these tests")
	return ""
}
