package dynamo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state/dynamo"
)

// stalledDynamoDB accepts requests and never answers them (until the test
// ends); it counts them.
func stalledDynamoDB(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv, &n
}

// A request's settlement runs under context.WithoutCancel, which drops the
// request's deadline: WithCallDeadline still ends it, so a stalled DynamoDB
// cannot hold a Lambda invocation past its timeout.
func TestWithCallDeadlineEndsACallOnAStalledTableEvenWithoutCancel(t *testing.T) {
	srv, calls := stalledDynamoDB(t)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	client, err := dynamo.NewClient(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for name, ctx := range map[string]context.Context{
		"a request's context": dynamo.WithCallDeadline(context.Background(), time.Now().Add(300*time.Millisecond)),
		"a context without its cancellation": context.WithoutCancel(
			dynamo.WithCallDeadline(context.Background(), time.Now().Add(300*time.Millisecond))),
	} {
		began := time.Now()
		_, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}, "sk": &types.AttributeValueMemberS{Value: "k"}}})
		took := time.Since(began)
		if err == nil || took > 2*time.Second {
			t.Errorf("%s: GetItem on a stalled table returned %v after %s, want an error by the call deadline", name, err, took)
		}
	}
	if calls.Load() == 0 {
		t.Fatal("the stalled endpoint was never called")
	}
}

// Without any deadline of its own, a call on a stalled AWS table ends after
// its three attempts of 3 s each: a stalled key lookup on the api function
// gets the gateway's 503 in under 10 s, not API Gateway's after 29 s.
// (DynamoDB Local and LocalStack get 10 s an attempt: see client.go.)
func TestACallOnAStalledTableEndsWithinItsAttempts(t *testing.T) {
	srv, calls := stalledDynamoDB(t)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	// No endpoint: the client tunes itself for AWS's regional one; then its
	// requests are sent to the stalled server instead.
	client, err := dynamo.NewClient(context.Background(), "", func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
	})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}, "sk": &types.AttributeValueMemberS{Value: "k"}}})
	took := time.Since(began)
	// 3 × 3 s and the backoff; the old 10 s attempts took 30 s. The upper
	// bound leaves a busy machine's scheduling room.
	if err == nil || took > 20*time.Second || took < 8*time.Second || calls.Load() != 3 {
		t.Fatalf("GetItem on a stalled table: %v after %s and %d attempts; want an error after 3 attempts of 3 s", err, took, calls.Load())
	}
}
