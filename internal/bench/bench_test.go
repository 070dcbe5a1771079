// Package bench measures what the gateway adds: the same requests are sent
// straight to a fast loopback mock upstream and through the gateway, in one
// run, and the difference is printed. Figures, not assertions.
//
//	make bench                      # defaults: 2,000 req/s for 3 s per phase
//	BENCH_RATE=1000 BENCH_SECONDS=5 make bench
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/gateway"
	"github.com/aigateway/gateway/internal/server"
)

const chatBody = `{"model":"bench","messages":[{"role":"user","content":"Say hello in one short sentence."}],"temperature":0.2}`
const streamBody = `{"model":"bench","stream":true,"messages":[{"role":"user","content":"Say hello in one short sentence."}]}`

var completion = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench-upstream","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, nice to meet you."},"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":8,"total_tokens":22}}`)

// streamChunks are the events the mock upstream streams.
var streamChunks = func() [][]byte {
	var out [][]byte
	for _, w := range []string{"Hello", " there,", " nice", " to", " meet", " you."} {
		out = append(out, []byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-upstream","choices":[{"index":0,"delta":{"content":"`+w+`"},"finish_reason":null}]}`+"\n\n"))
	}
	out = append(out, []byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-upstream","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n"))
	out = append(out, []byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-upstream","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":6,"total_tokens":20}}`+"\n\n"))
	out = append(out, []byte("data: [DONE]\n\n"))
	return out
}()

// mockUpstream answers as fast as it can: a fixed completion, or a stream
// whose chunks are flushed one by one.
func mockUpstream(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "text/event-stream")
			f := w.(http.Flusher)
			for _, c := range streamChunks {
				_, _ = w.Write(c)
				f.Flush()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(completion)
	})}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func startGateway(tb testing.TB, upstream string) string {
	cfg, err := config.Parse(fmt.Sprintf(`
[[providers]]
name = "up"
kind = "custom"
base_url = %q
models = ["bench"]
`, upstream), os.Getenv)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := gateway.New(context.Background(), cfg, gateway.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := server.New(g)
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

var client = &http.Client{Transport: &http.Transport{
	MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, IdleConnTimeout: time.Minute,
}}

// one sends a request and returns the time to the first body byte and to the end.
func one(url, body string) (ttfb, total time.Duration, err error) {
	start := time.Now()
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	buf := make([]byte, 32<<10)
	n, err := resp.Body.Read(buf)
	ttfb = time.Since(start)
	for err == nil {
		var m int
		m, err = resp.Body.Read(buf)
		n += m
	}
	if err != io.EOF {
		return 0, 0, err
	}
	if resp.StatusCode != 200 || n == 0 {
		return 0, 0, fmt.Errorf("status %d, %d bytes", resp.StatusCode, n)
	}
	return ttfb, time.Since(start), nil
}

type sample struct {
	lat    []time.Duration // total latency, measured from the scheduled send time
	ttfb   []time.Duration
	errors int64
	took   time.Duration
}

// paced sends at a fixed rate (open loop: a slow answer does not delay the
// next send) for the given duration.
func paced(url, body string, rate int, d time.Duration) sample {
	n := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	var (
		mu   sync.Mutex
		s    sample
		wg   sync.WaitGroup
		errs atomic.Int64
	)
	s.lat = make([]time.Duration, 0, n)
	s.ttfb = make([]time.Duration, 0, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		go func(at time.Time) {
			defer wg.Done()
			ttfb, _, err := one(url, body)
			if err != nil {
				errs.Add(1)
				return
			}
			total := time.Since(at)
			mu.Lock()
			s.lat = append(s.lat, total)
			s.ttfb = append(s.ttfb, ttfb)
			mu.Unlock()
		}(at)
	}
	wg.Wait()
	s.took = time.Since(start)
	s.errors = errs.Load()
	return s
}

// closed runs `workers` loops back to back for the given duration and returns requests per second.
func closed(url, body string, workers int, d time.Duration) float64 {
	var done atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if _, _, err := one(url, body); err == nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / d.Seconds()
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	c := append([]time.Duration(nil), ds...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	i := int(p * float64(len(c)-1))
	return c[i]
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func us(d time.Duration) string { return fmt.Sprintf("%8.1f µs", float64(d.Nanoseconds())/1000) }

// BenchmarkAddedLatency prints one table: p50/p99 latency straight to the
// mock upstream and through the gateway at a fixed rate, the difference, and
// the closed-loop throughput ratio, for non-stream and stream requests.
func BenchmarkAddedLatency(b *testing.B) {
	rate := envInt("BENCH_RATE", 2000)
	secs := envInt("BENCH_SECONDS", 3)
	d := time.Duration(secs) * time.Second
	up := mockUpstream(b)
	gw := startGateway(b, up)
	direct, through := up+"/chat/completions", gw+"/v1/chat/completions"

	// Warm both paths' connection pools.
	paced(direct, chatBody, 500, 200*time.Millisecond)
	paced(through, chatBody, 500, 200*time.Millisecond)

	fmt.Printf("\nadded latency at %d req/s for %ds per phase (loopback, same process, %s)\n", rate, secs, time.Now().UTC().Format("2006-01-02"))
	fmt.Printf("%-11s %-8s %12s %12s %12s %12s %9s\n", "kind", "pctl", "direct", "gateway", "added", "target", "errors")
	for _, k := range []struct {
		name, body string
	}{{"non-stream", chatBody}, {"stream", streamBody}} {
		sd := paced(direct, k.body, rate, d)
		sg := paced(through, k.body, rate, d)
		for _, p := range []struct {
			name   string
			q      float64
			target time.Duration
		}{{"p50", 0.50, 50 * time.Microsecond}, {"p99", 0.99, 300 * time.Microsecond}} {
			dd, gg := pct(sd.lat, p.q), pct(sg.lat, p.q)
			fmt.Printf("%-11s %-8s %s %s %s %s %4d/%-4d\n", k.name, p.name, us(dd), us(gg), us(gg-dd), us(p.target), sd.errors, sg.errors)
			b.ReportMetric(float64((gg - dd).Microseconds()), k.name+"-"+p.name+"-added-µs")
		}
		if k.name == "stream" {
			fmt.Printf("%-11s %-8s %s %s %s\n", k.name, "ttfb-p50", us(pct(sd.ttfb, 0.5)), us(pct(sg.ttfb, 0.5)), us(pct(sg.ttfb, 0.5)-pct(sd.ttfb, 0.5)))
		}
	}
	fmt.Printf("\nthroughput, closed loop with 32 workers for %ds each\n", secs)
	for _, k := range []struct {
		name, body string
	}{{"non-stream", chatBody}, {"stream", streamBody}} {
		rd := closed(direct, k.body, 32, d)
		rg := closed(through, k.body, 32, d)
		fmt.Printf("%-11s direct %8.0f req/s  gateway %8.0f req/s  ratio %.2f\n", k.name, rd, rg, rg/rd)
		b.ReportMetric(rg/rd, k.name+"-throughput-ratio")
	}
	for i := 0; i < b.N; i++ {
		// The figures above are the benchmark; b.N loops do no extra work.
	}
}
