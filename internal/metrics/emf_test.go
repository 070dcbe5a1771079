package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var emfNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// emfEvents covers the shapes the gateway records: plain, streamed, cached,
// failed before any provider answered, rate limited, odd names.
func emfEvents() []Event {
	return []Event{
		{Time: emfNow, Endpoint: "chat", Route: "default", Provider: "openai", Model: "gpt-4o", KeyID: "key-1",
			Status: 200, Latency: 123456 * time.Microsecond, UpstreamLatency: 100 * time.Millisecond,
			InputTokens: 10, OutputTokens: 20, CostUSD: 0.00042},
		{Time: emfNow, Endpoint: "chat", Route: "fast", Provider: "anthropic", Model: "claude-sonnet-4", KeyID: "key-2",
			Status: 200, Stream: true, Latency: 2 * time.Second, UpstreamLatency: 1900 * time.Millisecond,
			TimeToFirstByte: 350 * time.Millisecond, InputTokens: 1000, OutputTokens: 500, CostUSD: 0.0105},
		{Endpoint: "chat", Route: "default", Provider: "openai", Model: "gpt-4o", KeyID: "key-1", Status: 200,
			CacheHit: true, Latency: 2 * time.Millisecond},
		{Time: emfNow, Endpoint: "chat", KeyID: "key-3", Status: 401},
		{Time: emfNow, Endpoint: "embeddings", Route: "emb", Provider: "bedrock", Model: "amazon.titan-embed-text-v2:0",
			KeyID: "key-1", Status: 429, RateLimited: true, Latency: time.Millisecond},
		{Time: emfNow, Endpoint: "chat", Route: "  ", Provider: "groq", Model: "llama\t3 \"70b\" ü\x00\xff",
			Status: 502, Failovers: 2, Latency: 30 * time.Second},
	}
}

func emitAll(t *testing.T, ns string) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewEMFWriter(&buf, ns, func() time.Time { return emfNow })
	for _, e := range emfEvents() {
		w.Record(e)
	}
	w.BreakerOpened("openai", "gpt-4o")
	w.BreakerOpened("", "")
	var lines [][]byte
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 2<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if len(lines) != len(emfEvents())+2 {
		t.Fatalf("got %d lines, want one per event (%d)", len(lines), len(emfEvents())+2)
	}
	return lines
}

func decodeLine(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("line is not JSON: %v\n%s", err, line)
	}
	return m
}

func TestEveryEmittedEMFLinePassesTheSpecification(t *testing.T) {
	for _, ns := range []string{"AIGateway", "", "my/gateway-prod", strings.Repeat("n", 300), "ünïcode"} {
		for i, line := range emitAll(t, ns) {
			if err := validateEMF(line); err != nil {
				t.Errorf("namespace %q, line %d fails the EMF specification:\n%v\n%s", ns, i, err, line)
			}
		}
	}
}

func TestEMFValidatorRejectsBrokenLines(t *testing.T) {
	good := emitAll(t, "AIGateway")[0]
	if err := validateEMF(good); err != nil {
		t.Fatalf("baseline line invalid: %v", err)
	}
	directive := func(m map[string]any) map[string]any {
		return m["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	}
	manyDims := make([]any, 31)
	for i := range manyDims {
		manyDims[i] = fmt.Sprintf("D%d", i)
	}
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   string
	}{
		{"without _aws", func(m map[string]any) { delete(m, "_aws") }, "_aws member missing"},
		{"timestamp as a string", func(m map[string]any) { m["_aws"].(map[string]any)["Timestamp"] = "1700000000000" }, "Timestamp missing or not a number"},
		{"timestamp in seconds", func(m map[string]any) { m["_aws"].(map[string]any)["Timestamp"] = 1772366400 }, "not milliseconds"},
		{"fractional timestamp", func(m map[string]any) { m["_aws"].(map[string]any)["Timestamp"] = 1772366400000.5 }, "not an integer"},
		{"no directives", func(m map[string]any) { m["_aws"].(map[string]any)["CloudWatchMetrics"] = []any{} }, "CloudWatchMetrics missing"},
		{"empty namespace", func(m map[string]any) { directive(m)["Namespace"] = "" }, "Namespace"},
		{"namespace not a string", func(m map[string]any) { directive(m)["Namespace"] = 7 }, "Namespace"},
		{"unknown directive member", func(m map[string]any) { directive(m)["Extra"] = true }, `unknown member "Extra"`},
		{"dimensions not an array of arrays", func(m map[string]any) { directive(m)["Dimensions"] = []any{"Provider"} }, "not an array of strings"},
		{"dimension without a member", func(m map[string]any) { delete(m, "Route") }, `dimension "Route" has no top-level member`},
		{"dimension with a number", func(m map[string]any) { m["Provider"] = 3 }, `dimension "Provider" is a number`},
		{"dimension with an empty value", func(m map[string]any) { m["Model"] = "" }, `dimension "Model" value ""`},
		{"dimension with non-ASCII value", func(m map[string]any) { m["Model"] = "modèle" }, `dimension "Model" value`},
		{"31 dimension keys", func(m map[string]any) {
			directive(m)["Dimensions"] = []any{manyDims}
			for _, k := range manyDims {
				m[k.(string)] = "x"
			}
		}, "more than 30"},
		{"101 metrics", func(m map[string]any) {
			defs := []any{}
			for i := range 101 {
				defs = append(defs, map[string]any{"Name": fmt.Sprintf("M%d", i), "Unit": "Count"})
				m[fmt.Sprintf("M%d", i)] = 1
			}
			directive(m)["Metrics"] = defs
		}, "more than 100"},
		{"unit not in CloudWatch's list", func(m map[string]any) {
			directive(m)["Metrics"].([]any)[0].(map[string]any)["Unit"] = "Millis"
		}, "not one of CloudWatch's units"},
		{"storage resolution 30", func(m map[string]any) {
			directive(m)["Metrics"].([]any)[0].(map[string]any)["StorageResolution"] = 30
		}, "StorageResolution"},
		{"unknown definition member", func(m map[string]any) {
			directive(m)["Metrics"].([]any)[0].(map[string]any)["Dimension"] = "x"
		}, `unknown member "Dimension"`},
		{"metric value as a string", func(m map[string]any) { m["Requests"] = "1" }, `metric "Requests" is a string`},
		{"metric value missing", func(m map[string]any) { delete(m, "Latency") }, `metric "Latency" has no top-level member`},
		{"metric array of 101 values", func(m map[string]any) { m["Latency"] = make([]any, 101) }, "101 values"},
		{"metric array with a string", func(m map[string]any) { m["Latency"] = []any{1, "2"} }, "not a number"},
		{"metric name also a dimension", func(m map[string]any) {
			directive(m)["Metrics"] = append(directive(m)["Metrics"].([]any), map[string]any{"Name": "Route"})
		}, "is also a dimension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := decodeLine(t, good)
			tt.mutate(m)
			line, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			err = validateEMF(line)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("validateEMF = %v, want an error containing %q\n%s", err, tt.want, line)
			}
		})
	}
	t.Run("trailing data", func(t *testing.T) {
		if err := validateEMF(append(bytes.Clone(good), []byte(` {}`)...)); err == nil || !strings.Contains(err.Error(), "data after") {
			t.Fatalf("validateEMF = %v", err)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		if err := validateEMF([]byte(`START RequestId: 1 {"_aws":`)); err == nil {
			t.Fatal("validateEMF accepted a non-JSON line")
		}
	})
	t.Run("line over 1 MB", func(t *testing.T) {
		m := decodeLine(t, good)
		m["Padding"] = strings.Repeat("x", 1<<20)
		line, _ := json.Marshal(m)
		if err := validateEMF(line); err == nil || !strings.Contains(err.Error(), "1 MB") {
			t.Fatalf("validateEMF = %v", err)
		}
	})
}

func TestEMFLineCarriesTheEventsFigures(t *testing.T) {
	lines := emitAll(t, "Prod/Gateway")
	first := decodeLine(t, lines[0])
	aws := first["_aws"].(map[string]any)
	if got := aws["Timestamp"].(float64); got != float64(emfNow.UnixMilli()) {
		t.Errorf("Timestamp = %v, want %d", got, emfNow.UnixMilli())
	}
	d := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if d["Namespace"] != "Prod/Gateway" {
		t.Errorf("Namespace = %v", d["Namespace"])
	}
	dims, _ := json.Marshal(d["Dimensions"])
	if string(dims) != `[["Provider","Model","Route"],["Provider"],[]]` {
		t.Errorf("Dimensions = %s", dims)
	}
	units := map[string]string{}
	for _, m := range d["Metrics"].([]any) {
		def := m.(map[string]any)
		units[def["Name"].(string)] = def["Unit"].(string)
		if def["StorageResolution"] != float64(60) {
			t.Errorf("%v StorageResolution = %v", def["Name"], def["StorageResolution"])
		}
	}
	wantUnits := map[string]string{"Requests": "Count", "Errors": "Count", "Latency": "Milliseconds",
		"UpstreamLatency": "Milliseconds", "InputTokens": "Count", "OutputTokens": "Count", "CostUSD": "None",
		"CacheHits": "Count", "RateLimited": "Count", "Failovers": "Count"}
	if fmt.Sprint(units) != fmt.Sprint(wantUnits) {
		t.Errorf("metric units = %v\nwant %v (no TimeToFirstByte when not measured)", units, wantUnits)
	}
	want := map[string]any{"Provider": "openai", "Model": "gpt-4o", "Route": "default", "Endpoint": "chat",
		"Status": float64(200), "Stream": false, "Requests": float64(1), "Errors": float64(0),
		"Latency": 123.456, "UpstreamLatency": float64(100), "InputTokens": float64(10), "OutputTokens": float64(20),
		"CostUSD": 0.00042, "CacheHits": float64(0), "RateLimited": float64(0), "Failovers": float64(0)}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %#v, want %#v", k, first[k], v)
		}
	}

	stream := decodeLine(t, lines[1])
	if stream["TimeToFirstByte"] != float64(350) {
		t.Errorf("stream TimeToFirstByte = %v, want 350", stream["TimeToFirstByte"])
	}
	noProvider := decodeLine(t, lines[3])
	for _, k := range []string{"Provider", "Model", "Route"} {
		if noProvider[k] != "none" {
			t.Errorf("empty %s = %v, want \"none\"", k, noProvider[k])
		}
	}
	if _, ok := noProvider["Latency"]; ok {
		t.Error("Latency written although it was not measured")
	}
	limited := decodeLine(t, lines[4])
	if limited["RateLimited"] != float64(1) || limited["Errors"] != float64(0) {
		t.Errorf("429 line: RateLimited=%v Errors=%v", limited["RateLimited"], limited["Errors"])
	}
	odd := decodeLine(t, lines[5])
	if odd["Errors"] != float64(1) || odd["Failovers"] != float64(2) || odd["Route"] != "none" {
		t.Errorf("502 line: Errors=%v Failovers=%v Route=%v", odd["Errors"], odd["Failovers"], odd["Route"])
	}
	if odd["Model"] != `llama_3 "70b" ____` {
		t.Errorf("odd model dimension = %q", odd["Model"])
	}

	breaker := decodeLine(t, lines[len(lines)-2])
	bd := breaker["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	dims, _ = json.Marshal(bd["Dimensions"])
	if string(dims) != `[["Provider","Model"],["Provider"],[]]` || breaker["BreakerOpen"] != float64(1) ||
		breaker["Provider"] != "openai" || breaker["Model"] != "gpt-4o" {
		t.Errorf("breaker line = %s", lines[len(lines)-2])
	}
	if _, ok := breaker["Requests"]; ok {
		t.Error("breaker line counts a request")
	}
}

func TestEMFNeverWritesKeyIDs(t *testing.T) {
	for _, line := range emitAll(t, "AIGateway") {
		for _, id := range []string{"key-1", "key-2", "key-3", "KeyID", "key_id"} {
			if bytes.Contains(line, []byte(id)) {
				t.Errorf("line contains %q: %s", id, line)
			}
		}
	}
}

func TestEMFConcurrentRecordsKeepLinesWhole(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	w := NewEMFWriter(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), "AIGateway", nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				w.Record(Event{Provider: fmt.Sprintf("p%d", g), Model: "m", Route: "r", Status: 200,
					Latency: time.Duration(i+1) * time.Millisecond})
				if i%50 == 0 {
					w.BreakerOpened("p", "m")
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 8*200+8*4 {
		t.Fatalf("%d lines, want %d", len(lines), 8*200+8*4)
	}
	for _, l := range lines {
		if err := validateEMF([]byte(l)); err != nil {
			t.Fatalf("interleaved or broken line: %v\n%s", err, l)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

type countingRecorder struct {
	mu       sync.Mutex
	events   []Event
	breakers []string
}

func (c *countingRecorder) Record(e Event) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
}

func (c *countingRecorder) BreakerOpened(p, m string) {
	c.mu.Lock()
	c.breakers = append(c.breakers, p+"/"+m)
	c.mu.Unlock()
}

func TestMultiSendsEveryEventToEveryRecorder(t *testing.T) {
	a, b := &countingRecorder{}, &countingRecorder{}
	m := Multi(a, nil, b)
	m.Record(Event{Provider: "openai"})
	m.BreakerOpened("openai", "gpt-4o")
	for _, c := range []*countingRecorder{a, b} {
		if len(c.events) != 1 || c.events[0].Provider != "openai" || len(c.breakers) != 1 || c.breakers[0] != "openai/gpt-4o" {
			t.Errorf("recorder got events=%v breakers=%v", c.events, c.breakers)
		}
	}
	if Multi(nil, a) != Recorder(a) {
		t.Error("Multi with one recorder should return it unwrapped")
	}
	Multi().Record(Event{}) // no recorders: a no-op, not a panic
}

func BenchmarkEMFRecord(b *testing.B) {
	w := NewEMFWriter(writerFunc(func(p []byte) (int, error) { return len(p), nil }), "AIGateway", nil)
	e := emfEvents()[1]
	b.ReportAllocs()
	for b.Loop() {
		w.Record(e)
	}
}
