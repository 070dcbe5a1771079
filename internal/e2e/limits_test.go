package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/statetest"
)

// buildGateway compiles the local server once per test binary.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func gatewayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gateway-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "gateway")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, "../../functions/local").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// instance is one gateway process.
type instance struct {
	cmd  *exec.Cmd
	addr string
	// logDone closes when the process's stdout has been read to its end.
	logDone chan struct{}
	mu      sync.Mutex
	// failOpen counts the "rate limit store failed" warnings of requests
	// admitted uncounted (fail_open); storeErrors keeps every such warning's error.
	failOpen    int
	storeErrors []string
}

// startInstance runs the gateway binary on a loopback port with env and waits
// until it logs that it listens. Its JSON log lines are read until it exits.
func startInstance(t *testing.T, bin string, env []string) *instance {
	t.Helper()
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{cmd: cmd, logDone: make(chan struct{})}
	t.Cleanup(func() { in.stop() })
	addrc := make(chan string, 1)
	go func() {
		defer close(in.logDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		sent := false
		for sc.Scan() {
			var line struct {
				Msg      string `json:"msg"`
				Addr     string `json:"addr"`
				Error    string `json:"error"`
				FailOpen bool   `json:"fail_open"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch {
			case !sent && line.Msg == "gateway listening":
				addrc <- line.Addr
				sent = true
			case line.Msg == "rate limit store failed":
				in.mu.Lock()
				in.storeErrors = append(in.storeErrors, line.Error)
				if line.FailOpen {
					in.failOpen++
				}
				in.mu.Unlock()
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // past a line too long to scan: never block the process
	}()
	select {
	case addr := <-addrc:
		in.addr = "http://" + addr
		return in
	case <-time.After(30 * time.Second):
		t.Fatal("gateway process did not start listening")
		return nil
	}
}

// stop ends the process and waits until its log has been read (bounded).
func (in *instance) stop() {
	_ = in.cmd.Process.Kill()
	_ = in.cmd.Wait()
	select {
	case <-in.logDone:
	case <-time.After(10 * time.Second):
	}
}

// TestExactLimitAcrossFourInstancesSharingDynamoDB: four gateway processes
// on one DynamoDB Local table, 500 concurrent requests on a key limited to
// 100 an hour. The counted admissions are exactly the limit; the only ones
// past it are those an instance admitted uncounted (an ambiguous store
// failure with limits failing open), and every one of those is logged.
func TestExactLimitAcrossFourInstancesSharingDynamoDB(t *testing.T) {
	ep := statetest.Endpoint(t)
	r := limitProof(t, ep, ep)
	// An uncounted admission whose ADD did reach the table used up a slot of
	// the limit itself, so admitted lies between the limit and the limit plus
	// the fail-opens; with no ambiguous outcome it is exactly the limit.
	if r.admitted < r.limit || r.admitted > r.limit+r.failOpen {
		t.Errorf("admitted %d with %d fail-opens: want %d..%d", r.admitted, r.failOpen, r.limit, r.limit+r.failOpen)
	}
}

// TestExactLimitWhenTheStoreThrottlesAndResets runs the same proof through a
// proxy that answers every 7th UpdateItem with a throttling error (nothing
// applied: the store retries it) and resets the connection of every 11th
// without passing it on (ambiguous to the instance, which admits it
// uncounted and logs it). Each reset is one more admission, each throttle
// none.
func TestExactLimitWhenTheStoreThrottlesAndResets(t *testing.T) {
	ep := statetest.Endpoint(t)
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatal(err)
	}
	px := startStumblingProxy(t, u.Host, 7, 11)
	r := limitProof(t, ep, px.url)
	throttled, resets := px.throttled.Load(), px.resets.Load()
	t.Logf("the proxy throttled %d and reset %d of %d UpdateItems", throttled, resets, px.updates.Load())
	if throttled == 0 || resets == 0 {
		t.Fatalf("the proxy throttled %d and reset %d: the proof did not meet both faults", throttled, resets)
	}
	// Resets never reach the table, so each one is exactly one admission past
	// the limit. Fail-opens beyond the resets come from DynamoDB Local itself
	// (ambiguous, may have applied): the bounds below still hold then.
	if r.admitted < r.limit+resets || r.admitted > r.limit+r.failOpen || r.failOpen < resets {
		t.Errorf("admitted %d with %d fail-opens and %d resets: want %d..%d", r.admitted, r.failOpen, resets,
			r.limit+resets, r.limit+r.failOpen)
	}
}

// proofResult is what limitProof saw.
type proofResult struct {
	limit, admitted, failOpen int64
}

// limitProof starts four instances on one new table (created through
// tableEP; the instances reach DynamoDB at storeEP), sends 500 concurrent
// requests on a key limited to 100 an hour and returns the answers and the
// fail-opens the instances logged. Any answer but 200 or 429 fails the test.
func limitProof(t *testing.T, tableEP, storeEP string) proofResult {
	t.Helper()
	ctx := context.Background()
	client, err := dynamo.NewClient(ctx, tableEP)
	if err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("gw-e2e-limits-%d", time.Now().UnixNano())
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	// A fixed hourly window: stay clear of the hour's edge so all 500
	// requests land in one window.
	if until := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); until < 30*time.Second {
		time.Sleep(until + time.Second)
	}
	const admin = "e2e-admin-key-0123456789"
	env := []string{
		"GATEWAY_STORE=dynamodb", "TABLE_NAME=" + table, "DYNAMODB_ENDPOINT=" + storeEP,
		"GATEWAY_AUTH=true", "GATEWAY_ADMIN_KEY=" + admin,
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"OPENAI_API_KEY=", "GEMINI_API_KEY=", "ANTHROPIC_API_KEY=", "GOOGLE_API_KEY=",
	}
	bin := gatewayBinary(t)
	var insts []*instance
	for i := 0; i < 4; i++ {
		insts = append(insts, startInstance(t, bin, env))
	}
	req, _ := http.NewRequest("POST", insts[0].addr+"/admin/keys", strings.NewReader(`{"name":"limit-proof","limits":{"rph":100}}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Key string `json:"key"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 201 || created.Key == "" {
		t.Fatalf("create key: %d", resp.StatusCode)
	}

	const total, limit = 500, 100
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}, Timeout: 60 * time.Second}
	var ok, limited, other atomic.Int64
	var mu sync.Mutex
	others := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < total; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			body := fmt.Sprintf(`{"model":"mock-echo","messages":[{"role":"user","content":"request %d"}]}`, i)
			r, _ := http.NewRequest("POST", insts[i%len(insts)].addr+"/v1/chat/completions", strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+created.Key)
			resp, err := hc.Do(r)
			if err != nil {
				other.Add(1)
				mu.Lock()
				others[err.Error()]++
				mu.Unlock()
				return
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
			default:
				other.Add(1)
				mu.Lock()
				others[fmt.Sprintf("%d %s", resp.StatusCode, b)]++
				mu.Unlock()
			}
		}(i)
	}
	close(start)
	wg.Wait()

	// Each instance logs every request it admitted without counting it.
	var failOpen int64
	var storeErrors []string
	for _, in := range insts {
		in.stop()
		in.mu.Lock()
		failOpen += int64(in.failOpen)
		storeErrors = append(storeErrors, in.storeErrors...)
		in.mu.Unlock()
	}
	t.Logf("admitted %d, limited %d, other %d; %d admitted uncounted (fail open), %d store failures logged",
		ok.Load(), limited.Load(), other.Load(), failOpen, len(storeErrors))
	kinds := map[string]int{}
	for _, e := range storeErrors {
		kinds[digits.ReplaceAllString(e, "N")]++
	}
	for k, n := range kinds {
		t.Logf("%d× store failure: %s", n, k)
	}
	for o, n := range others {
		t.Errorf("%d× neither 200 nor 429: %s", n, o)
	}
	return proofResult{limit: limit, admitted: ok.Load(), failOpen: failOpen}
}

// digits groups log lines that differ only in ports, ids and counts.
var digits = regexp.MustCompile(`[0-9]+`)

// stumblingProxy passes TCP connections on to DynamoDB Local and reads the
// requests going up: of the UpdateItems, every throttleEvery-th is answered by
// the proxy itself with a throttling error and every resetEvery-th has its
// connection reset; neither reaches DynamoDB Local.
type stumblingProxy struct {
	url                        string
	target                     string
	throttleEvery, resetEvery  int64
	updates, throttled, resets atomic.Int64
}

func startStumblingProxy(t *testing.T, target string, throttleEvery, resetEvery int64) *stumblingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stumblingProxy{url: "http://" + ln.Addr().String(), target: target, throttleEvery: throttleEvery, resetEvery: resetEvery}
	var conns sync.WaitGroup
	done := make(chan struct{})
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[c] = true
			mu.Unlock()
			conns.Go(func() {
				p.serve(c, done)
				mu.Lock()
				delete(open, c)
				mu.Unlock()
			})
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		close(done)
		mu.Lock()
		for c := range open {
			_ = c.Close()
		}
		mu.Unlock()
		conns.Wait()
	})
	return p
}

const throttleBody = `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}`

func (p *stumblingProxy) serve(c net.Conn, done chan struct{}) {
	defer c.Close()
	var d net.Dialer
	up, err := d.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() {
		_, _ = io.Copy(c, up)
		_ = c.Close()
	}()
	br := bufio.NewReader(c)
	for {
		select {
		case <-done:
			return
		default:
		}
		raw, op, err := readRequest(br)
		if err != nil {
			return
		}
		if op == "DynamoDB_20120810.UpdateItem" {
			n := p.updates.Add(1)
			switch {
			case n%p.resetEvery == 0:
				p.resets.Add(1)
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				return
			case n%p.throttleEvery == 0:
				// No pipelining: the previous answer has been read in full, so
				// nothing from upstream is being written to c now.
				p.throttled.Add(1)
				fmt.Fprintf(c, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: stumbling-proxy\r\nContent-Length: %d\r\n\r\n%s", len(throttleBody), throttleBody)
				continue
			}
		}
		if _, err := up.Write(raw); err != nil {
			return
		}
	}
}

// readRequest reads one HTTP/1.1 request (headers and a Content-Length body)
// and returns its bytes as sent and its X-Amz-Target.
func readRequest(br *bufio.Reader) (raw []byte, target string, err error) {
	var buf bytes.Buffer
	length := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, "", err
		}
		buf.Write(line)
		if buf.Len() > 1<<20 {
			return nil, "", errors.New("headers too long")
		}
		h := strings.TrimRight(string(line), "\r\n")
		if h == "" {
			break
		}
		name, value, _ := strings.Cut(h, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			if length, err = strconv.Atoi(strings.TrimSpace(value)); err != nil {
				return nil, "", err
			}
		case "x-amz-target":
			target = strings.TrimSpace(value)
		}
	}
	if _, err := io.CopyN(&buf, br, int64(length)); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), target, nil
}
