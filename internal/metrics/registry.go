package metrics

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Cardinality caps: a client that sends a new model name on every request, or
// a store with very many keys, must not grow the registry without bound.
// Events past a cap are folded into one "other" row.
const (
	maxSeries = 2000
	maxKeys   = 10000
	overflow  = "other"
	// recentSeconds is how many one-second request counts the snapshot carries
	// for the dashboard's requests/s sparkline.
	recentSeconds = 120
)

// Registry is the in-process metrics registry: per (provider, model, route)
// counters and latency histograms, per-key totals for the dashboard, overall
// totals and uptime. It implements Recorder, is safe for concurrent use and
// does not allocate on Record once a series exists. Its figures are served as
// JSON (JSONHandler) and Prometheus text (PrometheusHandler).
type Registry struct {
	now     func() time.Time
	started time.Time
	prom    *promMetrics

	mu       sync.Mutex
	series   map[seriesKey]*series
	breakers map[targetKey]int64
	keys     map[string]*KeyStats
	recent   [recentSeconds]int64 // requests in second recentAt[i]
	recentAt [recentSeconds]int64 // unix second the slot holds
}

type seriesKey struct{ provider, model, route string }

type targetKey struct{ provider, model string }

type series struct {
	c                        Counters
	latency, upstream, ttfb  histogram
	requests, errs, clientEr prometheus.Counter
	rateLimited, cacheHits   prometheus.Counter
	failovers, inTok, outTok prometheus.Counter
	cost                     prometheus.Counter
	pLatency, pUp, pTTFB     prometheus.Observer
}

// NewRegistry returns an empty registry whose uptime starts now.
func NewRegistry() *Registry { return NewRegistryClock(time.Now) }

// NewRegistryClock is NewRegistry with an injected clock (tests).
func NewRegistryClock(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	r := &Registry{now: now, started: now(), series: map[seriesKey]*series{},
		breakers: map[targetKey]int64{}, keys: map[string]*KeyStats{}}
	r.prom = newPromMetrics(func() float64 { return r.now().Sub(r.started).Seconds() })
	return r
}

// Record adds one finished request. The per-second request counts use the
// registry's clock, not Event.Time.
func (r *Registry) Record(e Event) {
	sec := r.now().Unix()
	r.mu.Lock()
	s := r.series[seriesKey{e.Provider, e.Model, e.Route}]
	if s == nil {
		s = r.newSeriesLocked(seriesKey{e.Provider, e.Model, e.Route})
	}
	s.c.add(&e)
	s.latency.observe(e.Latency)
	s.upstream.observe(e.UpstreamLatency)
	s.ttfb.observe(e.TimeToFirstByte)

	k := r.keys[e.KeyID]
	if k == nil {
		k = r.newKeyLocked(e.KeyID)
	}
	k.add(&e)

	i := int(uint64(sec) % recentSeconds)
	if r.recentAt[i] != sec {
		r.recentAt[i], r.recent[i] = sec, 0
	}
	r.recent[i]++
	r.mu.Unlock()

	// Prometheus children are resolved once per series and are atomic.
	s.requests.Inc()
	if e.Status >= 500 {
		s.errs.Inc()
	} else if e.Status >= 400 {
		s.clientEr.Inc()
	}
	if e.RateLimited {
		s.rateLimited.Inc()
	}
	if e.CacheHit {
		s.cacheHits.Inc()
	}
	if e.Failovers > 0 {
		s.failovers.Add(float64(e.Failovers))
	}
	if e.InputTokens > 0 {
		s.inTok.Add(float64(e.InputTokens))
	}
	if e.OutputTokens > 0 {
		s.outTok.Add(float64(e.OutputTokens))
	}
	if e.CostUSD > 0 {
		s.cost.Add(e.CostUSD)
	}
	observeSeconds(s.pLatency, e.Latency)
	observeSeconds(s.pUp, e.UpstreamLatency)
	observeSeconds(s.pTTFB, e.TimeToFirstByte)
}

// BreakerOpened counts a circuit breaker opening for provider/model. A breaker
// belongs to a target (provider, model), not to a route.
func (r *Registry) BreakerOpened(provider, model string) {
	t := targetKey{provider, model}
	r.mu.Lock()
	if _, ok := r.breakers[t]; !ok {
		t = targetKey{strings.Clone(provider), strings.Clone(model)}
		if len(r.breakers) >= maxSeries {
			t = targetKey{overflow, overflow}
		}
	}
	r.breakers[t]++
	r.mu.Unlock()
	r.prom.breakerOpen.WithLabelValues(label(t.provider), label(t.model)).Inc()
}

func (r *Registry) newSeriesLocked(k seriesKey) *series {
	if len(r.series) >= maxSeries {
		k = seriesKey{overflow, overflow, overflow}
		if s := r.series[k]; s != nil {
			return s
		}
	}
	// Clone: an event's strings may point into a large request body.
	k = seriesKey{strings.Clone(k.provider), strings.Clone(k.model), strings.Clone(k.route)}
	l := []string{label(k.provider), label(k.model), label(k.route)}
	p := r.prom
	s := &series{
		requests: p.requests.WithLabelValues(l...), errs: p.errors.WithLabelValues(l...),
		clientEr: p.clientErrors.WithLabelValues(l...), rateLimited: p.rateLimited.WithLabelValues(l...),
		cacheHits: p.cacheHits.WithLabelValues(l...), failovers: p.failovers.WithLabelValues(l...),
		inTok: p.inputTokens.WithLabelValues(l...), outTok: p.outputTokens.WithLabelValues(l...),
		cost: p.cost.WithLabelValues(l...), pLatency: p.latency.WithLabelValues(l...),
		pUp: p.upstream.WithLabelValues(l...), pTTFB: p.ttfb.WithLabelValues(l...),
	}
	r.series[k] = s
	return s
}

func (r *Registry) newKeyLocked(id string) *KeyStats {
	if len(r.keys) >= maxKeys {
		id = overflow
		if k := r.keys[id]; k != nil {
			return k
		}
	}
	k := &KeyStats{KeyID: strings.Clone(id)}
	r.keys[id] = k
	return k
}

// Counters are the additive figures of a group of requests. Errors counts
// responses with status >= 500, ClientErrors those with 400 <= status < 500.
type Counters struct {
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	ClientErrors int64   `json:"client_errors"`
	RateLimited  int64   `json:"rate_limited"`
	CacheHits    int64   `json:"cache_hits"`
	Failovers    int64   `json:"failovers"`
	BreakerOpen  int64   `json:"breaker_open"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

func (c *Counters) add(e *Event) {
	c.Requests++
	if e.Status >= 500 {
		c.Errors++
	} else if e.Status >= 400 {
		c.ClientErrors++
	}
	if e.RateLimited {
		c.RateLimited++
	}
	if e.CacheHit {
		c.CacheHits++
	}
	c.Failovers += int64(max(e.Failovers, 0))
	c.InputTokens += int64(max(e.InputTokens, 0))
	c.OutputTokens += int64(max(e.OutputTokens, 0))
	if e.CostUSD > 0 {
		c.CostUSD += e.CostUSD
	}
}

func (c *Counters) merge(o *Counters) {
	c.Requests += o.Requests
	c.Errors += o.Errors
	c.ClientErrors += o.ClientErrors
	c.RateLimited += o.RateLimited
	c.CacheHits += o.CacheHits
	c.Failovers += o.Failovers
	c.BreakerOpen += o.BreakerOpen
	c.InputTokens += o.InputTokens
	c.OutputTokens += o.OutputTokens
	c.CostUSD += o.CostUSD
}

// Latency summarises one histogram, in milliseconds. P50/P95/P99 are estimated
// by linear interpolation inside the fixed bucket that holds the rank, clamped
// to the observed minimum and maximum, so the error is at most one bucket
// width (buckets from 1 ms to 60 s).
type Latency struct {
	Count  int64   `json:"count"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P95MS  float64 `json:"p95_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
}

// Stats is one row of the snapshot: the totals, a provider, a provider's model,
// or one (provider, model, route) series. Empty names are omitted ("no provider
// answered", "no route").
type Stats struct {
	Provider string `json:"provider,omitempty"`
	Model    string `json:"model,omitempty"`
	Route    string `json:"route,omitempty"`
	Counters
	// ErrorRate is Errors/Requests; CacheHitRate is CacheHits/Requests.
	ErrorRate       float64 `json:"error_rate"`
	CacheHitRate    float64 `json:"cache_hit_rate"`
	Latency         Latency `json:"latency"`
	UpstreamLatency Latency `json:"upstream_latency"`
	TimeToFirstByte Latency `json:"time_to_first_byte"`
}

// KeyStats are one API key's totals (the dashboard only: key ids never become
// Prometheus labels or EMF dimensions).
type KeyStats struct {
	KeyID        string  `json:"key_id"`
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	ClientErrors int64   `json:"client_errors"`
	RateLimited  int64   `json:"rate_limited"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

func (k *KeyStats) add(e *Event) {
	k.Requests++
	if e.Status >= 500 {
		k.Errors++
	} else if e.Status >= 400 {
		k.ClientErrors++
	}
	if e.RateLimited {
		k.RateLimited++
	}
	k.InputTokens += int64(max(e.InputTokens, 0))
	k.OutputTokens += int64(max(e.OutputTokens, 0))
	if e.CostUSD > 0 {
		k.CostUSD += e.CostUSD
	}
}

// Snapshot is a consistent copy of the registry, shaped for JSON (GET /metrics)
// and the dashboard. Rows are sorted by requests, most first, then by name.
type Snapshot struct {
	Time          time.Time  `json:"time"`
	StartedAt     time.Time  `json:"started_at"`
	UptimeSeconds float64    `json:"uptime_seconds"`
	Totals        Stats      `json:"totals"`
	Providers     []Stats    `json:"providers"`
	Models        []Stats    `json:"models"` // per (provider, model)
	Series        []Stats    `json:"series"` // per (provider, model, route)
	Keys          []KeyStats `json:"keys"`
	// RequestsPerSecond holds the request count of each of the last 120
	// seconds, oldest first; the last entry is the current (partial) second.
	RequestsPerSecond []int64 `json:"requests_per_second"`
}

type group struct {
	Stats
	latency, upstream, ttfb histogram
}

func (g *group) mergeSeries(s *series) {
	g.Counters.merge(&s.c)
	g.latency.merge(&s.latency)
	g.upstream.merge(&s.upstream)
	g.ttfb.merge(&s.ttfb)
}

func (g *group) finish() Stats {
	st := g.Stats
	if st.Requests > 0 {
		st.ErrorRate = float64(st.Errors) / float64(st.Requests)
		st.CacheHitRate = float64(st.CacheHits) / float64(st.Requests)
	}
	st.Latency = g.latency.summary()
	st.UpstreamLatency = g.upstream.summary()
	st.TimeToFirstByte = g.ttfb.summary()
	return st
}

// Snapshot copies the registry's figures.
func (r *Registry) Snapshot() Snapshot {
	now := r.now()
	sec := now.Unix()
	var total group
	providers := map[string]*group{}
	models := map[targetKey]*group{}
	getModel := func(t targetKey) *group {
		g := models[t]
		if g == nil {
			g = &group{Stats: Stats{Provider: t.provider, Model: t.model}}
			models[t] = g
		}
		return g
	}
	snap := Snapshot{Time: now, StartedAt: r.started, UptimeSeconds: now.Sub(r.started).Seconds(),
		RequestsPerSecond: make([]int64, recentSeconds)}

	r.mu.Lock()
	snap.Series = make([]Stats, 0, len(r.series))
	for k, s := range r.series {
		g := group{Stats: Stats{Provider: k.provider, Model: k.model, Route: k.route}}
		g.mergeSeries(s)
		snap.Series = append(snap.Series, g.finish())
		total.mergeSeries(s)
		getModel(targetKey{k.provider, k.model}).mergeSeries(s)
	}
	for t, n := range r.breakers {
		getModel(t).BreakerOpen += n
		total.BreakerOpen += n
	}
	snap.Keys = make([]KeyStats, 0, len(r.keys))
	for _, k := range r.keys {
		snap.Keys = append(snap.Keys, *k)
	}
	for i := range recentSeconds {
		s := sec - int64(recentSeconds-1-i)
		if j := int(uint64(s) % recentSeconds); r.recentAt[j] == s {
			snap.RequestsPerSecond[i] = r.recent[j]
		}
	}
	r.mu.Unlock()

	for _, m := range models {
		p := providers[m.Provider]
		if p == nil {
			p = &group{Stats: Stats{Provider: m.Provider}}
			providers[m.Provider] = p
		}
		p.Counters.merge(&m.Counters)
		p.latency.merge(&m.latency)
		p.upstream.merge(&m.upstream)
		p.ttfb.merge(&m.ttfb)
		snap.Models = append(snap.Models, m.finish())
	}
	for _, p := range providers {
		snap.Providers = append(snap.Providers, p.finish())
	}
	snap.Totals = total.finish()
	byRequests := func(a, b Stats) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Provider, b.Provider),
			cmp.Compare(a.Model, b.Model), cmp.Compare(a.Route, b.Route))
	}
	slices.SortFunc(snap.Providers, byRequests)
	slices.SortFunc(snap.Models, byRequests)
	slices.SortFunc(snap.Series, byRequests)
	slices.SortFunc(snap.Keys, func(a, b KeyStats) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.KeyID, b.KeyID))
	})
	if snap.Providers == nil {
		snap.Providers = []Stats{}
	}
	if snap.Models == nil {
		snap.Models = []Stats{}
	}
	return snap
}

// Uptime is the time since the registry was created.
func (r *Registry) Uptime() time.Duration { return r.now().Sub(r.started) }

// JSONHandler serves Snapshot as JSON (GET /metrics).
func (r *Registry) JSONHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		b, err := json.Marshal(r.Snapshot())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if req.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(append(b, '\n'))
	})
}
