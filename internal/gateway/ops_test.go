package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/openai"
)

func TestMetricsAndTheLogNameTheProviderThatFailed(t *testing.T) {
	a := newUpstream(t, status(500, "down"))
	log := &eventLog{}
	g, logs := newGateway(t, twoProviders, a, a)
	g2 := newWithOptions(t, twoProviders, app.Options{Metrics: log}, a, a)
	if rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"only-a","messages":[{"role":"user","content":"x"}]}`); rec.Code != 502 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	line := lastLine(logs.String())
	for _, want := range []string{`"provider":"a"`, `"attempts":1`, `"failovers":0`, `"status":502`} {
		if !strings.Contains(line, want) {
			t.Errorf("the failed request's log line lacks %s: %s", want, line)
		}
	}
	do(t, g2, "POST", "/v1/chat/completions", `{"model":"only-a","messages":[{"role":"user","content":"x"}]}`)
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.events) != 1 || log.events[0].Provider != "a" || log.events[0].Model != "only-a" {
		t.Fatalf("events %+v", log.events)
	}
}

func TestOperatorPollsAreNotCountedAsTraffic(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	log := &eventLog{}
	g := newWithOptions(t, twoProviders, app.Options{Metrics: log}, a, a)
	for _, p := range []string{"/health", "/metrics", "/metrics/prometheus", "/dashboard", "/admin/providers"} {
		do(t, g, "GET", p, "")
	}
	do(t, g, "POST", "/v1/chat/completions", hello)
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.events) != 1 || log.events[0].Endpoint != "chat" {
		t.Fatalf("events %+v", log.events)
	}
}

func TestAStreamTheUpstreamCutLogsAWarning(t *testing.T) {
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	g, logs := newGateway(t, twoProviders, a, a)
	do(t, g, "POST", "/v1/chat/completions", `{"model":"only-a","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if line := lastLine(logs.String()); !strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, `"error"`) {
		t.Fatalf("a cut stream's log line: %s", line)
	}
}

func TestModelsNeedsAKeyAndListsOnlyWhatItMayCall(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, stateful, nil, a, a)
	if rec := do(t, g, "GET", "/v1/models", ""); rec.Code != 401 {
		t.Fatalf("without a key: %d", rec.Code)
	}
	ids := func(secret string) []string {
		rec := do(t, g, "GET", "/v1/models", "", "Authorization", "Bearer "+secret)
		var list openai.ModelList
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		var out []string
		for _, m := range list.Data {
			out = append(out, m.ID)
		}
		return out
	}
	all, _ := createKey(t, g, `{}`)
	if got := ids(all); !slices.Equal(got, []string{"fast", "only-a", "shared"}) {
		t.Fatalf("an unrestricted key sees %v", got)
	}
	onlyA, _ := createKey(t, g, `{"allowed_models":["only-a"]}`)
	if got := ids(onlyA); !slices.Equal(got, []string{"only-a"}) {
		t.Fatalf("a key allowed only-a sees %v", got)
	}
}

// TestOpsEndpointsWithAuthenticationOff pins what the README promises: with
// authentication off, /metrics and /dashboard are open (so is every model);
// the admin API always needs the admin key, and without one configured it
// is closed.
func TestOpsEndpointsWithAuthenticationOff(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	open, _ := newGateway(t, twoProviders, a, a)
	for _, p := range []string{"/metrics", "/metrics/prometheus", "/dashboard"} {
		if rec := do(t, open, "GET", p, ""); rec.Code != 200 {
			t.Errorf("%s with auth off: %d", p, rec.Code)
		}
	}
	if rec := do(t, open, "GET", "/admin/providers", ""); rec.Code != 403 || !strings.Contains(errorOf(t, rec).Message, "admin_key") {
		t.Errorf("the admin API without an admin key: %d %s", rec.Code, rec.Body)
	}
	withAdmin, _ := newGateway(t, twoProviders+"\n[auth]\nadmin_key = \""+adminKey+"\"\n", a, a)
	if rec := do(t, withAdmin, "GET", "/admin/providers", ""); rec.Code != 401 {
		t.Errorf("the admin API without the admin key: %d", rec.Code)
	}
	if rec := do(t, withAdmin, "GET", "/admin/providers", "", "Authorization", "Bearer "+adminKey); rec.Code != 200 {
		t.Errorf("the admin API with the admin key: %d", rec.Code)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestAClientsRequestIDIsEchoedOnlyWhenItIsSafe(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, logs := newGateway(t, twoProviders, a, a)
	for id, kept := range map[string]bool{"req-123_abc:1": true, "has space": false, "tab\tin": false, "ünï": false, strings.Repeat("x", 129): false} {
		rec := do(t, g, "GET", "/health", "", "X-Request-Id", id)
		if got := rec.Header().Get("X-Request-Id"); (got == id) != kept || got == "" {
			t.Errorf("X-Request-Id %q answered %q", id, got)
		}
	}
	if strings.Contains(logs.String(), "tab\\tin") {
		t.Error("an unsafe request id reached the log")
	}
}

func TestModelsListsWhatAWildcardProvidersUpstreamServes(t *testing.T) {
	var listed atomic.Int64
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/models" {
			listed.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"object":"list","data":[{"id":"gpt-4.1"},{"id":"gpt-4o"},{"id":"davinci-002"}]}`)
			return
		}
		okChat("a")(w, r)
	})
	b := newUpstream(t, status(500, "no list"))
	toml := strings.Replace(twoProviders, `models = ["shared", "only-a"]`, `models = ["shared", "only-a", "gpt-*"]`, 1)
	toml = strings.Replace(toml, `models = ["shared"]`, `models = ["shared", "claude-*"]`, 1)
	g, _ := newGateway(t, toml, a, b)
	for range 2 {
		rec := do(t, g, "GET", "/v1/models", "")
		var list openai.ModelList
		_ = json.Unmarshal(rec.Body.Bytes(), &list)
		var ids []string
		for _, m := range list.Data {
			ids = append(ids, m.ID)
		}
		// a's upstream lists its models; b's cannot: its pattern is listed instead.
		if want := []string{"fast", "only-a", "shared", "gpt-4.1", "gpt-4o", "claude-*"}; !slices.Equal(ids, want) {
			t.Fatalf("models %v, want %v", ids, want)
		}
	}
	if listed.Load() != 1 {
		t.Fatalf("the upstream was asked %d times, want once (cached)", listed.Load())
	}
}
