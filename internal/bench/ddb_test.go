package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/auth"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/memory"
	"github.com/aigateway/gateway/internal/testutil"
)

// Request units, as DynamoDB on-demand bills them (the formula this phase
// applies to every call it recorded):
//
//	write (PutItem, UpdateItem)  ceil(item size / 1 KB) WRU, at least 1; an UpdateItem
//	                             counts the larger of the item before and after, which
//	                             for these ADD counters is the item after
//	TransactWriteItems           2 × that, per item
//	read, eventually consistent  0.5 × ceil(item size / 4 KB) RRU, at least 0.5, also
//	                             when the item does not exist (GetItem of the cache)
//	read, strongly consistent    1 × ceil(item size / 4 KB) RRU, at least 1 (GetItem of a
//	                             key; BatchGetItem of spend: each item rounded on its own)
//
// Item size (DynamoDB's rule): for each attribute, the UTF-8 length of its name
// plus its value: a string its UTF-8 length, a binary its length, a number
// 1 byte per two significant digits plus 1, a boolean or null 1 byte, a list
// or map 3 bytes plus 1 byte and the size of each element (and each key's
// name). The item sizes of UpdateItem and reads come from a Scan of the table
// after each request; a PutItem's from the item it sent.
const (
	wruBytes = 1024
	rruBytes = 4096
)

func avSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return numberSize(x.Value)
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range x.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range x.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range x.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += 1 + avSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range x.Value {
			n += 1 + len(k) + avSize(e)
		}
		return n
	}
	return 0
}

// numberSize is 1 byte per two significant digits, plus 1.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.Replace(s, ".", "", 1)
	s = strings.Trim(s, "0")
	return (len(s)+1)/2 + 1
}

func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + avSize(v)
	}
	return n
}

func itemID(item map[string]types.AttributeValue) string {
	pk, _ := item["pk"].(*types.AttributeValueMemberS)
	sk, _ := item["sk"].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return pk.Value + "\x00" + sk.Value
}

func units(size, per int) float64 {
	return math.Max(1, math.Ceil(float64(size)/float64(per)))
}

// ddbCall is one recorded call: what it read or wrote.
type ddbCall struct {
	op       string
	reads    []ddbRead
	updates  []string                          // ids of the items an UpdateItem changed
	puts     []map[string]types.AttributeValue // items a PutItem wrote
	transact int                               // items of a TransactWriteItems
	reported []types.ConsumedCapacity          // what the endpoint reported, if anything
	from, to time.Time                         // when the call was made and answered
}

type ddbRead struct {
	id         string
	consistent bool
}

// recordingAPI passes each call on to a DynamoDB client, asking for the
// consumed capacity, and records what it touched.
type recordingAPI struct {
	dynamo.API
	mu    sync.Mutex
	calls []ddbCall
}

func (r *recordingAPI) add(c ddbCall, from time.Time) {
	c.from, c.to = from, time.Now()
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

func (r *recordingAPI) take() []ddbCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func reported(cc ...*types.ConsumedCapacity) []types.ConsumedCapacity {
	var out []types.ConsumedCapacity
	for _, c := range cc {
		if c != nil {
			out = append(out, *c)
		}
	}
	return out
}

func (r *recordingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	from := time.Now()
	out, err := r.API.GetItem(ctx, in, o...)
	c := ddbCall{op: "GetItem", reads: []ddbRead{{itemID(in.Key), aws.ToBool(in.ConsistentRead)}}}
	if err == nil {
		c.reported = reported(out.ConsumedCapacity)
	}
	r.add(c, from)
	return out, err
}

func (r *recordingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	from := time.Now()
	out, err := r.API.PutItem(ctx, in, o...)
	c := ddbCall{op: "PutItem", puts: []map[string]types.AttributeValue{in.Item}}
	if err == nil {
		c.reported = reported(out.ConsumedCapacity)
	}
	r.add(c, from)
	return out, err
}

func (r *recordingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	from := time.Now()
	out, err := r.API.UpdateItem(ctx, in, o...)
	c := ddbCall{op: "UpdateItem", updates: []string{itemID(in.Key)}}
	if err == nil {
		c.reported = reported(out.ConsumedCapacity)
	}
	r.add(c, from)
	return out, err
}

func (r *recordingAPI) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	from := time.Now()
	out, err := r.API.BatchGetItem(ctx, in, o...)
	c := ddbCall{op: "BatchGetItem"}
	for _, ka := range in.RequestItems {
		for _, k := range ka.Keys {
			c.reads = append(c.reads, ddbRead{itemID(k), aws.ToBool(ka.ConsistentRead)})
		}
	}
	if err == nil {
		for i := range out.ConsumedCapacity {
			c.reported = append(c.reported, out.ConsumedCapacity[i])
		}
	}
	r.add(c, from)
	return out, err
}

func (r *recordingAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	from := time.Now()
	out, err := r.API.TransactWriteItems(ctx, in, o...)
	r.add(ddbCall{op: "TransactWriteItems", transact: len(in.TransactItems)}, from)
	return out, err
}

// scanSizes returns the size of every item of table by its pk/sk.
func scanSizes(ctx context.Context, c *dynamodb.Client, table string) (map[string]int, error) {
	sizes := map[string]int{}
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			sizes[itemID(it)] = itemSize(it)
		}
	}
	return sizes, nil
}

// account applies the formula above to recorded calls.
func account(calls []ddbCall, sizes map[string]int) (wru, rru, rep float64, hasRep bool, detail []string) {
	for _, c := range calls {
		for _, rd := range c.reads {
			u := units(sizes[rd.id], rruBytes)
			if !rd.consistent {
				u /= 2
			}
			rru += u
		}
		for _, id := range c.updates {
			wru += units(sizes[id], wruBytes)
			detail = append(detail, fmt.Sprintf("UpdateItem of a %d B item", sizes[id]))
		}
		for _, it := range c.puts {
			s := itemSize(it)
			wru += units(s, wruBytes)
			detail = append(detail, fmt.Sprintf("PutItem of %d B", s))
		}
		wru += 2 * float64(c.transact)
		for _, r := range c.reported {
			hasRep = true
			rep += aws.ToFloat64(r.CapacityUnits)
		}
	}
	return
}

// rounds counts the round trips a request waited for in sequence: calls
// whose time spans overlap (made concurrently) are one round.
func rounds(calls []ddbCall) int {
	c := append([]ddbCall(nil), calls...)
	sort.Slice(c, func(i, j int) bool { return c[i].from.Before(c[j].from) })
	n := 0
	var end time.Time
	for _, x := range c {
		if n == 0 || x.from.After(end) {
			n++
			end = x.to
		} else if x.to.After(end) {
			end = x.to
		}
	}
	return n
}

// ddbScenario is one request's DynamoDB bill.
type ddbScenario struct {
	name     string
	calls    map[string]int64
	rounds   int
	wru, rru float64
	rep      float64
	hasRep   bool
	detail   string
}

type ddbResult struct {
	skipped   string
	scenarios []ddbScenario
	// Median handler durations (in-process ServeHTTP, loopback upstream)
	// with the memory store and with DynamoDB, and the median CPU time
	// (user + system, this process) with DynamoDB, per request kind.
	// rep and repCPU are the DynamoDB figures with [cache] store = "repeat".
	mem, ddb, ddbCPU, rep, repCPU [kinds]time.Duration
	requests                      int
}

// The request kinds timed: a key's first ask of a question (a miss), its
// second on another instance (a hit, or with [cache] store = "repeat" a
// miss that writes the shared entry), and its third on a third instance (a
// hit).
const (
	firstAsk = iota
	secondAsk
	hit
	kinds
)

var kindNames = [kinds]string{"cache miss", "second ask", "cache hit"}

// scenario returns the named scenario (nil when the phase was skipped).
func (r ddbResult) scenario(prefix string) *ddbScenario {
	for i := range r.scenarios {
		if strings.HasPrefix(r.scenarios[i].name, prefix) {
			return &r.scenarios[i]
		}
	}
	return nil
}

// stateConfig is the gateway of this phase: auth on, cache on, a price for
// the mock's model so that every answer adds to the key's spend.
func stateConfig(upstream string) string {
	return fmt.Sprintf(`
[[providers]]
name = "up"
kind = "custom"
base_url = %q
models = ["bench"]

[auth]
enabled = true

[cache]
enabled = true
ttl = "1h"

[pricing.bench]
input = 1.0
output = 2.0
`, upstream)
}

// stateGateway builds a gateway on store with a key that has request and
// token limits and a budget; it returns the gateway and the key's secret.
func newStateGateway(ctx context.Context, cfg *config.Config, store *state.Store) (*app.App, error) {
	return app.New(ctx, cfg, app.Options{Store: store, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
}

func createKey(ctx context.Context, store *state.Store) (string, error) {
	secret, id, err := auth.NewKey()
	if err != nil {
		return "", err
	}
	k := &state.Key{ID: id, Hash: auth.Hash(secret), Name: "bench", Enabled: true, CreatedAt: time.Now().UTC(),
		Limits: state.KeyLimits{RequestsPerMinute: 100_000, TokensPerMinute: 100_000_000},
		Budget: state.Budget{DailyUSD: 100, MonthlyUSD: 1000}}
	return secret, store.Keys.Create(ctx, k)
}

// serve runs one chat request through g in process and returns the
// recorder and how long ServeHTTP took (settlement included: the handler
// returns only after it).
func serve(g http.Handler, secret, prompt string) (*httptest.ResponseRecorder, time.Duration) {
	body := `{"model":"bench","max_tokens":64,"messages":[{"role":"user","content":"` + prompt + `"}]}`
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	start := time.Now()
	g.ServeHTTP(rec, req)
	return rec, time.Since(start)
}

func check(rec *httptest.ResponseRecorder, wantCache string) error {
	if rec.Code != http.StatusOK {
		return fmt.Errorf("status %d: %s", rec.Code, firstLine(rec.Body.String()))
	}
	if got := rec.Header().Get("X-Gateway-Cache"); got != wantCache {
		return fmt.Errorf("X-Gateway-Cache %q, want %q", got, wantCache)
	}
	return nil
}

// timeRequests asks n fresh questions, each on gs[0], gs[1], gs[2] in turn
// (three instances: none holds another's in-process cache), each answer
// with the X-Gateway-Cache of want; it returns the median durations and
// CPU times of each kind.
func timeRequests(gs [kinds]http.Handler, want [kinds]string, secret, tag string, n int) (dur, cpu [kinds]time.Duration, err error) {
	var ds, cs [kinds][]time.Duration
	for i := 0; i < n; i++ {
		prompt := fmt.Sprintf("timing %s %d %d", tag, i, time.Now().UnixNano())
		for k, g := range gs {
			c0 := cpuTime()
			rec, d := serve(g, secret, prompt)
			c := cpuTime() - c0
			if err := check(rec, want[k]); err != nil {
				return dur, cpu, fmt.Errorf("timing %s: %w", kindNames[k], err)
			}
			ds[k], cs[k] = append(ds[k], d), append(cs[k], c)
		}
	}
	for k := range dur {
		dur[k], cpu[k] = median(ds[k]), median(cs[k])
	}
	return dur, cpu, nil
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func dynamoPhase(b *testing.B, t *table) ddbResult {
	n := envInt("BENCH_DDB_REQUESTS", 20)
	res := ddbResult{requests: n}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	up := mockUpstream(b)
	cfg, err := config.Parse(stateConfig(up), os.Getenv)
	if err != nil {
		b.Fatal(err)
	}

	t.section("dynamodb", "calls and request units per request; auth on, a key with rpm, tpm and a budget, cache on")
	progress("dynamodb: handler duration with the memory store, %d misses and hits", n)
	// The memory store: the same requests without any DynamoDB round trip,
	// the baseline of the handler's duration.
	mem := memory.New(time.Now)
	memSecret, err := createKey(ctx, mem)
	if err != nil {
		b.Fatal(err)
	}
	var ms [kinds]http.Handler
	for i := range ms {
		g, err := newStateGateway(ctx, cfg, mem)
		if err != nil {
			b.Fatal(err)
		}
		serve(g, memSecret, fmt.Sprintf("warm %d", i))
		ms[i] = g
	}
	// The memory store keeps every answer at once: the second ask is a hit.
	if res.mem, _, err = timeRequests(ms, [kinds]string{"miss", "hit", "hit"}, memSecret, "memory", n); err != nil {
		t.row("handler duration (memory store)", "", "failed", "", err.Error())
	}

	endpoint, ok := testutil.LookupDynamoEndpoint()
	if !ok {
		res.skipped = "skipped (set DYNAMODB_ENDPOINT or run make bench)"
		for _, name := range kindNames {
			t.row("calls and units, "+name, "", res.skipped, "", "")
		}
		for k, name := range kindNames {
			t.row("handler duration, "+name+" (median)", fmtDur(res.mem[k]), res.skipped, "", "baseline = memory store")
		}
		return res
	}
	if err := dynamoScenarios(ctx, b, t, &res, cfg, endpoint, n); err != nil {
		res.skipped = "failed: " + firstLine(err.Error())
		t.row("calls and units", "", res.skipped, "", "")
	}
	return res
}

func dynamoScenarios(ctx context.Context, b *testing.B, t *table, res *ddbResult, cfg *config.Config, endpoint string, n int) error {
	progress("dynamodb: DynamoDB Local at %s", endpoint)
	client, err := dynamo.NewClient(ctx, endpoint)
	if err != nil {
		return err
	}
	table := testutil.TableName("gateway-bench")
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = client.DeleteTable(dctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	}()
	var cc dynamo.CallCounter
	rec := &recordingAPI{API: client}
	store := dynamo.New(rec, table, dynamo.WithCallCounter(&cc))
	secret, err := createKey(ctx, store)
	if err != nil {
		return err
	}
	// Three instances of each mode: the default ([cache] store = "first")
	// and store = "repeat".
	repeatCfg := *cfg
	repeatCfg.Cache.Store = config.CacheStoreRepeat
	var gs, rs [kinds]http.Handler
	for i := range kinds {
		if gs[i], err = newStateGateway(ctx, cfg, store); err != nil {
			return err
		}
		if rs[i], err = newStateGateway(ctx, &repeatCfg, store); err != nil {
			return err
		}
	}

	run := func(name string, g http.Handler, prompt, want string) error {
		cc.Reset()
		rec.take()
		r, _ := serve(g, secret, prompt)
		if err := check(r, want); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		calls := rec.take()
		sizes, err := scanSizes(ctx, client, table)
		if err != nil {
			return err
		}
		s := ddbScenario{name: name, calls: cc.Snapshot(), rounds: rounds(calls)}
		var detail []string
		s.wru, s.rru, s.rep, s.hasRep, detail = account(calls, sizes)
		if int64(len(calls)) != cc.Total() {
			detail = append(detail, fmt.Sprintf("recorded %d calls, counted %d", len(calls), cc.Total()))
		}
		s.detail = strings.Join(detail, "; ")
		res.scenarios = append(res.scenarios, s)
		return nil
	}
	steps := []struct {
		name    string
		g       http.Handler
		prompt  string
		want    string
		counted bool
	}{
		{"cache miss, cold key (its first request ever: the first write also reads the old spend layout, once)", gs[0], "first", "miss", true},
		{"cache miss, warm key", gs[0], "second", "miss", true},
		{"cache hit, same instance (in-process cache)", gs[0], "second", "hit", true},
		{"", gs[1], "warm the other instance's key", "miss", false},
		{"cache hit, other instance, warm key", gs[1], "second", "hit", true},
		{"", rs[0], "warm a store = repeat instance's key", "miss", false},
		{"store = repeat: cache miss, warm key (a question the key has not asked: the answer stays in-process)", rs[0], "third", "miss", true},
		{"", rs[1], "warm a second store = repeat instance's key", "miss", false},
		{"store = repeat: cache miss, stored (the key's second ask, on another instance: writes the cache entry)", rs[1], "third", "miss", true},
		{"", rs[2], "warm a third store = repeat instance's key", "miss", false},
		{"store = repeat: cache hit, other instance, warm key", rs[2], "third", "hit", true},
	}
	for _, st := range steps {
		if !st.counted {
			if r, _ := serve(st.g, secret, st.prompt); check(r, st.want) != nil {
				return fmt.Errorf("warm-up: %v", check(r, st.want))
			}
			continue
		}
		if err := run(st.name, st.g, st.prompt, st.want); err != nil {
			return err
		}
	}
	progress("dynamodb: handler duration with DynamoDB Local, %d questions asked three times in each mode", n)
	if res.ddb, res.ddbCPU, err = timeRequests(gs, [kinds]string{"miss", "hit", "hit"}, secret, "dynamodb", n); err != nil {
		return err
	}
	if res.rep, res.repCPU, err = timeRequests(rs, [kinds]string{"miss", "miss", "hit"}, secret, "dynamodb repeat", n); err != nil {
		return err
	}

	for _, s := range res.scenarios {
		var ops []string
		var total int64
		for op, c := range s.calls {
			ops = append(ops, fmt.Sprintf("%s %d", op, c))
			total += c
		}
		sort.Strings(ops)
		note := strings.Join(ops, ", ")
		if s.detail != "" {
			note += "; " + s.detail
		}
		if s.hasRep {
			note += fmt.Sprintf("; DynamoDB Local reported %g units in all (formula %g)", s.rep, s.wru+s.rru)
		}
		t.row(s.name, "", fmt.Sprintf("%d calls in %d rounds", total, s.rounds), fmt.Sprintf("%g WRU, %g RRU", s.wru, s.rru), note)
	}
	t.row("handler duration, cache miss (median)", fmtDur(res.mem[firstAsk]), fmtDur(res.ddb[firstAsk]), deltaRatio(res.mem[firstAsk], res.ddb[firstAsk]),
		fmt.Sprintf("baseline = memory store; %d requests of each kind; ServeHTTP in process, settlement included", n))
	t.row("handler duration, cache hit, other instance (median)", fmtDur(res.mem[hit]), fmtDur(res.ddb[hit]), deltaRatio(res.mem[hit], res.ddb[hit]), "")
	t.row("store = repeat: handler duration, cache miss (median)", fmtDur(res.mem[firstAsk]), fmtDur(res.rep[firstAsk]), deltaRatio(res.mem[firstAsk], res.rep[firstAsk]), "")
	t.row("store = repeat: handler duration, cache miss, stored (median)", fmtDur(res.mem[firstAsk]), fmtDur(res.rep[secondAsk]), deltaRatio(res.mem[firstAsk], res.rep[secondAsk]),
		"baseline = a memory-store miss")
	t.note("dynamodb: units from item sizes: a write ceil(size/1 KB) WRU (min 1); a read ceil(size/4 KB) RRU (min 1) strongly " +
		"consistent, half that eventually consistent (min 0.5, also for a missing item); BatchGetItem rounds each item on its own. " +
		"Sizes per DynamoDB's rule (attribute names + values) from a Scan after each request. " +
		"Rounds = calls the request waited for one after another (concurrent calls are one round). " +
		"DynamoDB Local's reported capacity is printed as a cross-check where it reports one. Durations are against " +
		"DynamoDB Local on loopback, not the service. store = repeat ([cache] store): a miss writes no cache entry; the " +
		"key's second ask of the question writes it (a miss with 3 WRU, once per question and key while the entry lives).")
	return nil
}
