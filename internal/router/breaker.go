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

// Ticket is what Allow hands an allowed call, to be given back with the
// call's outcome (Record or Release): it tells a trial of the current
// half-open period from a call admitted before the breaker last changed
// state, whose outcome must not free a slot it never held nor judge the
// trials.
type Ticket struct {
	gen   uint64 // the breaker's generation when the call was admitted
	trial bool   // the call holds a half-open trial slot
}

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
	// gen counts state changes: a ticket of an earlier generation is stale.
	gen uint64
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
// exactly one Record or Release with the ticket it got.
func (b *Breaker) Allow() (Ticket, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		if b.now().Sub(b.openedAt) < b.cfg.RecoveryTimeout {
			return Ticket{}, false
		}
		b.enter(HalfOpen)
		fallthrough
	case HalfOpen:
		if b.trials >= b.cfg.HalfOpenMaxCalls {
			return Ticket{}, false
		}
		b.trials++
		return Ticket{gen: b.gen, trial: true}, true
	default:
		return Ticket{gen: b.gen}, true
	}
}

// Record reports the outcome of the call allowed with t. An open or
// half-open breaker drops a stale outcome (of a call admitted before its
// last change of state: before it opened, or by an earlier half-open
// period): only the current period's trials judge the target, so a stale
// success never closes a breaker that has opened since and a stale failure
// never reopens one whose trials are under way. A closed breaker counts
// every outcome in the order they end, stale or not: a late failure is
// still a failure of the target.
func (b *Breaker) Record(t Ticket, success bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != Closed && t.gen != b.gen {
		return
	}
	switch b.state {
	case HalfOpen:
		// A trial of this period: either way a new period begins (enter
		// frees every slot).
		if success {
			b.enter(Closed)
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

// Release gives back the call allowed with t when its outcome says nothing
// about the target (it was skipped, or the client went away), recording no
// outcome: the trial slot t holds goes to the next call, and a closed
// breaker's consecutive failures stay as they were. A stale trial's slot was
// taken back when its period ended, so it frees nothing.
func (b *Breaker) Release(t Ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.trial && t.gen == b.gen {
		b.trials--
	}
}

// enter moves the breaker to state s with no trial slot taken, in a new
// generation: every ticket handed out before is stale from here on.
func (b *Breaker) enter(s BreakerState) {
	b.state, b.trials, b.failures = s, 0, 0
	b.gen++
}

func (b *Breaker) trip() {
	b.enter(Open)
	b.openedAt = b.now()
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
