package bench

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// startFloor serves a bare net/http httputil.ReverseProxy in front of
// upstream: the FLOOR, what any Go hop on this machine adds, against which
// the gateway's added latency is read. Its transport keeps as many idle
// connections as the gateway's provider client (provider.NewHTTPClient:
// 512, 256 per host), so that the two hops differ in what they do per
// request, not in how often they dial. It returns the proxy's base URL: the
// upstream's paths under it.
func startFloor(tb testing.TB, upstream string) string {
	target, err := url.Parse(upstream)
	if err != nil {
		tb.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 512
	tr.MaxIdleConnsPerHost = 256
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: tr,
		// A failed request is counted by the client; the log would only
		// interleave with the table.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: proxy}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() {
		_ = srv.Close()
		tr.CloseIdleConnections()
	})
	return "http://" + ln.Addr().String()
}

// pacedTurns runs paced on every URL in one-second turns, each turn starting
// with the next URL, so that all paths see the same background load and
// none always follows another.
func pacedTurns(urls []string, body string, rate int, d time.Duration) []sample {
	n, per := slices(d)
	out := make([]sample, len(urls))
	for i := 0; i < n; i++ {
		for j := range urls {
			k := (i + j) % len(urls)
			out[k].merge(paced(urls[k], body, rate, per))
		}
	}
	return out
}

// addedRatio is the gateway's added latency over the FLOOR's, or "×?" when
// the FLOOR added nothing measurable (on a noisy machine a percentile of the
// hop can come out at or below the direct one).
func addedRatio(floorAdded, gwAdded time.Duration) string {
	if floorAdded <= 0 {
		return "×? (FLOOR added ≤ 0)"
	}
	return fmt.Sprintf("×%.2f", float64(gwAdded)/float64(floorAdded))
}

// threePaths is one body's samples on the latency phase's three paths:
// straight to the mock, through the FLOOR, through the gateway.
type threePaths struct {
	kind              string // "non-stream" or "stream"
	direct, floor, gw sample
}

// floorMeasure is one figure read from the three samples.
type floorMeasure struct {
	name string
	of   func(sample) []time.Duration
	q    float64
}

func latencies(s sample) []time.Duration  { return s.lat }
func firstBytes(s sample) []time.Duration { return s.ttfb }

// floorRows prints the FLOOR section: the FLOOR against the mock, then the
// gateway's added latency against the FLOOR's, for p50 and p99 of each body
// and the stream's time to first byte.
func floorRows(b *testing.B, t *table, runs []threePaths) {
	t.section("floor", "FLOOR = a bare net/http httputil.ReverseProxy hop to the same mock, measured in the latency turns above "+
		"(same rate and bodies; direct, FLOOR and gateway take turns, each turn starting with the next); FLOOR rows: baseline = "+
		"straight to the mock, gateway column = the FLOOR; ÷ rows: baseline = the FLOOR's added latency, gateway = the "+
		"gateway's added latency, vs = gateway added ÷ FLOOR added")
	type figure struct {
		run               threePaths
		m                 floorMeasure
		direct, floor, gw time.Duration
	}
	var figs []figure
	for _, r := range runs {
		ms := []floorMeasure{{r.kind + " p50", latencies, 0.50}, {r.kind + " p99", latencies, 0.99}}
		if r.kind == "stream" {
			ms = append(ms, floorMeasure{"stream time to first byte p50", firstBytes, 0.50})
		}
		for _, m := range ms {
			figs = append(figs, figure{r, m, pct(m.of(r.direct), m.q), pct(m.of(r.floor), m.q), pct(m.of(r.gw), m.q)})
		}
	}
	for _, f := range figs {
		t.row("FLOOR "+f.m.name, fmtDur(f.direct), fmtDur(f.floor), deltaRatio(f.direct, f.floor),
			fmt.Sprintf("errors %d; done at %.0f req/s", f.run.floor.errors, f.run.floor.rate()))
	}
	for _, f := range figs {
		fa, ga := f.floor-f.direct, f.gw-f.direct
		t.row("gateway added ÷ FLOOR added, "+f.m.name, fmtDur(fa), fmtDur(ga), addedRatio(fa, ga), "")
		stem := strings.ReplaceAll(f.m.name, " ", "-")
		b.ReportMetric(float64(fa.Microseconds()), stem+"-floor-added-µs")
		if fa > 0 {
			b.ReportMetric(float64(ga)/float64(fa), stem+"-added-vs-floor")
		}
	}
	t.note("floor: the FLOOR's transport keeps 512 idle connections (256 per host), as the gateway's provider client does; " +
		"added latency = the path's percentile minus the direct one's. ×1 means the gateway adds what a bare Go proxy hop adds.")
}
