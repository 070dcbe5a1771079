package metrics

import (
	"io"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultEMFNamespace is the CloudWatch namespace used when none is given.
const DefaultEMFNamespace = "AIGateway"

// EMF metric names, as they appear in CloudWatch (alarms and dashboards in the
// CDK stack refer to these).
const (
	EMFRequests        = "Requests"        // Count, 1 per request
	EMFErrors          = "Errors"          // Count, 1 when status >= 500
	EMFLatency         = "Latency"         // Milliseconds, only when measured
	EMFUpstreamLatency = "UpstreamLatency" // Milliseconds, only when measured
	EMFTimeToFirstByte = "TimeToFirstByte" // Milliseconds, streams only
	EMFInputTokens     = "InputTokens"     // Count
	EMFOutputTokens    = "OutputTokens"    // Count
	EMFCostUSD         = "CostUSD"         // None (US dollars)
	EMFCacheHits       = "CacheHits"       // Count, 1 on a cache hit
	EMFRateLimited     = "RateLimited"     // Count, 1 on a 429 from a limit
	EMFFailovers       = "Failovers"       // Count, failovers in the request
	EMFBreakerOpen     = "BreakerOpen"     // Count, from BreakerOpened lines
)

// EMF dimension sets.
//
// Request lines use [Provider, Model, Route], [Provider] and [] (no
// dimensions): the first for per-route drill-down, the second per provider,
// and the empty set gives the gateway-wide series that alarms need (CloudWatch
// cannot combine percentiles such as p99 across dimension values, so a fleet
// p99 or 5xx-rate alarm must read a metric that has no dimensions). Every set
// costs one custom metric per metric name and distinct value combination.
//
// Breaker lines use [Provider, Model], [Provider] and []: a breaker guards a
// target (provider, model), not a route.
//
// Dimension values are non-empty printable ASCII ("none" when empty, other
// bytes become '_', at most 1024 bytes). Key ids and request ids never appear
// in a line, neither as dimensions nor as properties.
var (
	EMFRequestDimensions = [][]string{{"Provider", "Model", "Route"}, {"Provider"}, {}}
	EMFBreakerDimensions = [][]string{{"Provider", "Model"}, {"Provider"}, {}}
)

// EMFWriter is a Recorder that writes one CloudWatch Embedded Metric Format
// JSON line per event to w (on Lambda: stdout, which CloudWatch Logs reads).
// Writes are serialised, so lines never interleave. Write errors are dropped:
// metrics must never fail a request.
type EMFWriter struct {
	w         io.Writer
	namespace []byte // JSON-quoted
	now       func() time.Time

	mu  sync.Mutex
	buf []byte
}

// NewEMFWriter returns an EMFWriter for namespace (DefaultEMFNamespace when
// empty; printable ASCII, at most 255 bytes). now stamps breaker lines and events without a Time (time.Now when
// nil).
func NewEMFWriter(w io.Writer, namespace string, now func() time.Time) *EMFWriter {
	if namespace == "" {
		namespace = DefaultEMFNamespace
	}
	if now == nil {
		now = time.Now
	}
	if w == nil {
		w = io.Discard
	}
	return &EMFWriter{w: w, namespace: appendASCII(nil, namespace, 255, DefaultEMFNamespace), now: now,
		buf: make([]byte, 0, 2048)}
}

const storage = `,"StorageResolution":60}`

// Record writes one request line.
func (m *EMFWriter) Record(e Event) {
	t := e.Time
	if t.IsZero() {
		t = m.now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.head(m.buf[:0], t, `[["Provider","Model","Route"],["Provider"],[]]`)
	b = append(b, `"Metrics":[`...)
	b = metricDef(b, EMFRequests, "Count", false)
	b = metricDef(b, EMFErrors, "Count", true)
	if e.Latency > 0 {
		b = metricDef(b, EMFLatency, "Milliseconds", true)
	}
	if e.UpstreamLatency > 0 {
		b = metricDef(b, EMFUpstreamLatency, "Milliseconds", true)
	}
	if e.TimeToFirstByte > 0 {
		b = metricDef(b, EMFTimeToFirstByte, "Milliseconds", true)
	}
	b = metricDef(b, EMFInputTokens, "Count", true)
	b = metricDef(b, EMFOutputTokens, "Count", true)
	b = metricDef(b, EMFCostUSD, "None", true)
	b = metricDef(b, EMFCacheHits, "Count", true)
	b = metricDef(b, EMFRateLimited, "Count", true)
	b = metricDef(b, EMFFailovers, "Count", true)
	b = append(b, `]}]}`...)

	b = dimension(b, "Provider", e.Provider)
	b = dimension(b, "Model", e.Model)
	b = dimension(b, "Route", e.Route)
	// Plain properties for CloudWatch Logs Insights; not metrics, not dimensions.
	b = append(b, `,"Endpoint":`...)
	b = appendJSONString(b, e.Endpoint)
	b = append(b, `,"Status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"Stream":`...)
	b = strconv.AppendBool(b, e.Stream)

	b = number(b, EMFRequests, 1)
	b = number(b, EMFErrors, boolNum(e.Status >= 500))
	if e.Latency > 0 {
		b = number(b, EMFLatency, ms(e.Latency))
	}
	if e.UpstreamLatency > 0 {
		b = number(b, EMFUpstreamLatency, ms(e.UpstreamLatency))
	}
	if e.TimeToFirstByte > 0 {
		b = number(b, EMFTimeToFirstByte, ms(e.TimeToFirstByte))
	}
	b = number(b, EMFInputTokens, float64(max(e.InputTokens, 0)))
	b = number(b, EMFOutputTokens, float64(max(e.OutputTokens, 0)))
	b = number(b, EMFCostUSD, max(e.CostUSD, 0))
	b = number(b, EMFCacheHits, boolNum(e.CacheHit))
	b = number(b, EMFRateLimited, boolNum(e.RateLimited))
	b = number(b, EMFFailovers, float64(max(e.Failovers, 0)))
	m.buf = append(b, "}\n"...)
	_, _ = m.w.Write(m.buf)
}

// BreakerOpened writes one line with BreakerOpen = 1 for provider/model.
func (m *EMFWriter) BreakerOpened(provider, model string) {
	t := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.head(m.buf[:0], t, `[["Provider","Model"],["Provider"],[]]`)
	b = append(b, `"Metrics":[`...)
	b = metricDef(b, EMFBreakerOpen, "Count", false)
	b = append(b, `]}]}`...)
	b = dimension(b, "Provider", provider)
	b = dimension(b, "Model", model)
	b = number(b, EMFBreakerOpen, 1)
	m.buf = append(b, "}\n"...)
	_, _ = m.w.Write(m.buf)
}

// head writes up to and including the "Dimensions" member of the directive.
func (m *EMFWriter) head(b []byte, t time.Time, dims string) []byte {
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, t.UnixMilli(), 10)
	b = append(b, `,"CloudWatchMetrics":[{"Namespace":`...)
	b = append(b, m.namespace...)
	b = append(b, `,"Dimensions":`...)
	b = append(b, dims...)
	return append(b, ',')
}

func metricDef(b []byte, name, unit string, comma bool) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, `{"Name":"`...)
	b = append(b, name...)
	b = append(b, `","Unit":"`...)
	b = append(b, unit...)
	b = append(b, '"')
	return append(b, storage...)
}

func number(b []byte, name string, v float64) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func boolNum(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// maxDimensionValue is CloudWatch's limit on a dimension value's length.
const maxDimensionValue = 1024

// dimension appends a dimension member.
func dimension(b []byte, key, v string) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return appendASCII(b, v, maxDimensionValue, "none")
}

// appendASCII appends v as a JSON string the way CloudWatch wants names and
// dimension values: printable ASCII (other bytes become '_'), at most maxLen
// bytes, and with a non-space character (otherwise it is replaced by def).
func appendASCII(b []byte, v string, maxLen int, def string) []byte {
	b = append(b, '"')
	start := len(b)
	blank := true
	for i := 0; i < len(v) && i < maxLen; i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c > 0x7e:
			b = append(b, '_')
		default:
			b = append(b, c)
		}
		blank = blank && c == ' '
	}
	if blank {
		b = append(b[:start], def...)
	}
	return append(b, '"')
}

// appendJSONString appends s as a JSON string (invalid UTF-8 becomes U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// Multi fans events out to every non-nil recorder, in order.
func Multi(recorders ...Recorder) Recorder {
	var rs multi
	for _, r := range recorders {
		if r != nil {
			rs = append(rs, r)
		}
	}
	if len(rs) == 1 {
		return rs[0]
	}
	return rs
}

type multi []Recorder

func (m multi) Record(e Event) {
	for _, r := range m {
		r.Record(e)
	}
}

func (m multi) BreakerOpened(provider, model string) {
	for _, r := range m {
		r.BreakerOpened(provider, model)
	}
}
