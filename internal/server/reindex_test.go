package server_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/server"
	"github.com/aigateway/gateway/internal/testutil"
)

// `gateway reindex-keys` runs on the table the configuration names and says
// what it moved; without a DynamoDB store it refuses, saying what to set.
func TestReindexKeysCommand(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	err := server.ReindexKeys(ctx, nil, func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "GATEWAY_STORE=dynamodb") {
		t.Fatalf("with the memory store: %v", err)
	}

	endpoint := testutil.DynamoEndpoint(t)
	c := testutil.DynamoClient(t, endpoint)
	table := testutil.NewTable(t, c, "gw-reindex")
	// A key's index item as keys were indexed before (ReindexKeys moves index items only).
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "KEYID#old-1"}, "sk": &types.AttributeValueMemberS{Value: "KEY"},
		"hash": &types.AttributeValueMemberS{Value: strings.Repeat("a", 64)},
	}}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GATEWAY_STORE": "dynamodb", "TABLE_NAME": table, "DYNAMODB_ENDPOINT": endpoint}
	out.Reset()
	if err := server.ReindexKeys(ctx, nil, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
	if want := "table " + table + ": 1 keys moved into the key index: old-1\n"; out.String() != want {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
}
