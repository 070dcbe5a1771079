package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/metrics"
)

// knownRegistry holds a fixed set of requests whose figures the tests look for
// in the rendered page.
func knownRegistry() *metrics.Registry {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := metrics.NewRegistryClock(func() time.Time { return now })
	// Two requests a second for 20 s, then one a second for 9 s.
	for i := range 40 {
		now = now.Add(time.Duration(i%2) * time.Second)
		r.Record(metrics.Event{Endpoint: "chat", Route: "default", Provider: "openai", Model: "gpt-4o",
			KeyID: "key-alice", Status: 200, Latency: time.Duration(80+i) * time.Millisecond,
			InputTokens: 1000, OutputTokens: 250, CostUSD: 12.3456 / 40, CacheHit: i%4 == 0})
	}
	for i := range 9 {
		status := 200
		if i == 0 {
			status = 503
		}
		now = now.Add(time.Second)
		r.Record(metrics.Event{Endpoint: "chat", Route: "fast", Provider: "anthropic", Model: "claude-sonnet-4",
			KeyID: "key-bob", Status: status, Stream: true, Latency: 900 * time.Millisecond,
			TimeToFirstByte: 120 * time.Millisecond, InputTokens: 300, OutputTokens: 700, CostUSD: 0.0042 / 9})
	}
	r.Record(metrics.Event{Endpoint: "chat", Status: 401, Latency: time.Millisecond})
	r.BreakerOpened("anthropic", "claude-sonnet-4")
	return r
}

func get(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func TestPageIsSelfContained(t *testing.T) {
	res := get(t, Handler(knownRegistry().Snapshot), "GET", "/dashboard")
	body, _ := io.ReadAll(res.Body)
	page := string(body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// No external resources: no absolute or protocol-relative URLs, no
	// external scripts, styles, fonts or images.
	for _, re := range []string{`https?://`, `(src|href)\s*=\s*["']?//`, `<script[^>]+src`, `<link[^>]+stylesheet`, `@import`, `url\(`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("page references something external (%s): %q", re, m)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'sha256-", "style-src 'sha256-", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if !strings.Contains(csp, hash(pageJS)) || !strings.Contains(page, "<script>"+pageJS+"</script>") ||
		!strings.Contains(csp, hash(pageCSS)) || !strings.Contains(page, "<style>"+pageCSS+"</style>") {
		t.Error("the CSP hashes do not match the inline script and style exactly")
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Error("dashboard is cacheable")
	}
}

func embeddedConfig(t *testing.T, page string) config {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="config">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no config script in the page")
	}
	var c config
	if err := json.Unmarshal([]byte(m[1]), &c); err != nil {
		t.Fatalf("config is not JSON: %v", err)
	}
	return c
}

func TestPageEmbedsTheSnapshotSafely(t *testing.T) {
	r := knownRegistry()
	hostile := `</script><script>alert(1)</script>`
	r.Record(metrics.Event{Provider: "evil", Model: hostile, Route: "x", KeyID: hostile, Status: 200})
	res := get(t, Handler(r.Snapshot), "GET", "/dashboard")
	body, _ := io.ReadAll(res.Body)
	page := string(body)
	if strings.Contains(page, hostile) || strings.Count(page, "</script>") != 2 {
		t.Fatal("a model name closed the config script element")
	}
	c := embeddedConfig(t, page)
	if c.Snapshot == nil || c.Snapshot.Totals.Requests != 51 || c.IntervalMS != 2000 || c.Base != "" {
		t.Errorf("embedded config = base %q interval %d snapshot %+v", c.Base, c.IntervalMS, c.Snapshot)
	}
	found := false
	for _, m := range c.Snapshot.Models {
		found = found || m.Model == hostile
	}
	if !found {
		t.Error("the hostile model name did not survive the JSON round trip as data")
	}
}

func TestBasePathOption(t *testing.T) {
	for in, want := range map[string]string{"/prod": "/prod", "/prod/": "/prod", "prod": "/prod", "/": "",
		"": "", "//evil.example": "/evil.example", "/a/b/": "/a/b"} {
		res := get(t, Handler(nil, WithBasePath(in)), "GET", "/dashboard")
		body, _ := io.ReadAll(res.Body)
		c := embeddedConfig(t, string(body))
		if c.Base != want {
			t.Errorf("WithBasePath(%q) → base %q, want %q", in, c.Base, want)
		}
		if c.Snapshot != nil {
			t.Error("a nil source must embed no snapshot")
		}
	}
}

func TestOnlyGetAndHead(t *testing.T) {
	h := Handler(nil)
	if res := get(t, h, "POST", "/dashboard"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d", res.StatusCode)
	}
	res := get(t, h, "HEAD", "/dashboard")
	if body, _ := io.ReadAll(res.Body); res.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD = %d with %d bytes", res.StatusCode, len(body))
	}
}
