// Package dashboard serves GET /dashboard: one self-contained HTML page (inline
// CSS and JavaScript, no external resources) that polls the JSON metrics
// snapshot (GET /metrics) every two seconds and renders requests, errors,
// latency, tokens, cost and cache hit rate per provider, model and key, with a
// requests-per-second sparkline.
package dashboard

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/aigateway/gateway/internal/metrics"
)

var (
	//go:embed dashboard.html
	pageHTML string
	//go:embed dashboard.css
	pageCSS string
	//go:embed dashboard.js
	pageJS string
)

// The Content-Security-Policy allows only this page's own inline style and
// script (by hash) and fetches to its own origin: nothing can load from a CDN.
var csp = "default-src 'none'; script-src '" + hash(pageJS) + "'; style-src '" + hash(pageCSS) +
	"'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

type options struct {
	basePath string
	interval int
}

// Option configures Handler.
type Option func(*options)

// WithBasePath sets the path prefix the page fetches "<prefix>/metrics" under
// (for example "/prod" behind an API Gateway stage). Without it the page
// derives the prefix from its own URL: "/prod/dashboard" fetches
// "/prod/metrics", "/dashboard" fetches "/metrics".
func WithBasePath(prefix string) Option {
	return func(o *options) {
		prefix = strings.TrimRight(prefix, "/")
		// Keep the fetch on this origin: no scheme, no "//host" prefix.
		prefix = "/" + strings.TrimLeft(prefix, "/")
		if prefix == "/" {
			prefix = ""
		}
		o.basePath = prefix
	}
}

// withInterval changes the refresh period (tests).
func withInterval(ms int) Option { return func(o *options) { o.interval = ms } }

type config struct {
	Base       string            `json:"base"`
	IntervalMS int               `json:"interval_ms"`
	Snapshot   *metrics.Snapshot `json:"snapshot,omitempty"`
}

// Handler serves the dashboard page. source, when not nil, supplies the
// snapshot embedded in the page so the first paint needs no round trip; the
// page then refreshes from GET <base>/metrics every two seconds. If the
// dashboard is opened as /dashboard#key=<admin key>, the page sends that key as
// a bearer token on its metrics requests (a URL fragment never reaches the
// server or its logs).
func Handler(source func() metrics.Snapshot, opts ...Option) http.Handler {
	o := options{interval: 2000}
	for _, opt := range opts {
		opt(&o)
	}
	head, tail, _ := strings.Cut(strings.NewReplacer("{{STYLE}}", pageCSS, "{{SCRIPT}}", pageJS).Replace(pageHTML),
		"{{CONFIG}}")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		c := config{Base: o.basePath, IntervalMS: o.interval}
		if source != nil {
			s := source()
			c.Snapshot = &s
		}
		// json.Marshal escapes <, > and &, so the data cannot close the
		// surrounding <script> element.
		cfg, err := json.Marshal(c)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method == http.MethodHead {
			return
		}
		var b strings.Builder
		b.Grow(len(head) + len(cfg) + len(tail))
		b.WriteString(head)
		b.Write(cfg)
		b.WriteString(tail)
		_, _ = w.Write([]byte(b.String()))
	})
}
