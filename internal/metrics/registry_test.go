package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sequence is a small day at the gateway: three OpenAI requests (one 5xx, one
// rate limited), one cached Anthropic stream after a failover, one request
// refused before routing, and two breaker openings.
func sequence(r *Registry, clock *fakeClock) {
	r.Record(Event{Endpoint: "chat", Route: "default", Provider: "openai", Model: "gpt-4o", KeyID: "key-alice",
		Status: 200, Latency: 100 * time.Millisecond, UpstreamLatency: 80 * time.Millisecond,
		InputTokens: 10, OutputTokens: 20, CostUSD: 0.25})
	r.Record(Event{Endpoint: "chat", Route: "default", Provider: "openai", Model: "gpt-4o", KeyID: "key-bob",
		Status: 502, Latency: 200 * time.Millisecond, UpstreamLatency: 190 * time.Millisecond})
	r.Record(Event{Endpoint: "chat", Route: "default", Provider: "openai", Model: "gpt-4o", KeyID: "key-alice",
		Status: 429, RateLimited: true, Latency: 300 * time.Millisecond})
	clock.advance(time.Second)
	r.Record(Event{Endpoint: "chat", Route: "fast", Provider: "anthropic", Model: "claude-sonnet-4", KeyID: "key-alice",
		Status: 200, Stream: true, CacheHit: true, Failovers: 1, Latency: 40 * time.Millisecond,
		TimeToFirstByte: 5 * time.Millisecond, InputTokens: 100, OutputTokens: 50, CostUSD: 1.5})
	r.Record(Event{Endpoint: "chat", KeyID: "", Status: 401, Latency: time.Millisecond})
	r.BreakerOpened("openai", "gpt-4o")
	r.BreakerOpened("openai", "gpt-4o")
}

func findStats(t *testing.T, rows []Stats, provider, model, route string) Stats {
	t.Helper()
	for _, s := range rows {
		if s.Provider == provider && s.Model == model && s.Route == route {
			return s
		}
	}
	t.Fatalf("no row %q/%q/%q in %+v", provider, model, route, rows)
	return Stats{}
}

func TestRegistryCountsAndTotalsAfterASequence(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	r := NewRegistryClock(clock.now)
	clock.advance(89 * time.Second)
	sequence(r, clock)
	s := r.Snapshot()

	wantTotals := Counters{Requests: 5, Errors: 1, ClientErrors: 2, RateLimited: 1, CacheHits: 1, Failovers: 1,
		BreakerOpen: 2, InputTokens: 110, OutputTokens: 70, CostUSD: 1.75}
	if s.Totals.Counters != wantTotals {
		t.Errorf("totals = %+v\nwant     %+v", s.Totals.Counters, wantTotals)
	}
	if s.Totals.ErrorRate != 0.2 || s.Totals.CacheHitRate != 0.2 {
		t.Errorf("rates: error %v cache %v, want 0.2 and 0.2", s.Totals.ErrorRate, s.Totals.CacheHitRate)
	}
	if s.UptimeSeconds != 90 || r.Uptime() != 90*time.Second {
		t.Errorf("uptime = %v / %v, want 90 s", s.UptimeSeconds, r.Uptime())
	}

	openai := findStats(t, s.Series, "openai", "gpt-4o", "default")
	wantOpenAI := Counters{Requests: 3, Errors: 1, ClientErrors: 1, RateLimited: 1, InputTokens: 10, OutputTokens: 20, CostUSD: 0.25}
	if openai.Counters != wantOpenAI {
		t.Errorf("openai series = %+v\nwant           %+v", openai.Counters, wantOpenAI)
	}
	if openai.Latency.Count != 3 || openai.UpstreamLatency.Count != 2 || openai.TimeToFirstByte.Count != 0 {
		t.Errorf("openai histogram counts: %d %d %d", openai.Latency.Count, openai.UpstreamLatency.Count, openai.TimeToFirstByte.Count)
	}
	if math.Abs(openai.Latency.MeanMS-200) > 1e-9 || openai.Latency.MaxMS != 300 {
		t.Errorf("openai latency mean/max = %v/%v, want 200/300", openai.Latency.MeanMS, openai.Latency.MaxMS)
	}
	if len(s.Series) != 3 {
		t.Errorf("%d series, want 3", len(s.Series))
	}

	if p := findStats(t, s.Providers, "openai", "", ""); p.Requests != 3 || p.BreakerOpen != 2 {
		t.Errorf("openai provider: requests %d breaker opens %d, want 3 and 2", p.Requests, p.BreakerOpen)
	}
	if m := findStats(t, s.Models, "anthropic", "claude-sonnet-4", ""); m.Requests != 1 || m.CacheHitRate != 1 ||
		m.TimeToFirstByte.P50MS != 5 || m.CostUSD != 1.5 {
		t.Errorf("anthropic model row = %+v", m)
	}
	if p := findStats(t, s.Providers, "", "", ""); p.ClientErrors != 1 {
		t.Errorf("no-provider row = %+v", p)
	}
	if s.Providers[0].Provider != "openai" {
		t.Errorf("providers not sorted by requests: %+v", s.Providers)
	}

	keys := map[string]KeyStats{}
	for _, k := range s.Keys {
		keys[k.KeyID] = k
	}
	wantAlice := KeyStats{KeyID: "key-alice", Requests: 3, ClientErrors: 1, RateLimited: 1, InputTokens: 110,
		OutputTokens: 70, CostUSD: 1.75}
	if keys["key-alice"] != wantAlice {
		t.Errorf("key-alice = %+v\nwant      %+v", keys["key-alice"], wantAlice)
	}
	if keys["key-bob"].Errors != 1 || keys[""].Requests != 1 || len(keys) != 3 {
		t.Errorf("keys = %+v", s.Keys)
	}

	rps := s.RequestsPerSecond
	if len(rps) != 120 || rps[119] != 2 || rps[118] != 3 {
		t.Errorf("requests_per_second tail = %v, want [... 3 2]", rps[len(rps)-3:])
	}
	clock.advance(200 * time.Second)
	if late := r.Snapshot().RequestsPerSecond; slices.Max(late) != 0 {
		t.Errorf("requests older than the window still counted: %v", late)
	}
}

// trueQuantile is the nearest-rank quantile of sorted values.
func trueQuantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// bucketOf returns the bounds of the bucket that holds v (seconds).
func bucketOf(v float64) (lo, hi float64) {
	for _, b := range latencyBuckets {
		if v <= b {
			return lo, b
		}
		lo = b
	}
	return lo, math.Inf(1)
}

func TestPercentilesAreWithinOneBucketOfTheTruth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func(i int) time.Duration{
		"uniform 1..1000 ms": func(i int) time.Duration { return time.Duration(i%1000+1) * time.Millisecond },
		"log-normal around 300 ms": func(int) time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()+math.Log(0.3)) * float64(time.Second))
		},
		"bimodal cache and upstream": func(i int) time.Duration {
			if i%10 < 3 {
				return time.Duration(rng.IntN(3000)+500) * time.Microsecond
			}
			return time.Duration(rng.IntN(4000)+800) * time.Millisecond
		},
		"tail past 60 s": func(i int) time.Duration { return time.Duration(55+i%20) * time.Second },
	}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			r := NewRegistry()
			var values []float64
			for i := range 5000 {
				d := gen(i)
				values = append(values, d.Seconds())
				r.Record(Event{Provider: "p", Model: "m", Route: "r", Status: 200, Latency: d})
			}
			slices.Sort(values)
			got := r.Snapshot().Series[0].Latency
			for _, c := range []struct {
				q   float64
				est float64
			}{{0.50, got.P50MS}, {0.95, got.P95MS}, {0.99, got.P99MS}} {
				truth := trueQuantile(values, c.q)
				lo, hi := bucketOf(truth)
				hi = min(hi, values[len(values)-1])
				if est := c.est / 1000; est < lo || est > hi {
					t.Errorf("p%v = %.4fs, truth %.4fs: outside its bucket (%.4f, %.4f]", c.q*100, est, truth, lo, hi)
				}
			}
			if got.MaxMS != values[len(values)-1]*1000 {
				t.Errorf("max = %v, want %v", got.MaxMS, values[len(values)-1]*1000)
			}
		})
	}
}

func TestARepeatedLatencyIsReportedExactly(t *testing.T) {
	r := NewRegistry()
	for range 10 {
		r.Record(Event{Status: 200, Latency: 42 * time.Millisecond})
	}
	l := r.Snapshot().Totals.Latency
	if l.P50MS != 42 || l.P95MS != 42 || l.P99MS != 42 || l.MeanMS != 42 {
		t.Errorf("latency = %+v, want 42 ms everywhere", l)
	}
}

func TestJSONHandlerServesTheSnapshot(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	r := NewRegistryClock(clock.now)
	sequence(r, clock)
	srv := httptest.NewServer(r.JSONHandler())
	defer srv.Close()

	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" ||
		res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, headers %v", res.StatusCode, res.Header)
	}
	var raw map[string]any
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"time", "started_at", "uptime_seconds", "totals", "providers", "models", "series", "keys", "requests_per_second"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("snapshot JSON lacks %q", k)
		}
	}
	totals := raw["totals"].(map[string]any)
	if totals["requests"] != float64(5) || totals["cost_usd"] != 1.75 || totals["breaker_open"] != float64(2) {
		t.Errorf("totals = %v", totals)
	}
	lat := totals["latency"].(map[string]any)
	for _, k := range []string{"count", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency lacks %q: %v", k, lat)
		}
	}
	first := raw["providers"].([]any)[0].(map[string]any)
	if first["provider"] != "openai" || first["requests"] != float64(3) {
		t.Errorf("first provider = %v", first)
	}
	if raw["keys"].([]any)[0].(map[string]any)["key_id"] != "key-alice" {
		t.Errorf("keys = %v", raw["keys"])
	}

	res2, err := http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status %d, want 405", res2.StatusCode)
	}
}

func TestEmptyRegistrySnapshotHasNoNaN(t *testing.T) {
	b, err := json.Marshal(NewRegistry().Snapshot())
	if err != nil {
		t.Fatalf("empty snapshot does not marshal: %v", err)
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil || s.Providers == nil || s.Keys == nil || len(s.RequestsPerSecond) != 120 {
		t.Errorf("empty snapshot = %s (%v)", b, err)
	}
}

func TestConcurrentRecordSnapshotAndScrape(t *testing.T) {
	r := NewRegistry()
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				r.Record(Event{Provider: fmt.Sprintf("p%d", g%3), Model: "m", Route: "r", KeyID: fmt.Sprintf("k%d", i%5),
					Status: 200 + 300*(i%2), Latency: time.Duration(i+1) * time.Microsecond, InputTokens: 1, CostUSD: 0.5})
				if i%100 == 0 {
					r.BreakerOpened("p0", "m")
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = r.Snapshot()
				rec := httptest.NewRecorder()
				r.PrometheusHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics/prometheus", nil))
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()

	s := r.Snapshot()
	want := Counters{Requests: workers * each, Errors: workers * each / 2, BreakerOpen: workers * each / 100,
		InputTokens: workers * each, CostUSD: workers * each * 0.5}
	if s.Totals.Counters != want {
		t.Errorf("totals = %+v\nwant     %+v", s.Totals.Counters, want)
	}
	if s.Totals.Latency.Count != workers*each {
		t.Errorf("latency count = %d", s.Totals.Latency.Count)
	}
}

func TestRecordDoesNotAllocateOnceASeriesExists(t *testing.T) {
	r := NewRegistry()
	e := Event{Endpoint: "chat", Route: "default", Provider: "openai", Model: "gpt-4o", KeyID: "key-1", Status: 200,
		Stream: true, Latency: 120 * time.Millisecond, UpstreamLatency: 100 * time.Millisecond,
		TimeToFirstByte: 20 * time.Millisecond, InputTokens: 10, OutputTokens: 5, CostUSD: 0.001, Failovers: 1}
	r.Record(e)
	if n := testing.AllocsPerRun(1000, func() { r.Record(e) }); n != 0 {
		t.Errorf("Record allocates %v times per call", n)
	}
}

func TestCardinalityIsCapped(t *testing.T) {
	r := NewRegistry()
	for i := range maxSeries + 50 {
		r.Record(Event{Provider: "p", Model: fmt.Sprintf("client-chosen-%d", i), KeyID: fmt.Sprintf("k%d", i), Status: 404})
	}
	s := r.Snapshot()
	if len(s.Series) != maxSeries+1 {
		t.Errorf("%d series, want the cap %d plus one overflow row", len(s.Series), maxSeries)
	}
	other := findStats(t, s.Series, overflow, overflow, overflow)
	if other.Requests != 50 || s.Totals.Requests != maxSeries+50 {
		t.Errorf("overflow row has %d requests, totals %d", other.Requests, s.Totals.Requests)
	}
}

func BenchmarkRegistryRecord(b *testing.B) {
	r := NewRegistry()
	e := Event{Route: "default", Provider: "openai", Model: "gpt-4o", KeyID: "key-1", Status: 200,
		Latency: 120 * time.Millisecond, UpstreamLatency: 100 * time.Millisecond, InputTokens: 10, CostUSD: 0.001}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Record(e)
		}
	})
}
