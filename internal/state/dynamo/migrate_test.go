package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/testutil"
)

// Spend written by the layout before key-use items (pk=SPEND#<id>,
// sk=TOTAL | DAY#..., usd_micros) is read before the key's item is written
// and moved into it by its first write, once (after an upgrade every key's
// budget started again from zero).
func TestSpendOfThePreviousLayoutIsKept(t *testing.T) {
	c := testutil.DynamoClient(t, testutil.DynamoEndpoint(t))
	table := testutil.NewTable(t, c, "gw-review")
	st := dynamo.New(c, table)
	ctx := context.Background()
	put := func(sk string) {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "SPEND#k1"}, "sk": &types.AttributeValueMemberS{Value: sk},
			"usd_micros": &types.AttributeValueMemberN{Value: "95000000"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	put("TOTAL")
	put("DAY#" + now.Format("2006-01-02"))
	got, err := st.Spend.Get(ctx, "k1", now)
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.KeyUses.Reserve(ctx, "k1", now, state.KeyUse{Micros: 1_000_000, Caps: state.SpendAmounts{Total: 100_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalMicros != 95_000_000 || got.DayMicros != 95_000_000 {
		t.Fatalf("$95 spent before the upgrade reads as %+v", got)
	}
	if !r.Allowed {
		t.Fatalf("$1 more under a $100 budget after $95: %+v", r)
	}
	// The first write moved the old spend in, once: later reads and writes count it once.
	for range 2 {
		if got, err = st.Spend.Get(ctx, "k1", now); err != nil || got.TotalMicros != 96_000_000 || got.DayMicros != 95_000_000 {
			t.Fatalf("after the first write: %+v, %v; want total $96, today $95", got, err)
		}
	}
	if r, err = st.KeyUses.Reserve(ctx, "k1", now, state.KeyUse{Micros: 1_000_000, Caps: state.SpendAmounts{Total: 100_000_000}, Whole: true}); err != nil || !r.Allowed {
		t.Fatalf("a second $1: %+v, %v", r, err)
	}
	if got, _ = st.Spend.Get(ctx, "k1", now); got.TotalMicros != 97_000_000 {
		t.Fatalf("after a second write: %+v, want total $97 (the old spend counted once)", got)
	}
}
