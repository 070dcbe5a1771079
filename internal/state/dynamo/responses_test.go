package dynamo_test

import (
	"context"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/statetest"
)

func TestResponsesConformance(t *testing.T) {
	c := newClient(t)
	clock := statetest.NewFakeClock(time.Now())
	statetest.RunResponses(t, func(t *testing.T) *state.Store {
		return dynamo.New(c, newTable(t, c), dynamo.WithClock(clock.Now))
	}, clock)
}

func TestResponsesAreCompressedAboveAFewKBAndRefusedPastTheItemLimit(t *testing.T) {
	c := newClient(t)
	table := newTable(t, c)
	st := dynamo.New(c, table)
	ctx := context.Background()
	raw := func(id string) map[string]types.AttributeValue {
		t.Helper()
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "RESP#" + id}, "sk": &types.AttributeValueMemberS{Value: "RESP"},
		}})
		if err != nil || out.Item == nil {
			t.Fatalf("raw GetItem %s = %v, %v", id, out, err)
		}
		return out.Item
	}
	small := []byte(`{"response":{"id":"resp_small"}}`)
	if err := st.Responses.Put(ctx, "k1", "resp_small", small, time.Hour); err != nil {
		t.Fatal(err)
	}
	if item := raw("resp_small"); item["gz"] != nil || len(item["body"].(*types.AttributeValueMemberB).Value) != len(small) {
		t.Errorf("a small response was compressed: %v", item)
	}
	history := []byte(strings.Repeat(`{"type":"message","role":"user","content":"and then?"},`, 200))
	if err := st.Responses.Put(ctx, "k1", "resp_big", history, time.Hour); err != nil {
		t.Fatal(err)
	}
	item := raw("resp_big")
	if gz, ok := item["gz"].(*types.AttributeValueMemberBOOL); !ok || !gz.Value {
		t.Errorf("a %d-byte response was not compressed", len(history))
	}
	if n := len(item["body"].(*types.AttributeValueMemberB).Value); n*5 > len(history) {
		t.Errorf("stored %d bytes for %d of repetitive JSON", n, len(history))
	}
	if owner := item["owner"].(*types.AttributeValueMemberS).Value; owner != "k:k1" {
		t.Errorf("owner attribute = %q", owner)
	}
	if _, ok := item["ttl"].(*types.AttributeValueMemberN); !ok {
		t.Error("no ttl attribute")
	}
	random := make([]byte, 380<<10)
	_, _ = rand.NewChaCha8([32]byte{9}).Read(random)
	if err := st.Responses.Put(ctx, "k1", "resp_huge", random, time.Hour); err == nil {
		t.Fatal("a blob over the item limit after compression was accepted")
	}
}

func TestResponsesCallBudget(t *testing.T) {
	c := newClient(t)
	var calls dynamo.CallCounter
	st := dynamo.New(c, newTable(t, c), dynamo.WithCallCounter(&calls))
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		op   func() error
		want map[string]int64
	}{
		{"Put", func() error { return st.Responses.Put(ctx, "k", "resp_1", []byte("x"), time.Hour) }, map[string]int64{"PutItem": 1}},
		{"Get", func() error { _, err := st.Responses.Get(ctx, "k", "resp_1"); return err }, map[string]int64{"GetItem": 1}},
		{"Delete", func() error { return st.Responses.Delete(ctx, "k", "resp_1") }, map[string]int64{"TransactWriteItems": 1}},
	} {
		calls.Reset()
		if err := tt.op(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := calls.Snapshot(); !maps.Equal(got, tt.want) {
			t.Errorf("%s made %v calls, want %v", tt.name, got, tt.want)
		}
	}
}
