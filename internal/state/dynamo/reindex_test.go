package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/dynamo"
)

// Keys indexed the old way (KEYID#<id>) are listed once ReindexKeys has
// moved them into the KEYS index; an id the new index already gives another
// hash is left alone and reported; a second run moves nothing.
func TestReindexKeysMovesTheOldIndexSoThatListShowsThem(t *testing.T) {
	c := newClient(t)
	table := newTable(t, c)
	st := dynamo.New(c, table)
	ctx := context.Background()
	created := time.Now().UTC().Truncate(time.Second)
	item := func(pk, sk, hash string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk},
			"sk": &types.AttributeValueMemberS{Value: sk}, "hash": &types.AttributeValueMemberS{Value: hash}}
	}
	// indexOld moves a created key's index item to where keys were indexed before.
	indexOld := func(k *state.Key) {
		t.Helper()
		if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "KEYS"}, "sk": &types.AttributeValueMemberS{Value: k.ID}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item("KEYID#"+k.ID, "KEY", k.Hash)}); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	for i := range 5 {
		k := &state.Key{ID: fmt.Sprintf("key-%d", i), Hash: strings.Repeat(fmt.Sprint(i), 64), Enabled: true, CreatedAt: created.Add(time.Duration(i) * time.Second)}
		if err := st.Keys.Create(ctx, k); err != nil {
			t.Fatal(err)
		}
		all = append(all, k.ID)
		if i%2 == 0 {
			indexOld(k) // key-0, key-2, key-4
		}
	}
	// An old index item whose id the new index gives another key.
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item("KEYID#key-1", "KEY", strings.Repeat("f", 64))}); err != nil {
		t.Fatal(err)
	}
	// Other items the Scan passes over.
	for i := range 20 {
		if err := st.Cache.Put(ctx, fmt.Sprint("c", i), &state.CacheEntry{Body: []byte("x")}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	ids := func() []string {
		keys, err := st.Keys.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range keys {
			out = append(out, k.ID)
		}
		return out
	}
	if got := ids(); !slices.Equal(got, []string{"key-1", "key-3"}) {
		t.Fatalf("before: listed %v", got)
	}

	moved, left, err := dynamo.ReindexKeys(ctx, c, table)
	slices.Sort(moved)
	if err != nil || !slices.Equal(moved, []string{"key-0", "key-2", "key-4"}) || !slices.Equal(left, []string{"key-1"}) {
		t.Fatalf("ReindexKeys: moved %v, left %v, %v", moved, left, err)
	}
	if got := ids(); !slices.Equal(got, all) {
		t.Fatalf("after: listed %v, want %v", got, all)
	}
	// The moved keys still work by id, and their old index items are gone.
	for _, id := range moved {
		if _, err := st.Keys.ByID(ctx, id); err != nil {
			t.Fatalf("ByID(%s) after the move: %v", id, err)
		}
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "KEYID#" + id}, "sk": &types.AttributeValueMemberS{Value: "KEY"}}})
		if err != nil || out.Item != nil {
			t.Fatalf("the old index item of %s: %v, %v", id, out.Item, err)
		}
	}
	if k, err := st.Keys.ByID(ctx, "key-1"); err != nil || k.Hash != strings.Repeat("1", 64) {
		t.Fatalf("the conflicting id now reads %+v, %v; want the new index's key", k, err)
	}
	moved, left, err = dynamo.ReindexKeys(ctx, c, table)
	if err != nil || len(moved) != 0 || !slices.Equal(left, []string{"key-1"}) {
		t.Fatalf("a second run: moved %v, left %v, %v", moved, left, err)
	}
}
