package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/metrics"
)

// chromium finds Debian's headless-capable Chromium. Without it the browser
// tests fail (they are part of the suite), unless GATEWAY_SKIP_BROWSER=1.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GATEWAY_SKIP_BROWSER") == "1" {
		t.Skip("chromium not installed and GATEWAY_SKIP_BROWSER=1")
	}
	t.Fatal("chromium not found on PATH: install it (Debian/Ubuntu: apt-get install -y chromium) " +
		"or set GATEWAY_SKIP_BROWSER=1 to skip the browser tests")
	return ""
}

// runChromium runs headless Chromium with virtual time, so the page's 2 s
// refresh timers fire without waiting for real seconds.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	action, _, _ := strings.Cut(args[0], "=")
	t.Logf("chromium %s took %v", action, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("chromium failed: %v\nstderr:\n%s", err, stderr.String())
	}
	return stdout.Bytes()
}

// gatewayStub serves the dashboard under an API Gateway-like stage prefix and
// a /metrics JSON with known figures, counting the page's polls.
type gatewayStub struct {
	*httptest.Server
	polls atomic.Int64
}

func newGatewayStub(t *testing.T, dashboardPath, metricsPath string, h http.Handler, snap metrics.Snapshot) *gatewayStub {
	t.Helper()
	g := &gatewayStub{}
	body, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+dashboardPath, h)
	mux.HandleFunc("GET "+metricsPath, func(w http.ResponseWriter, r *http.Request) {
		g.polls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Close)
	return g
}

func TestDashboardRendersLiveMetricsInChromium(t *testing.T) {
	bin := chromium(t)
	t.Parallel()
	snap := knownRegistry().Snapshot()
	// The embedded first-paint snapshot says something else: what the test
	// finds must have come from polling /metrics.
	initial := func() metrics.Snapshot {
		return metrics.Snapshot{Providers: []metrics.Stats{{Provider: "embedded-only"}}}
	}
	stub := newGatewayStub(t, "/prod/dashboard", "/prod/metrics", Handler(initial), snap)

	dom := string(runChromium(t, bin, "--dump-dom", stub.URL+"/prod/dashboard"))
	for _, want := range []string{
		"openai", "anthropic", "gpt-4o", "claude-sonnet-4", // providers and models
		"key-alice", "key-bob", // keys
		"$12.35",          // openai cost, formatted
		"$0.0042",         // anthropic cost, formatted
		"$12.35",          // total cost card
		">50<",            // total requests card
		"25.0%",           // cache hit rate (10 of 40 for openai)
		"live ·",          // status after a successful poll
		"peak 2/s",        // sparkline label from requests_per_second
		"points=\"0.0,84", // sparkline drawn
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if strings.Contains(dom, `<td class="name">embedded-only`) || strings.Contains(dom, `class="status err"`) {
		t.Error("the page did not replace the embedded snapshot with the polled one")
	}
	if n := stub.polls.Load(); n < 2 {
		t.Errorf("/prod/metrics polled %d times in 5 s of virtual time, want at least 2 (every 2 s)", n)
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}

func TestDashboardScreenshotShowsData(t *testing.T) {
	bin := chromium(t)
	t.Parallel()
	snap := knownRegistry().Snapshot()
	// Mounted elsewhere than its metrics, with an explicit base path.
	stub := newGatewayStub(t, "/ui/dashboard", "/stage/metrics", Handler(nil, WithBasePath("/stage")), snap)

	shot := filepath.Join(t.TempDir(), "shot.png")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1280,900", "--hide-scrollbars", stub.URL+"/ui/dashboard")
	if stub.polls.Load() == 0 {
		t.Error("the page never fetched <base path>/metrics")
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 900 {
		t.Errorf("screenshot is %v, want 1280x900", b)
	}
	if n := distinctColours(img); n < 32 {
		t.Errorf("screenshot has %d distinct colours: blank or unstyled", n)
	}
	if out := os.Getenv("GATEWAY_DASHBOARD_SCREENSHOT"); out != "" {
		data, _ := os.ReadFile(shot)
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Errorf("saving screenshot: %v", err)
		}
	}
}

func distinctColours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}
