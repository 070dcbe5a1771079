// Package metrics is the gateway's one metrics registry, fed by the core with
// one Event per finished request, and its outputs: CloudWatch Embedded Metric
// Format lines on Lambda, and JSON and Prometheus text on the local server.
package metrics

import "time"

// Event describes one finished request. Key ids and request ids never become
// metric dimensions (EMF, Prometheus labels); KeyID only feeds the per-key
// totals of the JSON snapshot and the dashboard.
type Event struct {
	Time     time.Time
	Endpoint string // "chat", "embeddings", "generate", ...
	Route    string // resolved route ("" when none)
	Provider string // provider that answered ("" when none did)
	Model    string // upstream model
	KeyID    string
	Status   int
	Stream   bool
	// Latency is the whole request; UpstreamLatency the successful attempt;
	// TimeToFirstByte the first streamed chunk (streams only).
	Latency         time.Duration
	UpstreamLatency time.Duration
	TimeToFirstByte time.Duration
	InputTokens     int
	OutputTokens    int
	CostUSD         float64
	CacheHit        bool
	RateLimited     bool
	Failovers       int
}

// Recorder receives events; the gateway holds one.
type Recorder interface {
	Record(Event)
	// BreakerOpened counts a circuit breaker opening for provider/model.
	BreakerOpened(provider, model string)
}
