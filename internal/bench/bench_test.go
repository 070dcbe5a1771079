// Package bench measures what the gateway adds and what it costs to run. Every
// figure is measured against a baseline taken in the same run and printed as
// one table; nothing is asserted. Everything runs on loopback, each phase is
// bounded in count and time, and every process and server it starts is
// stopped before it returns.
//
// The phases (BENCH_PHASES picks some, comma-separated; default all):
//
//	latency   p50/p99 latency straight to a loopback mock upstream, through the
//	          in-process gateway and through the FLOOR (a bare net/http
//	          httputil.ReverseProxy hop to the same mock) at a fixed rate,
//	          non-stream and stream; the gateway's added latency as a ratio of
//	          the FLOOR's; and the closed-loop throughput ratio
//	chunks    the delay between an upstream chunk and the same chunk at the client:
//	          the mock streams chunks carrying their send time, the client records
//	          arrival − send, straight and through the gateway
//	rss       the gateway as its own process (functions/local): resident memory idle
//	          and with 1,000 concurrent slow streams
//	lambda    INIT time of the real functions/stream bootstrap against the Runtime
//	          API emulator, against a minimal aws-lambda-go bootstrap, and the
//	          stripped linux/arm64 bootstrap and zip sizes
//	dynamodb  DynamoDB calls, write and read units per request (needs
//	          DYNAMODB_ENDPOINT: make bench starts DynamoDB Local), the handler's
//	          duration, and from those the AWS cost per million requests
//
//	make bench
//	BENCH_RATE=1000 BENCH_SECONDS=5 make bench
//	BENCH_PHASES=chunks,rss make bench
//
// Knobs (defaults): BENCH_RATE (2000 req/s), BENCH_SECONDS (3 s per latency and
// throughput phase), BENCH_WORKERS (32), BENCH_CHUNKS (40 chunks per stream),
// BENCH_CHUNK_GAP_MS (5), BENCH_CHUNK_STREAMS (200 per path),
// BENCH_CHUNK_CONCURRENCY (50), BENCH_RSS_STREAMS (1000), BENCH_RSS_CHUNKS (11: the first at once, then one per gap),
// BENCH_RSS_GAP_MS (200), BENCH_RSS_CACHE (off: the RSS phase with the response cache off; default: as
// configured by default, on), BENCH_INIT_RUNS (5), BENCH_DDB_REQUESTS (20),
// BENCH_MEMORY_MB (256, the stack's Lambda memory size, which the cost assumes).
package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/server"
)

const chatBody = `{"model":"bench","messages":[{"role":"user","content":"Say hello in one short sentence."}],"temperature":0.2}`
const streamBody = `{"model":"bench","stream":true,"messages":[{"role":"user","content":"Say hello in one short sentence."}]}`

// streamBodyFor is a stream request for another model.
func streamBodyFor(model string) string {
	return `{"model":"` + model + `","stream":true,"messages":[{"role":"user","content":"Count slowly."}]}`
}

var completion = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench-upstream","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, nice to meet you."},"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":8,"total_tokens":22}}`)

// streamChunks are the events the mock upstream streams.
var streamChunks = func() [][]byte {
	var out [][]byte
	for _, w := range []string{"Hello", " there,", " nice", " to", " meet", " you."} {
		out = append(out, []byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-upstream","choices":[{"index":0,"delta":{"content":"`+w+`"},"finish_reason":null}]}`+"\n\n"))
	}
	out = append(out, streamTail...)
	return out
}()

// streamTail ends every mock stream: a stop chunk, a usage chunk and [DONE].
var streamTail = [][]byte{
	[]byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-upstream","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"),
	[]byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-upstream","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":6,"total_tokens":20}}` + "\n\n"),
	[]byte("data: [DONE]\n\n"),
}

// stampMarker precedes the send time (Unix ns) in a timed chunk's content.
const stampMarker = `"t=`

// timedChunk is a stream chunk whose content is its own send time.
func timedChunk(ns int64) []byte {
	return []byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-upstream","choices":[{"index":0,"delta":{"content":"t=` +
		strconv.FormatInt(ns, 10) + `"},"finish_reason":null}]}` + "\n\n")
}

// timedPath is the base URL path under which the mock streams n timed chunks
// gap apart: a provider's base_url, so the gateway appends /chat/completions.
func timedPath(n int, gap time.Duration) string {
	return fmt.Sprintf("/timed/%d/%s", n, gap)
}

// mockUpstream answers as fast as it can: a fixed completion, or a stream
// whose chunks are flushed one by one. Under /timed/{n}/{gap}/ it streams n
// chunks gap apart, each carrying its send time, and stops early when the
// client goes away.
func mockUpstream(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /timed/{n}/{gap}/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n, err1 := strconv.Atoi(r.PathValue("n"))
		gap, err2 := time.ParseDuration(r.PathValue("gap"))
		if err1 != nil || err2 != nil || n < 1 || n > 100_000 {
			http.Error(w, `{"error":{"message":"bad timed path"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		t := time.NewTimer(0)
		defer t.Stop()
		for i := 0; i < n; i++ {
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
			if _, err := w.Write(timedChunk(time.Now().UnixNano())); err != nil {
				return
			}
			f.Flush()
			t.Reset(gap)
		}
		for _, c := range streamTail {
			_, _ = w.Write(c)
		}
		f.Flush()
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
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
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// benchConfig is the gateway configuration of the in-process phases: model
// "bench" at the fast mock, "bench-timed" at its timed stream.
func benchConfig(upstream, timed string) string {
	return fmt.Sprintf(`
[[providers]]
name = "up"
kind = "custom"
base_url = %q
models = ["bench"]

[[providers]]
name = "timed"
kind = "custom"
base_url = %q
models = ["bench-timed"]
`, upstream, upstream+timed)
}

func startGateway(tb testing.TB, cfgText string) string {
	cfg, err := config.Parse(cfgText, os.Getenv)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
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
}, Timeout: time.Minute}

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

// rate is the rate at which the requests completed: below the paced rate
// when the machine could not keep up (latencies then include queueing).
func (s sample) rate() float64 {
	if s.took <= 0 {
		return 0
	}
	return float64(len(s.lat)+int(s.errors)) / s.took.Seconds()
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

// merge adds another run's figures to s.
func (s *sample) merge(o sample) {
	s.lat = append(s.lat, o.lat...)
	s.ttfb = append(s.ttfb, o.ttfb...)
	s.errors += o.errors
	s.took += o.took
}

// slices splits a phase of d into one-second turns (at least one).
func slices(d time.Duration) (int, time.Duration) {
	n := max(int(d/time.Second), 1)
	return n, d / time.Duration(n)
}

// closedPair runs closed on both paths in alternating one-second turns and
// returns their mean rates.
func closedPair(direct, through, body string, workers int, d time.Duration) (rd, rg float64) {
	n, per := slices(d)
	for i := 0; i < n; i++ {
		rd += closed(direct, body, workers, per) / float64(n)
		rg += closed(through, body, workers, per) / float64(n)
	}
	return rd, rg
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

// timedStream reads one timed stream and returns, for each timed chunk, the
// delay between its send time (in its content) and its arrival here.
func timedStream(c *http.Client, url, body string) ([]time.Duration, error) {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var out []time.Duration
	for {
		line, err := br.ReadSlice('\n')
		if i := bytes.Index(line, []byte(stampMarker)); i >= 0 {
			now := time.Now()
			digits := line[i+len(stampMarker):]
			if j := bytes.IndexByte(digits, '"'); j > 0 {
				if ns, perr := strconv.ParseInt(string(digits[:j]), 10, 64); perr == nil {
					out = append(out, now.Sub(time.Unix(0, ns)))
				}
			}
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return out, err
		}
	}
}

type chunkResult struct {
	delays  []time.Duration
	streams int
	errors  int64
}

func (r *chunkResult) merge(o chunkResult) {
	r.delays = append(r.delays, o.delays...)
	r.streams += o.streams
	r.errors += o.errors
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// timedStreams runs total timed streams, conc at a time, and collects every chunk's delay.
func timedStreams(url, body string, total, conc int) chunkResult {
	var (
		mu   sync.Mutex
		res  chunkResult
		errs atomic.Int64
		wg   sync.WaitGroup
	)
	jobs := make(chan struct{})
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				d, err := timedStream(client, url, body)
				if err != nil {
					errs.Add(1)
				}
				mu.Lock()
				res.delays = append(res.delays, d...)
				res.streams++
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < total; i++ {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	res.errors = errs.Load()
	return res
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

func median(ds []time.Duration) time.Duration { return pct(ds, 0.5) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// phaseOn reports whether BENCH_PHASES (default: every phase) names phase.
func phaseOn(phase string) bool {
	v := strings.TrimSpace(os.Getenv("BENCH_PHASES"))
	if v == "" || v == "all" {
		return true
	}
	for _, p := range strings.Split(v, ",") {
		if strings.TrimSpace(p) == phase {
			return true
		}
	}
	return false
}

// progress tells the terminal which phase runs (the table comes at the end).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// loadAvg is the 1-minute load average, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// BenchmarkGateway runs the phases and prints one table. The figures are the
// benchmark; b.N loops do no extra work.
func BenchmarkGateway(b *testing.B) {
	began := time.Now()
	loadBefore := loadAvg()
	t := &table{}

	var lam lambdaResult
	if phaseOn("lambda") || phaseOn("rss") {
		// Builds first, while nothing is being measured.
		progress("building the local server and the Lambda bootstraps")
		start := time.Now()
		lam = buildAll(b)
		lam.buildTook = time.Since(start)
	}
	if phaseOn("latency") {
		latencyPhase(b, t)
	}
	if phaseOn("chunks") {
		chunkPhase(b, t)
	}
	if phaseOn("rss") {
		rssPhase(b, t, lam.localServer, lam.buildErr)
	}
	if phaseOn("lambda") {
		lambdaPhase(b, t, &lam)
	}
	var ddb ddbResult
	if phaseOn("dynamodb") {
		ddb = dynamoPhase(b, t)
		costRows(t, ddb, lam.initGateway)
	}

	fmt.Printf("\ngateway benchmark, %s, %s/%s, %d CPUs, %s; load average %s before, %s after; %s in all\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(),
		loadBefore, loadAvg(), time.Since(began).Round(time.Second))
	fmt.Println("loopback only; baseline = the same measurement without the gateway (or its stated stand-in), taken in this run")
	t.print(os.Stdout)
	fmt.Println()
	for _, n := range t.notes {
		fmt.Println(n)
	}
	for i := 0; i < b.N; i++ {
		// The figures above are the benchmark; b.N loops do no extra work.
	}
}

func latencyPhase(b *testing.B, t *table) {
	rate := envInt("BENCH_RATE", 2000)
	secs := envInt("BENCH_SECONDS", 3)
	workers := envInt("BENCH_WORKERS", 32)
	d := time.Duration(secs) * time.Second
	up := mockUpstream(b)
	gw := startGateway(b, benchConfig(up, timedPath(1, time.Millisecond)))
	direct, through := up+"/chat/completions", gw+"/v1/chat/completions"
	floor := startFloor(b, up) + "/chat/completions"
	defer client.CloseIdleConnections()

	// Warm every path's connection pools.
	for _, u := range []string{direct, floor, through} {
		paced(u, chatBody, 500, 200*time.Millisecond)
	}

	t.section("latency", fmt.Sprintf("open loop, %d req/s for %d s per path in alternating 1 s turns; baseline = straight to the mock upstream", rate, secs))
	var runs []threePaths
	for _, k := range []struct {
		name, body string
	}{{"non-stream", chatBody}, {"stream", streamBody}} {
		progress("latency: %s at %d req/s, %d s per path (direct, FLOOR, gateway)", k.name, rate, secs)
		s3 := pacedTurns([]string{direct, floor, through}, k.body, rate, d)
		sd, sg := s3[0], s3[2]
		runs = append(runs, threePaths{kind: k.name, direct: sd, floor: s3[1], gw: sg})
		for _, p := range []struct {
			name   string
			q      float64
			target time.Duration
		}{{"p50", 0.50, 50 * time.Microsecond}, {"p99", 0.99, 300 * time.Microsecond}} {
			dd, gg := pct(sd.lat, p.q), pct(sg.lat, p.q)
			t.row(k.name+" "+p.name, fmtDur(dd), fmtDur(gg), deltaRatio(dd, gg),
				fmt.Sprintf("target added %s; errors %d/%d; done at %.0f/%.0f req/s", fmtDur(p.target), sd.errors, sg.errors,
					sd.rate(), sg.rate()))
			b.ReportMetric(float64((gg - dd).Microseconds()), k.name+"-"+p.name+"-added-µs")
		}
		if k.name == "stream" {
			dd, gg := pct(sd.ttfb, 0.5), pct(sg.ttfb, 0.5)
			t.row("stream time to first byte p50", fmtDur(dd), fmtDur(gg), deltaRatio(dd, gg), "")
		}
	}
	floorRows(b, t, runs)
	t.section("throughput", fmt.Sprintf("closed loop, %d workers for %d s per path in alternating 1 s turns", workers, secs))
	for _, k := range []struct {
		name, body string
	}{{"non-stream", chatBody}, {"stream", streamBody}} {
		progress("throughput: %s, %d workers, %d s per path", k.name, workers, secs)
		rd, rg := closedPair(direct, through, k.body, workers, d)
		t.row(k.name, fmt.Sprintf("%.0f req/s", rd), fmt.Sprintf("%.0f req/s", rg), fmt.Sprintf("×%.2f", rg/rd), "")
		b.ReportMetric(rg/rd, k.name+"-throughput-ratio")
	}
}

func chunkPhase(b *testing.B, t *table) {
	n := envInt("BENCH_CHUNKS", 40)
	gap := time.Duration(envInt("BENCH_CHUNK_GAP_MS", 5)) * time.Millisecond
	streams := envInt("BENCH_CHUNK_STREAMS", 200)
	conc := min(envInt("BENCH_CHUNK_CONCURRENCY", 50), streams)
	up := mockUpstream(b)
	timed := timedPath(n, gap)
	gw := startGateway(b, benchConfig(up, timed))
	direct, through := up+timed+"/chat/completions", gw+"/v1/chat/completions"
	body := streamBodyFor("bench-timed")
	defer client.CloseIdleConnections()

	progress("chunk delay: %d streams per path, %d at a time, %d chunks %s apart", streams, conc, n, gap)
	// Warm both paths.
	timedStreams(direct, body, conc, conc)
	timedStreams(through, body, conc, conc)
	// Alternating turns, so that both paths see the same background load.
	var rd, rg chunkResult
	turns := min(4, streams)
	for i := 0; i < turns; i++ {
		k := streams/turns + btoi(i < streams%turns)
		rd.merge(timedStreams(direct, body, k, min(conc, k)))
		rg.merge(timedStreams(through, body, k, min(conc, k)))
	}
	t.section("chunk delay", fmt.Sprintf("upstream send → client arrival of each chunk; %d streams × %d chunks %s apart, %d at a time, in 4 alternating turns; baseline = straight to the mock",
		streams, n, gap, conc))
	for _, p := range []struct {
		name string
		q    float64
	}{{"p50", 0.50}, {"p99", 0.99}} {
		dd, gg := pct(rd.delays, p.q), pct(rg.delays, p.q)
		t.row("chunk delay "+p.name, fmtDur(dd), fmtDur(gg), deltaRatio(dd, gg),
			fmt.Sprintf("%d/%d chunks; errors %d/%d", len(rd.delays), len(rg.delays), rd.errors, rg.errors))
		b.ReportMetric(float64((gg - dd).Microseconds()), "chunk-delay-"+p.name+"-added-µs")
	}
}
