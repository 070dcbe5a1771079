package admission_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/memory"
	"github.com/aigateway/gateway/internal/testutil"
)

func bothStores() map[string]func(t *testing.T) *state.Store {
	return map[string]func(t *testing.T) *state.Store{
		"memory": func(*testing.T) *state.Store { return memory.New(nil) },
		"dynamodb": func(t *testing.T) *state.Store {
			c := testutil.DynamoClient(t, testutil.DynamoEndpoint(t))
			return dynamo.New(c, testutil.NewTable(t, c, "gw-review"))
		},
	}
}

// A key with fewer requests per hour than shards admits no more than its
// limit (the shards whose share was 0 admitted everything, uncounted).
func TestAShardedKeyWithALimitBelowItsShardsAdmitsOnlyItsLimit(t *testing.T) {
	for name, newStore := range bothStores() {
		t.Run(name, func(t *testing.T) {
			st := newStore(t)
			at := time.Now().Truncate(time.Hour).Add(30 * time.Minute) // one hour window for all 40
			a := admission.New(admission.Settings{AuthEnabled: true}, admission.Options{Store: st, Now: func() time.Time { return at }})
			key := &state.Key{ID: "k1", Enabled: true, Limits: state.KeyLimits{RequestsPerHour: 2, Shards: 4}}
			ctx := context.Background()
			admitted := 0
			for range 40 {
				tk, err := a.Admit(ctx, admission.Request{Key: key, Endpoint: admission.Chat, Model: "m", Plan: &router.Plan{Route: "m"}})
				if err == nil {
					admitted++
					tk.Settle(ctx, nil)
				}
			}
			if admitted > 2 {
				t.Fatalf("%d of 40 sequential requests admitted under rph=2 with 4 shards", admitted)
			}
		})
	}
}

// A key with request windows only whose requests cost nothing (unpriced
// or free model, cache hits, failed calls) settles nothing: its key-use
// item still stays small, because every reservation removes the past
// windows (only settlements did, so the item grew by an attribute a minute,
// and its first priced settlement then failed: its REMOVE passed
// DynamoDB's expression limit and the spend was lost).
func TestAKeyUseItemStaysSmallWithoutSettlements(t *testing.T) {
	c := testutil.DynamoClient(t, testutil.DynamoEndpoint(t))
	table := testutil.NewTable(t, c, "gw-review")
	clock := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	st := dynamo.New(c, table, dynamo.WithClock(now))
	a := admission.New(admission.Settings{AuthEnabled: true}, admission.Options{Store: st, Now: now, Prices: pricing.Default()})
	key := &state.Key{ID: "k1", Enabled: true, Limits: state.KeyLimits{RequestsPerMinute: 60, RequestsPerHour: 3600}}
	ctx := context.Background()
	const minutes = 24 * 60
	for range minutes {
		tk, err := a.Admit(ctx, admission.Request{Key: key, Endpoint: admission.Chat, Model: "m", Plan: &router.Plan{Route: "m"}})
		if err != nil {
			t.Fatal(err)
		}
		tk.Charge("unpriced-model", openai.Usage{PromptTokens: 10, CompletionTokens: 10})
		tk.Settle(ctx, nil)
		clock = clock.Add(time.Minute)
	}
	out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "USE#k1"}, "sk": &types.AttributeValueMemberS{Value: "USE"}}})
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for k, v := range out.Item {
		size += len(k)
		if n, ok := v.(*types.AttributeValueMemberN); ok {
			size += len(n.Value)
		}
	}
	// Then one priced request: its settlement also removes the past windows.
	tk, err := a.Admit(ctx, admission.Request{Key: key, Endpoint: admission.Chat, Model: "m", Plan: &router.Plan{Route: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	usd, priced := tk.Charge("gpt-4o", openai.Usage{PromptTokens: 1000, CompletionTokens: 1000})
	tk.Settle(ctx, nil)
	sp, err := st.Spend.Get(ctx, "k1", clock)
	if len(out.Item) > 10 {
		t.Fatalf("the key-use item holds %d attributes (~%d bytes) after a day of one request a minute", len(out.Item), size)
	}
	// The spend is checked exactly when the store answered every call (DynamoDB
	// Local on a busy machine now and then loses an answer: counted below).
	n := a.Counters()
	if n.LimitErrors+n.SpendErrors > 15 {
		t.Fatalf("store errors %+v in %d requests", n, minutes+1)
	}
	if want := pricing.Micros(usd); n.LimitErrors+n.SpendErrors == 0 && (!priced || err != nil || sp.TotalMicros != want) {
		t.Fatalf("the priced request's $%v: spend %+v, %v, counters %+v; want %d micro-dollars recorded", usd, sp, err, n, want)
	}
}

// A sharded token window never takes a request larger than its share, so
// the key never passes its tokens per minute (each shard took one request
// however large, up to shards times the limit).
func TestShardedTokenWindowsNeverPassTheLimit(t *testing.T) {
	for _, shards := range []int64{1, 4} {
		st := memory.New(nil)
		clock := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		a := admission.New(admission.Settings{AuthEnabled: true}, admission.Options{Store: st, Prices: pricing.Default(),
			Now: func() time.Time { return clock }})
		key := &state.Key{ID: "k1", Enabled: true, Limits: state.KeyLimits{TokensPerMinute: 1000, Shards: shards}}
		ctx := context.Background()
		admitted, used := 0, 0
		for range 10 {
			tk, err := a.Admit(ctx, admission.Request{Key: key, Endpoint: admission.Chat, Model: "m", Plan: &router.Plan{Route: "m"},
				PromptTokens: 400, MaxOutputTokens: 500})
			if err != nil {
				continue
			}
			admitted++
			tk.Charge("unpriced", openai.Usage{PromptTokens: 400, CompletionTokens: 500})
			used += 900
			tk.Settle(ctx, nil)
		}
		t.Logf("shards %d: %d requests of 900 tokens admitted in one minute under tpm 1000 (%d tokens)", shards, admitted, used)
		if used > 1000+900 {
			t.Errorf("shards %d: %d tokens used in a minute under tpm 1000", shards, used)
		}
	}
}
