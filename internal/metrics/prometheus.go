package metrics

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Prometheus metric names served by PrometheusHandler. Series metrics carry the
// labels provider, model and route; breaker openings carry provider and model
// (a breaker guards a target, not a route). Empty label values become "none".
// Key ids and request ids are never labels.
const (
	PromRequests        = "gateway_requests_total"
	PromErrors          = "gateway_errors_total" // status >= 500
	PromClientErrors    = "gateway_client_errors_total"
	PromRateLimited     = "gateway_rate_limited_total"
	PromCacheHits       = "gateway_cache_hits_total"
	PromFailovers       = "gateway_failovers_total"
	PromBreakerOpen     = "gateway_breaker_open_total"
	PromInputTokens     = "gateway_input_tokens_total"
	PromOutputTokens    = "gateway_output_tokens_total"
	PromCostUSD         = "gateway_cost_usd_total"
	PromLatency         = "gateway_request_duration_seconds"
	PromUpstreamLatency = "gateway_upstream_duration_seconds"
	PromTimeToFirstByte = "gateway_time_to_first_byte_seconds"
	PromUptime          = "gateway_uptime_seconds"
)

var seriesLabels = []string{"provider", "model", "route"}

type promMetrics struct {
	reg                               *prometheus.Registry
	requests, errors, clientErrors    *prometheus.CounterVec
	rateLimited, cacheHits, failovers *prometheus.CounterVec
	inputTokens, outputTokens, cost   *prometheus.CounterVec
	breakerOpen                       *prometheus.CounterVec
	latency, upstream, ttfb           *prometheus.HistogramVec
}

func newPromMetrics(uptime func() float64) *promMetrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, seriesLabels)
	}
	hist := func(name, help string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help,
			Buckets: latencyBuckets[:]}, seriesLabels)
	}
	p := &promMetrics{
		reg:          prometheus.NewRegistry(),
		requests:     counter(PromRequests, "Finished requests."),
		errors:       counter(PromErrors, "Requests answered with a 5xx status."),
		clientErrors: counter(PromClientErrors, "Requests answered with a 4xx status."),
		rateLimited:  counter(PromRateLimited, "Requests refused by a rate limit (429)."),
		cacheHits:    counter(PromCacheHits, "Requests answered from the response cache."),
		failovers:    counter(PromFailovers, "Failovers to another target."),
		inputTokens:  counter(PromInputTokens, "Prompt tokens."),
		outputTokens: counter(PromOutputTokens, "Completion tokens."),
		cost:         counter(PromCostUSD, "Estimated cost in US dollars."),
		breakerOpen: prometheus.NewCounterVec(prometheus.CounterOpts{Name: PromBreakerOpen,
			Help: "Circuit breaker openings per target."}, []string{"provider", "model"}),
		latency:  hist(PromLatency, "Whole request latency."),
		upstream: hist(PromUpstreamLatency, "Latency of the successful upstream attempt."),
		ttfb:     hist(PromTimeToFirstByte, "Time to the first streamed chunk."),
	}
	p.reg.MustRegister(p.requests, p.errors, p.clientErrors, p.rateLimited, p.cacheHits, p.failovers,
		p.inputTokens, p.outputTokens, p.cost, p.breakerOpen, p.latency, p.upstream, p.ttfb,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: PromUptime, Help: "Seconds since the gateway started."}, uptime))
	return p
}

// label is the Prometheus label value for a name: "none" when empty, and
// always valid UTF-8 (client_golang panics on invalid label values).
func label(s string) string {
	if s == "" {
		return "none"
	}
	if !utf8.ValidString(s) {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func observeSeconds(o prometheus.Observer, d time.Duration) {
	if d > 0 {
		o.Observe(d.Seconds())
	}
}

// PrometheusHandler serves the registry in the Prometheus text exposition
// format (GET /metrics/prometheus).
func (r *Registry) PrometheusHandler() http.Handler {
	return promhttp.HandlerFor(r.prom.reg, promhttp.HandlerOpts{})
}

// Gatherer exposes the registry's own Prometheus registry, for callers that
// want to merge it with others.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.prom.reg }
