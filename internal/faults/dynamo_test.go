package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/auth"
	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/testutil"
)

// Bounds of the DynamoDB Local process.
const (
	dynamoStartBound = 30 * time.Second // the emulator is usually ready in about 4 s
	dynamoStopBound  = 10 * time.Second
)

// dynamoLocal is a DynamoDB Local process of this test's own, on its own port.
type dynamoLocal struct {
	emu    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
	out    *testutil.LogBuffer
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (d *dynamoLocal) endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", d.port) }

// start runs the emulator (in memory, so every start is an empty database)
// and waits, bounded, until client can list tables.
func (d *dynamoLocal) start(t *testing.T, client *dynamodb.Client) {
	t.Helper()
	d.out = &testutil.LogBuffer{}
	// C1 only and the serial collector: the emulator starts in about half the time.
	d.cmd = exec.Command("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
		"-Djava.library.path="+filepath.Join(d.emu, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(d.emu, "DynamoDBLocal.jar"), "-inMemory", "-sharedDb", "-disableTelemetry",
		"-port", strconv.Itoa(d.port))
	d.cmd.Dir = d.emu
	began := time.Now()
	defer func() {
		t.Logf("DynamoDB Local on port %d ready after %s", d.port, time.Since(began).Round(time.Millisecond))
	}()
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start DynamoDB Local: %v", err)
	}
	d.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(d.cmd, d.exited)
	t.Cleanup(d.stop)
	deadline := time.Now().Add(dynamoStartBound)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{})
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("DynamoDB Local did not answer on port %d within %s: %v\n%s", d.port, dynamoStartBound, err, d.out)
		}
		select {
		case <-d.exited:
			t.Fatalf("DynamoDB Local exited during start:\n%s", d.out)
		case <-tick.C:
		}
	}
}

// stop kills the process this test started (SIGKILL: an outage, not a
// shutdown) and waits, bounded, for it to exit.
func (d *dynamoLocal) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Kill()
	select {
	case <-d.exited:
	case <-time.After(dynamoStopBound):
	}
}

// newKey stores a virtual key with a request limit and returns its secret.
func newKey(t *testing.T, store *state.Store, name string) (string, *state.Key) {
	t.Helper()
	secret, id, err := auth.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k := &state.Key{ID: id, Hash: auth.Hash(secret), Name: name, Enabled: true, CreatedAt: time.Now().UTC(),
		Limits: state.KeyLimits{RequestsPerMinute: 1000}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := store.Keys.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	return secret, k
}

// cacheItems counts the response-cache items in the table.
func cacheItems(t *testing.T, client *dynamodb.Client, table string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := client.Scan(ctx, &dynamodb.ScanInput{
		TableName:                 aws.String(table),
		FilterExpression:          aws.String("begins_with(pk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "CACHE#"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

// dynamoTOML turns on auth (keys trusted in-process for a minute) and the cache.
const dynamoTOML = `
[auth]
enabled = true
key_cache_ttl = "1m"
[cache]
enabled = true
ttl = "1h"
`

// outageBound is what one request may take while the store is down: each
// store call fails fast (connection refused) after the client's bounded retries.
const outageBound = 3 * time.Second

func TestDynamoDBLocalStoppedMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts DynamoDB Local twice")
	}
	t.Parallel() // mostly waiting for the emulator to start: overlap it with the fault tests
	db := &dynamoLocal{emu: testutil.DynamoLocalDir(t), port: freePort(t)}
	client := testutil.DynamoClient(t, db.endpoint())
	db.start(t, client)
	table := testutil.TableName("gw-faults")
	testutil.CreateTable(t, client, table)
	store := dynamo.New(client, table)

	// Two gateways on the one store: limits fail open (the default) and closed.
	open := newSuite(t, OK, OK, options{extra: dynamoTOML, store: store})
	closed := newSuite(t, OK, OK, options{extra: dynamoTOML + "[limits]\nfail_closed = true\n", store: store})
	usedSecret, usedKey := newKey(t, store, "used before the outage")
	newSecret, newKeyRec := newKey(t, store, "first used during the outage")
	bearer := func(s string) []string { return []string{"Authorization", "Bearer " + s} }
	ask := func(t *testing.T, s *suite, secret, prompt string, stream bool) answer {
		t.Helper()
		body := fmt.Sprintf(`{"model":"shared","stream":%v,"messages":[{"role":"user","content":%q}]}`, stream, prompt)
		return s.post(t, "/v1/chat/completions", body, bearer(secret)...)
	}

	// Before the outage: both gateways authenticate (and cache) the used key,
	// count its limits and fill the response cache.
	for i, s := range []*suite{open, closed} {
		a := ask(t, s, usedSecret, fmt.Sprintf("before %d", i), false)
		if a.status != 200 || a.header.Get("X-Ratelimit-Remaining-Requests") == "" || a.header.Get("X-Gateway-Cache") != "miss" {
			t.Fatalf("before the outage: %d %v %s", a.status, a.header, a.body)
		}
	}
	if a := ask(t, open, usedSecret, "before 0", false); a.header.Get("X-Gateway-Cache") != "hit" {
		t.Fatalf("the cache did not answer the repeated request: %v", a.header)
	}

	db.stop()
	select {
	case <-db.exited:
	default:
		t.Fatal("DynamoDB Local did not exit")
	}

	t.Run("limits fail open by default and the cache is skipped", func(t *testing.T) {
		for i, stream := range []bool{false, true} {
			calls := open.a.Calls()
			a := ask(t, open, usedSecret, fmt.Sprintf("during %d", i), stream)
			if a.status != 200 || open.a.Calls() != calls+1 || a.header.Get("X-Gateway-Cache") != "miss" {
				t.Fatalf("%d (cache %q, upstream calls %d → %d): %s", a.status, a.header.Get("X-Gateway-Cache"), calls, open.a.Calls(), a.body)
			}
			if stream {
				sseEvents(t, a)
			}
			if a.took > outageBound {
				t.Errorf("a request during the outage took %s, bound %s", a.took, outageBound)
			}
			checkUsageLogged(t, a)
		}
		for _, msg := range []string{"rate limit store failed", "cache lookup failed"} {
			if m, _ := open.logs.find(msg, ""); m == nil {
				t.Errorf("no %q warning: the store was not down?\n%s", msg, open.logs)
			}
		}
	})
	t.Run("limits fail closed when configured", func(t *testing.T) {
		calls := closed.a.Calls()
		a := ask(t, closed, usedSecret, "during closed", false)
		checkOpenAIError(t, a, http.StatusServiceUnavailable, "api_error")
		if closed.a.Calls() != calls || a.took > outageBound {
			t.Errorf("upstream called %d times, took %s", closed.a.Calls()-calls, a.took)
		}
	})
	t.Run("a key that cannot be checked is a 503, never a pass", func(t *testing.T) {
		for _, s := range []*suite{open, closed} {
			calls := s.a.Calls()
			a := ask(t, s, newSecret, "during new key", false)
			checkOpenAIError(t, a, http.StatusServiceUnavailable, "api_error")
			if s.a.Calls() != calls || a.took > outageBound {
				t.Errorf("upstream called %d times, took %s", s.a.Calls()-calls, a.took)
			}
		}
	})
	if t.Failed() {
		return
	}

	// DynamoDB Local returns on the same port with an empty database.
	db.start(t, client)
	testutil.CreateTable(t, client, table)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, k := range []*state.Key{usedKey, newKeyRec} {
		if err := store.Keys.Create(ctx, k); err != nil && !errors.Is(err, state.ErrExists) {
			t.Fatal(err)
		}
	}

	t.Run("everything recovers when it returns", func(t *testing.T) {
		a := ask(t, open, newSecret, "after new key", false)
		if a.status != 200 {
			t.Fatalf("the new key after recovery: %d %s", a.status, a.body)
		}
		a = ask(t, closed, usedSecret, "after", false)
		if a.status != 200 || a.header.Get("X-Ratelimit-Remaining-Requests") == "" {
			t.Fatalf("fail-closed limits after recovery: %d %v %s", a.status, a.header, a.body)
		}
		if n := cacheItems(t, client, table); n < 2 {
			t.Errorf("%d cache items stored after recovery, want 2", n)
		}
		if a := ask(t, closed, usedSecret, "after", true); a.header.Get("X-Gateway-Cache") != "hit" {
			t.Errorf("a repeated request after recovery was not a cache hit: %v", a.header)
		} else if text, _ := streamText(t, sseEvents(t, a)); !strings.HasPrefix(text, "from ") {
			t.Errorf("cached replay %q", text)
		}
	})
}
