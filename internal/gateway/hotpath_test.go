package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/testutil"
)

// timedAPI wraps DynamoDB calls: each one is delayed by `delay` and its start
// and end recorded, so a test can tell concurrent calls from sequential ones.
type timedAPI struct {
	dynamo.API
	delay time.Duration
	mu    sync.Mutex
	calls []call
}

type call struct {
	op         string
	start, end time.Time
}

func (a *timedAPI) record(op string, f func()) {
	start := time.Now()
	time.Sleep(a.delay)
	f()
	a.mu.Lock()
	a.calls = append(a.calls, call{op, start, time.Now()})
	a.mu.Unlock()
}

func (a *timedAPI) snapshot() []call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]call(nil), a.calls...)
}

func (a *timedAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (out *dynamodb.GetItemOutput, err error) {
	a.record("GetItem", func() { out, err = a.API.GetItem(ctx, in, o...) })
	return
}

func (a *timedAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (out *dynamodb.UpdateItemOutput, err error) {
	a.record("UpdateItem", func() { out, err = a.API.UpdateItem(ctx, in, o...) })
	return
}

func (a *timedAPI) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (out *dynamodb.BatchGetItemOutput, err error) {
	a.record("BatchGetItem", func() { out, err = a.API.BatchGetItem(ctx, in, o...) })
	return
}

func (a *timedAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (out *dynamodb.PutItemOutput, err error) {
	a.record("PutItem", func() { out, err = a.API.PutItem(ctx, in, o...) })
	return
}

func TestHotPathIsOneConcurrentDynamoDBRoundTrip(t *testing.T) {
	ctx := context.Background()
	client := testutil.DynamoClient(t, testutil.DynamoEndpoint(t))
	table := testutil.NewTable(t, client, "gw-hotpath")
	const delay = 40 * time.Millisecond
	api := &timedAPI{API: client, delay: delay}
	store := dynamo.New(api, table)

	var mu sync.Mutex
	var atUpstream []int // number of DynamoDB calls made when the upstream was called
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		atUpstream = append(atUpstream, len(api.snapshot()))
		mu.Unlock()
		okChat("a")(w, r)
	})
	toml := strings.ReplaceAll(stateful, "{A}", a.URL)
	toml = strings.ReplaceAll(toml, "{B}", a.URL)
	cfg, err := config.Parse(toml, func(string) string { return secretKey })
	if err != nil {
		t.Fatal(err)
	}
	g, err := app.New(ctx, cfg, app.Options{Store: store, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := createKey(t, g, `{"limits":{"rpm":100,"rph":1000,"tpm":100000},"budget":{"daily_usd":1000}}`)

	// The first request warms the in-process key cache.
	if rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+secret); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	before := len(api.snapshot())
	started := time.Now()
	rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"shared","messages":[{"role":"user","content":"a new question"}]}`, "Authorization", "Bearer "+secret)
	if rec.Code != 200 || rec.Header().Get("X-Gateway-Cache") != "miss" {
		t.Fatalf("%d cache=%q %s", rec.Code, rec.Header().Get("X-Gateway-Cache"), rec.Body)
	}
	all := api.snapshot()
	mu.Lock()
	pre := atUpstream[1] - before
	mu.Unlock()
	calls := all[before : before+pre]
	ops := map[string]int{}
	for _, c := range calls {
		ops[c.op]++
	}
	// rpm, rph, tpm takes + the daily budget's reservation + cache lookup, and
	// no key lookup.
	if ops["UpdateItem"] != 4 || ops["GetItem"] != 1 || len(calls) != 5 {
		t.Fatalf("calls before the upstream: %v", ops)
	}
	// One round: every call started before the first one ended.
	var lastStart, firstEnd time.Time
	for i, c := range calls {
		if i == 0 || c.start.After(lastStart) {
			lastStart = c.start
		}
		if i == 0 || c.end.Before(firstEnd) {
			firstEnd = c.end
		}
	}
	if !lastStart.Before(firstEnd) {
		t.Fatalf("the calls were not concurrent: last start %v after first end", lastStart.Sub(firstEnd))
	}
	t.Logf("pre-upstream DynamoDB calls: %v in one round of %v (each delayed %v); settlement after: %d calls; request took %v",
		ops, firstEnd.Sub(calls[0].start), delay, len(all)-before-pre, time.Since(started))
}
