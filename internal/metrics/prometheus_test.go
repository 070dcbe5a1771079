package metrics

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func scrape(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(r.PrometheusHandler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/metrics/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("Prometheus text does not parse: %v", err)
	}
	return families
}

func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

// child finds the metric of a family with exactly these label values.
func child(t *testing.T, f *dto.MetricFamily, want map[string]string) *dto.Metric {
	t.Helper()
	for _, m := range f.GetMetric() {
		l := labelsOf(m)
		if len(l) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			match = match && l[k] == v
		}
		if match {
			return m
		}
	}
	t.Fatalf("%s has no child %v", f.GetName(), want)
	return nil
}

func TestPrometheusOutputParsesWithFamiliesLabelsAndValues(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	r := NewRegistryClock(clock.now)
	sequence(r, clock)
	clock.advance(10 * time.Second)
	r.Record(Event{Provider: "odd", Model: "bad-\xff-utf8", Route: "r", KeyID: "key-carol", Status: 200})
	families := scrape(t, r)

	types := map[string]dto.MetricType{
		PromRequests: dto.MetricType_COUNTER, PromErrors: dto.MetricType_COUNTER,
		PromClientErrors: dto.MetricType_COUNTER, PromRateLimited: dto.MetricType_COUNTER,
		PromCacheHits: dto.MetricType_COUNTER, PromFailovers: dto.MetricType_COUNTER,
		PromBreakerOpen: dto.MetricType_COUNTER, PromInputTokens: dto.MetricType_COUNTER,
		PromOutputTokens: dto.MetricType_COUNTER, PromCostUSD: dto.MetricType_COUNTER,
		PromLatency: dto.MetricType_HISTOGRAM, PromUpstreamLatency: dto.MetricType_HISTOGRAM,
		PromTimeToFirstByte: dto.MetricType_HISTOGRAM, PromUptime: dto.MetricType_GAUGE,
	}
	for name, typ := range types {
		f := families[name]
		if f == nil {
			t.Errorf("family %s missing", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s is %v, want %v", name, f.GetType(), typ)
		}
	}
	if len(families) != len(types) {
		var names []string
		for n := range families {
			names = append(names, n)
		}
		slices.Sort(names)
		t.Errorf("families = %v, want exactly the gateway's %d", names, len(types))
	}

	for name, f := range families {
		want := []string{"model", "provider", "route"}
		switch name {
		case PromBreakerOpen:
			want = []string{"model", "provider"}
		case PromUptime:
			want = nil
		}
		for _, m := range f.GetMetric() {
			var got []string
			for k, v := range labelsOf(m) {
				got = append(got, k)
				if strings.HasPrefix(v, "key-") {
					t.Errorf("%s has a key id as a label value: %s=%s", name, k, v)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s labels = %v, want %v", name, got, want)
			}
		}
	}

	openai := map[string]string{"provider": "openai", "model": "gpt-4o", "route": "default"}
	for name, want := range map[string]float64{
		PromRequests: 3, PromErrors: 1, PromClientErrors: 1, PromRateLimited: 1, PromInputTokens: 10,
		PromOutputTokens: 20, PromCostUSD: 0.25,
	} {
		if got := child(t, families[name], openai).GetCounter().GetValue(); got != want {
			t.Errorf("%s{openai} = %v, want %v", name, got, want)
		}
	}
	anthropic := map[string]string{"provider": "anthropic", "model": "claude-sonnet-4", "route": "fast"}
	if got := child(t, families[PromCacheHits], anthropic).GetCounter().GetValue(); got != 1 {
		t.Errorf("cache hits{anthropic} = %v", got)
	}
	if got := child(t, families[PromFailovers], anthropic).GetCounter().GetValue(); got != 1 {
		t.Errorf("failovers{anthropic} = %v", got)
	}
	none := map[string]string{"provider": "none", "model": "none", "route": "none"}
	if got := child(t, families[PromClientErrors], none).GetCounter().GetValue(); got != 1 {
		t.Errorf("client errors{none} = %v (empty names must become \"none\")", got)
	}
	if got := child(t, families[PromBreakerOpen], map[string]string{"provider": "openai", "model": "gpt-4o"}).GetCounter().GetValue(); got != 2 {
		t.Errorf("breaker opens = %v, want 2", got)
	}
	child(t, families[PromRequests], map[string]string{"provider": "odd", "model": "bad-\uFFFD-utf8", "route": "r"})

	h := child(t, families[PromLatency], openai).GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() < 0.6-1e-9 || h.GetSampleSum() > 0.6+1e-9 {
		t.Errorf("latency histogram count %d sum %v, want 3 and 0.6", h.GetSampleCount(), h.GetSampleSum())
	}
	cum := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		cum[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	if cum[0.1] != 1 || cum[0.25] != 2 || cum[0.5] != 3 || cum[0.001] != 0 || len(cum) < len(latencyBuckets) {
		t.Errorf("latency buckets = %v", cum)
	}
	if h := child(t, families[PromTimeToFirstByte], anthropic).GetHistogram(); h.GetSampleCount() != 1 {
		t.Errorf("ttfb count = %d", h.GetSampleCount())
	}
	if up := families[PromUptime].GetMetric()[0].GetGauge().GetValue(); up != 11 {
		t.Errorf("uptime = %v, want 11", up)
	}
}
