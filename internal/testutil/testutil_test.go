package testutil_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/testutil"
)

func TestLogBufferKeepsEveryWriteOfConcurrentWritersWhileRead(t *testing.T) {
	var l testutil.LogBuffer
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range lines {
				_, _ = l.Write([]byte("line\n"))
				_ = l.String()
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(l.String(), "line\n"); n != writers*lines {
		t.Fatalf("%d lines, want %d", n, writers*lines)
	}
}

func TestRepoRootIsTheModulesFolder(t *testing.T) {
	root := testutil.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "internal", "testutil", "testutil.go")); err != nil {
		t.Fatalf("%s is not the module root: %v", root, err)
	}
}

func TestTableNamesAreUniqueAndKeepThePrefix(t *testing.T) {
	a, b := testutil.TableName("gw-x"), testutil.TableName("gw-x")
	if a == b || !strings.HasPrefix(a, "gw-x-") || !strings.HasPrefix(b, "gw-x-") {
		t.Fatalf("%q, %q", a, b)
	}
}

func TestDynamoEndpointSkipsWhenAskedAndNoEndpointIsSet(t *testing.T) {
	var sub *testing.T
	t.Run("no endpoint, skip asked", func(t *testing.T) {
		sub = t
		t.Setenv("DYNAMODB_ENDPOINT", "")
		t.Setenv("GATEWAY_SKIP_DYNAMODB", "1")
		testutil.DynamoEndpoint(t)
		t.Error("DynamoEndpoint returned without an endpoint")
	})
	if !sub.Skipped() {
		t.Fatal("the test was not skipped")
	}
}

func TestNewTableCreatesATableAndDeletesItWhenTheTestEnds(t *testing.T) {
	c := testutil.DynamoClient(t, testutil.DynamoEndpoint(t))
	var table string
	t.Run("uses a table", func(t *testing.T) {
		table = testutil.NewTable(t, c, "gw-testutil")
		out, err := c.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Table.KeySchema) != 2 {
			t.Fatalf("key schema %v", out.Table.KeySchema)
		}
	})
	_, err := c.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var gone *types.ResourceNotFoundException
	if !errors.As(err, &gone) {
		t.Fatalf("table %s after its test: %v, want ResourceNotFoundException", table, err)
	}
}

func TestCacheOffUnlessSetKeepsACacheTableAndAddsOneOtherwise(t *testing.T) {
	if got := testutil.CacheOffUnlessSet("[auth]\nenabled = true\n"); !strings.HasSuffix(got, "[cache]\nenabled = false\n") {
		t.Errorf("no [cache] table: %q", got)
	}
	for _, toml := range []string{"[cache]\nenabled = true\n", "x = 1\n  [cache] # on\nttl = \"1h\"\n"} {
		if got := testutil.CacheOffUnlessSet(toml); got != toml {
			t.Errorf("%q became %q", toml, got)
		}
	}
}
