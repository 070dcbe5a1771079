package gateway_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/metrics"
)

// eventLog is a Recorder that keeps what it is given.
type eventLog struct {
	mu     sync.Mutex
	events []metrics.Event
	opened []string
}

func (l *eventLog) Record(e metrics.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) BreakerOpened(p, m string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opened = append(l.opened, p+"/"+m)
}

func TestEveryRequestFeedsTheMetricsEndpoints(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g, _ := newGateway(t, twoProviders, a, a)
	for i := 0; i < 3; i++ {
		do(t, g, "POST", "/v1/chat/completions", hello)
	}
	do(t, g, "POST", "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`)
	rec := do(t, g, "GET", "/metrics", "")
	var snap metrics.Snapshot
	if err := json.Unmarshal(rec.Body.Bytes(), &snap); err != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if snap.Totals.Requests != 4 || snap.Totals.InputTokens != 9 || snap.Totals.ClientErrors != 1 {
		t.Fatalf("totals %+v", snap.Totals)
	}
	prom := do(t, g, "GET", "/metrics/prometheus", "").Body.String()
	if !strings.Contains(prom, `gateway_requests_total{model="shared",provider="a",route="shared"} 3`) {
		t.Fatalf("prometheus output lacks the request counter:\n%s", prom)
	}
	page := do(t, g, "GET", "/dashboard", "")
	if page.Code != 200 || !strings.Contains(page.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("dashboard %d %q", page.Code, page.Header().Get("Content-Type"))
	}
}

func TestMetricsNeedTheAdminKeyWhenAuthIsOn(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, stateful, nil, a, a)
	for _, p := range []string{"/metrics", "/metrics/prometheus"} {
		if rec := do(t, g, "GET", p, ""); rec.Code != 401 {
			t.Fatalf("%s without the admin key: %d", p, rec.Code)
		}
		if rec := do(t, g, "GET", p, "", "Authorization", "Bearer "+adminKey); rec.Code != 200 {
			t.Fatalf("%s with the admin key: %d", p, rec.Code)
		}
	}
}

func TestExtraRecorderGetsEventsAndBreakerOpenings(t *testing.T) {
	a := newUpstream(t, status(500, "down"))
	b := newUpstream(t, okChat("b"))
	log := &eventLog{}
	toml := twoProviders + "\n[defaults.breaker]\nfailure_threshold = 1\nrecovery_timeout = \"1h\"\n"
	g := newWithOptions(t, toml, app.Options{Metrics: log}, a, b)
	do(t, g, "POST", "/v1/chat/completions", hello)
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.events) != 1 {
		t.Fatalf("events %+v", log.events)
	}
	e := log.events[0]
	if e.Provider != "b" || e.Failovers != 1 || e.Status != 200 || e.InputTokens != 3 || e.Endpoint != "chat" || e.UpstreamLatency <= 0 {
		t.Fatalf("event %+v", e)
	}
}
