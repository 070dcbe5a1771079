package gateway_test

import (
	"context"
	"fmt"
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

func TestHotPathIsALookupAndOneWriteBeforeTheUpstream(t *testing.T) {
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
	// The cache lookup, then one conditional write holding the rpm, rph and
	// tpm windows and the daily budget; no key lookup. The lookup comes first
	// because a hit would reserve no tokens and no money (one write, nothing
	// to give back).
	if len(calls) != 2 || calls[0].op != "GetItem" || calls[1].op != "UpdateItem" {
		t.Fatalf("calls before the upstream: %v", ops)
	}
	if calls[1].start.Before(calls[0].end) {
		t.Fatalf("the reservation started before the lookup answered")
	}
	// After the answer: one settlement write and the cache entry.
	after := map[string]int{}
	for _, c := range all[before+pre:] {
		after[c.op]++
	}
	if len(all)-before-pre != 2 || after["UpdateItem"] != 1 || after["PutItem"] != 1 {
		t.Fatalf("calls after the upstream: %v", after)
	}
	t.Logf("pre-upstream DynamoDB calls: %v in %v (each delayed %v); settlement after: %v; request took %v",
		ops, calls[1].end.Sub(calls[0].start), delay, after, time.Since(started))
}

// With [cache] store = "repeat" a key with limits writes an answer to
// DynamoDB on its second ask only (the write that admits the request tells
// it); a miss writes it at once by default, and when that write cannot tell
// (a key without limits, a sharded key).
func TestWithStoreRepeatTheCacheEntryIsWrittenOnAKeysSecondAsk(t *testing.T) {
	ctx := context.Background()
	client := testutil.DynamoClient(t, testutil.DynamoEndpoint(t))
	table := testutil.NewTable(t, client, "gw-cachestore")
	api := &timedAPI{API: client}
	store := dynamo.New(api, table)
	a := newUpstream(t, okChat("a"))
	cases := []struct {
		name, key, store string
		firstPuts        int
	}{
		{"a key with limits", `{"limits":{"rpm":100,"tpm":100000},"budget":{"daily_usd":1000}}`, "repeat", 0},
		{"a key with only an rpm limit", `{"limits":{"rpm":100}}`, "repeat", 0},
		{"the default (first)", `{"limits":{"rpm":100,"tpm":100000}}`, "", 1},
		{"store = first", `{"limits":{"rpm":100,"tpm":100000}}`, "first", 1},
		{"a key without limits", `{}`, "repeat", 1},
		{"a sharded key", `{"limits":{"rpm":100,"shards":2}}`, "repeat", 1},
	}
	for i, tc := range cases {
		toml := strings.ReplaceAll(strings.ReplaceAll(stateful, "{A}", a.URL), "{B}", a.URL)
		if tc.store != "" {
			toml = strings.Replace(toml, "[cache]\n", "[cache]\nstore = \""+tc.store+"\"\n", 1)
		}
		cfg, err := config.Parse(toml, func(string) string { return secretKey })
		if err != nil {
			t.Fatal(err)
		}
		instance := func() http.Handler {
			g, err := app.New(ctx, cfg, app.Options{Store: store, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		g := instance()
		secret, _ := createKey(t, g, tc.key)
		body := fmt.Sprintf(`{"model":"shared","messages":[{"role":"user","content":"question %d"}]}`, i)
		puts := func(want string, g http.Handler) int {
			t.Helper()
			n := len(api.snapshot())
			rec := do(t, g, "POST", "/v1/chat/completions", body, "Authorization", "Bearer "+secret)
			if rec.Code != 200 || rec.Header().Get("X-Gateway-Cache") != want {
				t.Fatalf("%s: %d cache=%q, want %s: %s", tc.name, rec.Code, rec.Header().Get("X-Gateway-Cache"), want, rec.Body)
			}
			p := 0
			for _, c := range api.snapshot()[n:] {
				if c.op == "PutItem" {
					p++
				}
			}
			return p
		}
		if p := puts("miss", g); p != tc.firstPuts {
			t.Errorf("%s: the first ask wrote %d cache entries, want %d", tc.name, p, tc.firstPuts)
		}
		// The same instance answers the repeat from its memory either way.
		if p := puts("hit", g); p != 0 {
			t.Errorf("%s: a hit wrote %d cache entries", tc.name, p)
		}
		if tc.firstPuts == 0 {
			if p := puts("miss", instance()); p != 1 {
				t.Errorf("%s: the second ask, on another instance, wrote %d cache entries, want 1", tc.name, p)
			}
		}
		if p := puts("hit", instance()); p != 0 {
			t.Errorf("%s: a hit on a third instance wrote %d cache entries", tc.name, p)
		}
	}
}
