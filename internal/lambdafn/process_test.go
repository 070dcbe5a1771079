package lambdafn_test

// Process-level tests: the real functions/<fn> bootstrap, built for this
// machine, runs as a process against the Runtime API emulator
// (internal/runtimeapi) and a fake loopback upstream, exactly as Lambda runs
// it (provided.al2023 runs the same binary, built for linux/arm64).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/gateway"
	"github.com/aigateway/gateway/internal/lambdafn"
	"github.com/aigateway/gateway/internal/runtimeapi"
	"github.com/aigateway/gateway/internal/testutil"
)

// buildBootstrap builds functions/<fn> the way `make build` does, for the
// host's GOOS/GOARCH, into a temporary folder.
func buildBootstrap(t *testing.T, fn string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a bootstrap process")
	}
	root := testutil.RepoRoot(t)
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./functions/"+fn)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "GOFLAGS=-buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./functions/%s: %v\n%s", fn, err, b)
	}
	return out
}

type process struct {
	api    *runtimeapi.Server
	cmd    *exec.Cmd
	logs   *testutil.LogBuffer
	exited chan struct{}
	init   time.Duration
}

// startProcess runs bin against a fresh emulator with exactly env (plus
// AWS_LAMBDA_RUNTIME_API): nothing of the test's own environment leaks in.
// When wantReady is set it waits for the first `next` and records INIT.
func startProcess(t *testing.T, bin string, env map[string]string, wantReady bool) *process {
	t.Helper()
	api, err := runtimeapi.Start()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{api: api, logs: &testutil.LogBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + api.Addr(), "AWS_LAMBDA_FUNCTION_NAME=test",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512", "PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		_ = api.Close()
		if t.Failed() {
			t.Logf("bootstrap output:\n%s", p.logs)
		}
	})
	if !wantReady {
		return p
	}
	select {
	case <-api.Ready():
		p.init = api.FirstNext().Sub(start)
	case ie := <-api.InitError():
		t.Fatalf("init error: %v", ie)
	case <-p.exited:
		t.Fatalf("the bootstrap exited during init: %v", p.cmd.ProcessState)
	case <-time.After(10 * time.Second):
		t.Fatal("no `next` within Lambda's 10 s init limit")
	}
	return p
}

// fakeSecretsManager answers GetSecretValue with value for any secret id.
func fakeSecretsManager(t *testing.T, value string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
			http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
			return
		}
		var in struct{ SecretId string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": in.SecretId, "Name": "gateway-provider-keys", "SecretString": value,
			"VersionId": "v1", "CreatedDate": 1.7e9,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// secretEnv configures the process to read its provider keys from the fake
// Secrets Manager, as a deployed function does.
func secretEnv(sm *httptest.Server) map[string]string {
	return map[string]string{
		lambdafn.SecretEnv:                 "arn:aws:secretsmanager:us-east-1:000000000000:secret:gateway-provider-keys-AbCdEf",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL,
		"AWS_REGION":                       "us-east-1",
		"AWS_ACCESS_KEY_ID":                "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":            "test",
	}
}

const upstreamKey = "sk-test-from-the-secret"

// openAccess adds to env what a stack deployed with -c openAccess=true sets:
// authentication off, on purpose. The tests that are not about keys use it.
func openAccess(env map[string]string) map[string]string {
	out := map[string]string{"GATEWAY_AUTH": "false", config.OpenAccessEnv: "true"}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// slowUpstream is an OpenAI-compatible upstream that streams words with
// gap between them; after cutAfter words (when > 0) it drops the connection.
// Each request's end (client gone or done) is reported on ended.
type slowUpstream struct {
	words    []string
	gap      time.Duration
	cutAfter int
	ended    chan time.Time
	authOK   chan bool
}

func (u *slowUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() { u.ended <- time.Now() }()
	u.authOK <- r.Header.Get("Authorization") == "Bearer "+upstreamKey
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(delta, finish string) {
		fr := "null"
		if finish != "" {
			fr = `"` + finish + `"`
		}
		fmt.Fprintf(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`+"\n\n", delta, fr)
		w.(http.Flusher).Flush()
	}
	chunk(`{"role":"assistant","content":""}`, "")
	for i, word := range u.words {
		if u.cutAfter > 0 && i == u.cutAfter {
			panic(http.ErrAbortHandler) // the connection drops mid-stream
		}
		select {
		case <-time.After(u.gap):
		case <-r.Context().Done():
			return
		}
		chunk(fmt.Sprintf(`{"content":%q}`, word), "")
	}
	chunk(`{}`, "stop")
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func newSlowUpstream(t *testing.T, u *slowUpstream) *httptest.Server {
	t.Helper()
	u.ended, u.authOK = make(chan time.Time, 4), make(chan bool, 4)
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	return srv
}

// streamEvent is events/stream/chat-stream.json asking for gpt-4o-mini (the
// model an OPENAI_API_KEY turns on) instead of the mock's.
func streamEvent(t *testing.T) []byte {
	t.Helper()
	return streamEventSaying(t, "count")
}

// streamEventSaying is streamEvent with another user message (another cache
// key).
func streamEventSaying(t *testing.T, content string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(eventsDir, "stream", "chat-stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	ev["body"] = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":` + strconv.Quote(content) + `}]}`
	out, _ := json.Marshal(ev)
	return out
}

// arrival is one Read of the response body and when it came.
type arrival struct {
	at   time.Time
	data string
}

// readStream reads a streamed invocation: the prelude, then each body chunk
// with its arrival time.
func readStream(t *testing.T, inv *runtimeapi.Invocation) (*runtimeapi.Prelude, []arrival) {
	t.Helper()
	if !inv.Streaming() {
		t.Fatalf("Content-Type %q, want %s", inv.Header.Get("Content-Type"), runtimeapi.StreamingContentType)
	}
	br := bufio.NewReader(inv.Body)
	pre, err := runtimeapi.ReadPrelude(br)
	if err != nil {
		t.Fatal(err)
	}
	var got []arrival
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		got = append(got, arrival{time.Now(), string(b)})
		_, _ = br.Discard(n)
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := inv.Body.Read(buf)
		if n > 0 {
			got = append(got, arrival{time.Now(), string(buf[:n])})
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return pre, got
}

func joined(as []arrival) string {
	var b strings.Builder
	for _, a := range as {
		b.WriteString(a.data)
	}
	return b.String()
}

// arrivedAt is when the chunk holding s arrived.
func arrivedAt(t *testing.T, as []arrival, s string) time.Time {
	t.Helper()
	for _, a := range as {
		if strings.Contains(a.data, s) {
			return a.at
		}
	}
	t.Fatalf("%q never arrived in %q", s, joined(as))
	return time.Time{}
}

func invoke(t *testing.T, p *process, event []byte) *runtimeapi.Invocation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inv, err := p.api.Invoke(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inv.Body.Close() })
	return inv
}

func TestProcessStreamFunctionDeliversChunksAsTheUpstreamSendsThem(t *testing.T) {
	bin := buildBootstrap(t, "stream")
	up := &slowUpstream{words: []string{"one ", "two ", "three ", "four ", "five"}, gap: 250 * time.Millisecond}
	upSrv := newSlowUpstream(t, up)
	secret, _ := json.Marshal(map[string]string{"OPENAI_API_KEY": upstreamKey, "OPENAI_BASE_URL": upSrv.URL + "/v1"})
	p := startProcess(t, bin, openAccess(secretEnv(fakeSecretsManager(t, string(secret)))), true)
	t.Logf("INIT (process start → first next, provider secret read included): %s", p.init.Round(100*time.Microsecond))

	inv := invoke(t, p, streamEvent(t))
	pre, got := readStream(t, inv)
	if err := inv.Err(); err != nil {
		t.Fatalf("function error: %v", err)
	}
	if !<-up.authOK {
		t.Error("the upstream did not get the key from the provider secret")
	}
	if pre.StatusCode != 200 || !strings.HasPrefix(pre.Headers["Content-Type"], "text/event-stream") {
		t.Fatalf("prelude %+v", pre)
	}
	body := joined(got)
	if !strings.HasSuffix(body, "data: [DONE]\n\n") || strings.Count(body, "chat.completion.chunk") < 7 {
		t.Fatalf("body:\n%s", body)
	}
	// No trailer reaches a Function URL client: the cost comes as a comment.
	_, cost, _ := strings.Cut(body, "\n\n"+gateway.CostComment)
	if usd, ok := strings.CutSuffix(cost, "\n\ndata: [DONE]\n\n"); !ok || strings.Trim(usd, "0123456789.") != "" || usd == "" {
		t.Fatalf("no cost comment before [DONE]:\n%s", tail(body, 300))
	}
	// Four 250 ms gaps upstream: a streamed relay spreads the words over
	// about a second; a buffered one delivers them together at the end.
	first, last := arrivedAt(t, got, `"one "`), arrivedAt(t, got, `"five"`)
	if spread := last.Sub(first); spread < 500*time.Millisecond {
		t.Fatalf("the words arrived within %s of each other: the response was buffered (%d reads)", spread, len(got))
	}
	if len(got) < 5 {
		t.Fatalf("%d reads, want one per chunk or close", len(got))
	}
	t.Logf("%d chunks; first word → last word %s", len(got), last.Sub(first).Round(time.Millisecond))
}

func TestProcessStreamCutAfterTheFirstByteEndsWithAnErrorEventAndDone(t *testing.T) {
	bin := buildBootstrap(t, "stream")
	up := &slowUpstream{words: []string{"one ", "two ", "three "}, gap: 20 * time.Millisecond, cutAfter: 2}
	upSrv := newSlowUpstream(t, up)
	p := startProcess(t, bin, openAccess(map[string]string{"OPENAI_API_KEY": upstreamKey, "OPENAI_BASE_URL": upSrv.URL + "/v1"}), true)

	inv := invoke(t, p, streamEvent(t))
	pre, got := readStream(t, inv)
	if err := inv.Err(); err != nil {
		t.Fatalf("function error: %v", err)
	}
	body := joined(got)
	if pre.StatusCode != 200 {
		t.Fatalf("status %d: %s", pre.StatusCode, body)
	}
	events := withoutCost(t, strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")) // what was relayed is billed
	n := len(events)
	if n < 4 || events[n-1] != "data: [DONE]" || !strings.HasPrefix(events[n-2], `data: {"error":`) {
		t.Fatalf("want the words, an error event, then [DONE]:\n%s", body)
	}
	if !strings.Contains(body, `"content":"two "`) || strings.Contains(body, `"three "`) {
		t.Fatalf("want the words sent before the cut and none after:\n%s", body)
	}
	var doc struct {
		Error struct{ Message, Type string }
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(events[n-2], "data: ")), &doc); err != nil || doc.Error.Message == "" {
		t.Fatalf("the error event is not an OpenAI error: %s (%v)", events[n-2], err)
	}
}

// alive fails the test when the bootstrap process has exited.
func (p *process) alive(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("the bootstrap exited: %v", p.cmd.ProcessState)
	case <-time.After(100 * time.Millisecond):
	}
}

// inits is how many times the process built the gateway: once per execution
// environment.
func (p *process) inits() int { return strings.Count(p.logs.String(), `"msg":"gateway configured"`) }

// On Lambda a Function URL client that disconnects mid-stream is invisible to
// the function: the Runtime API keeps reading the response (the emulator
// models it, see runtimeapi). The invocation must end as any other does and
// the same process must serve the next one warm.
func TestProcessAClientDisconnectEndsThatInvocationOnly(t *testing.T) {
	bin := buildBootstrap(t, "stream")
	words := make([]string, 30)
	for i := range words {
		words[i] = fmt.Sprintf("w%d ", i)
	}
	up := &slowUpstream{words: words, gap: 20 * time.Millisecond}
	upSrv := newSlowUpstream(t, up)
	p := startProcess(t, bin, openAccess(map[string]string{"OPENAI_API_KEY": upstreamKey, "OPENAI_BASE_URL": upSrv.URL + "/v1"}), true)
	pid := p.cmd.Process.Pid

	inv := invoke(t, p, streamEvent(t))
	br := bufio.NewReader(inv.Body)
	if _, err := runtimeapi.ReadPrelude(br); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the first event
		t.Fatal(err)
	}
	left := time.Now()
	_ = inv.Body.Close() // the client goes away
	if err := inv.Err(); err != nil {
		t.Fatalf("the cut invocation failed: %v", err)
	}
	if inv.Discarded() == 0 {
		t.Fatal("nothing was sent after the client left: the emulator does not model Lambda")
	}
	t.Logf("after the client left the function streamed %d more bytes for %s (Lambda bills it; the deadline bounds it)",
		inv.Discarded(), inv.Ended().Sub(left).Round(time.Millisecond))
	<-up.ended
	p.alive(t)

	began := time.Now()
	inv2 := invoke(t, p, streamEventSaying(t, "count again")) // not the cached answer
	pre, got := readStream(t, inv2)
	if err := inv2.Err(); err != nil {
		t.Fatalf("second invocation: %v", err)
	}
	body := joined(got)
	if pre.StatusCode != 200 || !strings.HasSuffix(body, "data: [DONE]\n\n") ||
		!strings.Contains(body, `"content":"w0 "`) || !strings.Contains(body, `"content":"w29 "`) {
		t.Fatalf("second answer %d:\n%s", pre.StatusCode, body)
	}
	p.alive(t)
	if n := p.inits(); n != 1 || p.cmd.Process.Pid != pid {
		t.Fatalf("%d inits (pid %d, then %d): the environment did not survive the disconnect", n, pid, p.cmd.Process.Pid)
	}
	t.Logf("second invocation served warm by pid %d in %s", pid, time.Since(began).Round(time.Millisecond))
}

// The api function's client (API Gateway's HTTP API) may go away too; the
// buffered answer is posted all the same and the process serves the next.
func TestProcessAPIFunctionSurvivesAClientThatLeft(t *testing.T) {
	bin := buildBootstrap(t, "api")
	p := startProcess(t, bin, openAccess(nil), true) // the mock provider
	event, err := os.ReadFile(filepath.Join(eventsDir, "api", "chat-stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	inv := invoke(t, p, event)
	_ = inv.Body.Close() // gone before the answer was read
	if err := inv.Err(); err != nil || inv.Discarded() == 0 {
		t.Fatalf("err %v, %d bytes discarded", err, inv.Discarded())
	}
	p.alive(t)
	inv2 := invoke(t, p, event)
	raw, err := io.ReadAll(inv2.Body)
	if err != nil || inv2.Err() != nil {
		t.Fatalf("second invocation: %v, %v", err, inv2.Err())
	}
	if !strings.Contains(string(raw), `"statusCode":200`) || !strings.Contains(string(raw), `data: [DONE]`) {
		t.Fatalf("second answer: %s", raw)
	}
	if n := p.inits(); n != 1 {
		t.Fatalf("%d inits", n)
	}
}

func TestProcessAPIFunctionAnswersABufferedStream(t *testing.T) {
	bin := buildBootstrap(t, "api")
	p := startProcess(t, bin, openAccess(nil), true) // no keys: the mock provider
	t.Logf("INIT api (process start → first next, no secret): %s", p.init.Round(100*time.Microsecond))
	event, err := os.ReadFile(filepath.Join(eventsDir, "api", "chat-stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	inv := invoke(t, p, event)
	raw, err := io.ReadAll(inv.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Err(); err != nil {
		t.Fatalf("function error: %v", err)
	}
	var resp struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("not an API Gateway response: %v\n%s", err, raw)
	}
	if resp.StatusCode != 200 || resp.Headers["Content-Type"] != "text/event-stream" ||
		!strings.HasSuffix(resp.Body, "data: [DONE]\n\n") || !strings.Contains(resp.Body, `"content":"stream "`) {
		t.Fatalf("%d %v\n%s", resp.StatusCode, resp.Headers, resp.Body)
	}
}

func TestProcessReportsABadProviderSecretAsAnInitError(t *testing.T) {
	bin := buildBootstrap(t, "stream")
	p := startProcess(t, bin, secretEnv(fakeSecretsManager(t, "sk-pasted-as-plain-text")), false)
	select {
	case ie := <-p.api.InitError():
		if ie.Type != lambdafn.InitErrorType || !strings.Contains(ie.Error(), "gateway-provider-keys") ||
			strings.Contains(ie.Error(), "sk-pasted") {
			t.Fatalf("init error %v", ie)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no init error reported")
	}
	select {
	case <-p.exited:
		if p.cmd.ProcessState.ExitCode() != 1 {
			t.Fatalf("exit code %d", p.cmd.ProcessState.ExitCode())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the bootstrap did not exit after its init error")
	}
}
