package router

import (
	"sync"
	"time"
)

// BreakerState is closed, open or half-open.
type BreakerState int

// Breaker states.
const (
	Closed BreakerState = iota
	Open
	HalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	default:
		return "closed"
	}
}

// BreakerConfig configures a circuit breaker.
type BreakerConfig struct {
	// FailureThreshold is the number of consecutive failures that opens the breaker (0: never opens).
	FailureThreshold int
	// RecoveryTimeout is how long the breaker stays open before letting trial calls through.
	RecoveryTimeout time.Duration
	// HalfOpenMaxCalls is how many trial calls may be in flight while half-open.
	HalfOpenMaxCalls int
}

// DefaultBreaker holds the value of each breaker setting the configuration
// leaves unset.
var DefaultBreaker = BreakerConfig{FailureThreshold: 5, RecoveryTimeout: 30 * time.Second, HalfOpenMaxCalls: 1}

// Breaker is a per-target circuit breaker.
type Breaker struct {
	cfg BreakerConfig
	now func() time.Time

	// OnOpen, when set, is called (in its own goroutine) each time the breaker opens.
	OnOpen func()

	mu        sync.Mutex
	state     BreakerState
	failures  int
	openedAt  time.Time
	trials    int
	openCount int
}

// NewBreaker builds a breaker; now may be nil (time.Now).
func NewBreaker(cfg BreakerConfig, now func() time.Time) *Breaker {
	if now == nil {
		now = time.Now
	}
	if cfg.HalfOpenMaxCalls <= 0 {
		cfg.HalfOpenMaxCalls = 1
	}
	return &Breaker{cfg: cfg, now: now}
}

// Allow reports whether a call may go through and, when it may, reserves a
// trial slot in the half-open state. Every allowed call must be followed by
// exactly one Record.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		if b.now().Sub(b.openedAt) < b.cfg.RecoveryTimeout {
			return false
		}
		b.state, b.trials = HalfOpen, 0
		fallthrough
	case HalfOpen:
		if b.trials >= b.cfg.HalfOpenMaxCalls {
			return false
		}
		b.trials++
		return true
	default:
		return true
	}
}

// Record reports the outcome of an allowed call.
func (b *Breaker) Record(success bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case HalfOpen:
		if b.trials > 0 {
			b.trials--
		}
		if success {
			b.state, b.failures = Closed, 0
		} else {
			b.trip()
		}
	case Closed:
		if success {
			b.failures = 0
			return
		}
		b.failures++
		if b.cfg.FailureThreshold > 0 && b.failures >= b.cfg.FailureThreshold {
			b.trip()
		}
	}
}

// Release gives back an allowed call whose outcome says nothing about the
// target (it was skipped, or the client went away), recording no outcome: a
// half-open breaker's trial slot goes to the next call, and a closed
// breaker's consecutive failures stay as they were.
func (b *Breaker) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == HalfOpen && b.trials > 0 {
		b.trials--
	}
}

func (b *Breaker) trip() {
	b.state, b.openedAt, b.failures, b.trials = Open, b.now(), 0, 0
	b.openCount++
	if b.OnOpen != nil {
		go b.OnOpen()
	}
}

// State returns the current state (an open breaker past its recovery timeout
// reads as half-open).
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && b.now().Sub(b.openedAt) >= b.cfg.RecoveryTimeout {
		return HalfOpen
	}
	return b.state
}

// BreakerSnapshot is a breaker's state for admin output.
type BreakerSnapshot struct {
	State            string `json:"state"`
	ConsecutiveFails int    `json:"consecutive_failures"`
	TimesOpened      int    `json:"times_opened"`
	OpenedAt         string `json:"opened_at,omitempty"`
}

// Snapshot describes the breaker.
func (b *Breaker) Snapshot() BreakerSnapshot {
	st := b.State()
	b.mu.Lock()
	defer b.mu.Unlock()
	s := BreakerSnapshot{State: st.String(), ConsecutiveFails: b.failures, TimesOpened: b.openCount}
	if st != Closed {
		s.OpenedAt = b.openedAt.UTC().Format(time.RFC3339)
	}
	return s
}
