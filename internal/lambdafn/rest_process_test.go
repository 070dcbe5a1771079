package lambdafn_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/runtimeapi"
)

// restStreamEvent is events/rest/chat-stream.json asking for gpt-4o-mini
// (the model an OPENAI_API_KEY turns on) instead of the mock's, with a
// prompt of its own (streamEvent's answer may be cached).
func restStreamEvent(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(eventsDir, "rest", "chat-stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	ev["body"] = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"count through the REST API"}]}`
	out, _ := json.Marshal(ev)
	return out
}

// The real stream bootstrap answers a REST API event (what API Gateway
// sends with responseTransferMode STREAM) with a streamed response, chunk by
// chunk as the upstream sends them, and a Function URL event after it on
// the same process: one function behind both front doors.
func TestProcessStreamFunctionStreamsARESTEventAndAFunctionURLEvent(t *testing.T) {
	bin := buildBootstrap(t, "stream")
	up := &slowUpstream{words: []string{"one ", "two ", "three ", "four ", "five"}, gap: 250 * time.Millisecond}
	upSrv := newSlowUpstream(t, up)
	p := startProcess(t, bin, openAccess(map[string]string{"OPENAI_API_KEY": upstreamKey, "OPENAI_BASE_URL": upSrv.URL + "/v1"}), true)

	for _, ev := range []struct {
		name  string
		event []byte
	}{{"REST API", restStreamEvent(t)}, {"Function URL", streamEvent(t)}} {
		inv := invoke(t, p, ev.event)
		pre, got := readStream(t, inv)
		if err := inv.Err(); err != nil {
			t.Fatalf("%s: function error: %v", ev.name, err)
		}
		select {
		case <-up.authOK:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the upstream was never asked", ev.name)
		}
		if ct := pre.Header().Get("Content-Type"); pre.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("%s: prelude %+v", ev.name, pre)
		}
		body := joined(got)
		if !strings.HasSuffix(body, "data: [DONE]\n\n") || strings.Count(body, "chat.completion.chunk") < 7 {
			t.Fatalf("%s: body:\n%s", ev.name, body)
		}
		// Four 250 ms gaps upstream: streamed, the words spread over about
		// a second; buffered, they would arrive together at the end.
		first, last := arrivedAt(t, got, `"one "`), arrivedAt(t, got, `"five"`)
		if spread := last.Sub(first); spread < 500*time.Millisecond || len(got) < 5 {
			t.Fatalf("%s: the words arrived within %s in %d reads: the response was buffered", ev.name, spread, len(got))
		}
		t.Logf("%s: %d chunks; first word → last word %s", ev.name, len(got), last.Sub(first).Round(time.Millisecond))
	}
}

// A REST API client that leaves mid-stream is invisible to the function, as
// on the Function URL (the Runtime API reads the response to its end; see
// runtimeapi): the invocation ends as any other does and the same process
// serves the next one warm.
func TestProcessARESTClientThatLeftEndsThatInvocationOnly(t *testing.T) {
	bin := buildBootstrap(t, "stream")
	words := make([]string, 30)
	for i := range words {
		words[i] = fmt.Sprintf("w%d ", i)
	}
	up := &slowUpstream{words: words, gap: 20 * time.Millisecond}
	upSrv := newSlowUpstream(t, up)
	p := startProcess(t, bin, openAccess(map[string]string{"OPENAI_API_KEY": upstreamKey, "OPENAI_BASE_URL": upSrv.URL + "/v1"}), true)
	pid := p.cmd.Process.Pid

	inv := invoke(t, p, restStreamEvent(t))
	br := bufio.NewReader(inv.Body)
	if _, err := runtimeapi.ReadPrelude(br); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the first event
		t.Fatal(err)
	}
	_ = inv.Body.Close() // the client goes away
	if err := inv.Err(); err != nil {
		t.Fatalf("the cut invocation failed: %v", err)
	}
	<-up.ended
	p.alive(t)
	inv2 := invoke(t, p, streamEventSaying(t, "count again"))
	pre, got := readStream(t, inv2)
	if err := inv2.Err(); err != nil || pre.StatusCode != 200 || !strings.HasSuffix(joined(got), "data: [DONE]\n\n") {
		t.Fatalf("second invocation: %v %d\n%s", err, pre.StatusCode, joined(got))
	}
	if n := p.inits(); n != 1 || p.cmd.Process.Pid != pid {
		t.Fatalf("%d inits: the environment did not survive the REST client leaving", n)
	}
}
