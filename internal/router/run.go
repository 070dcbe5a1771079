package router

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aigateway/gateway/internal/openai"
)

// RetryPolicy configures retries of one target.
type RetryPolicy struct {
	// MaxRetries is the number of extra attempts on the same target.
	MaxRetries int
	// BaseBackoff is the first backoff; each retry doubles it, with full jitter.
	BaseBackoff time.Duration
	// MaxBackoff caps one wait, Retry-After included: a longer Retry-After
	// moves on to the next target instead of waiting.
	MaxBackoff time.Duration
}

// DefaultRetry is used where a route sets nothing.
var DefaultRetry = RetryPolicy{MaxRetries: 1, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}

// Attempt runs one try against a target. It returns an error that is
// *openai.Error-classifiable; Retryable errors move on (retry or failover).
type Attempt func(ctx context.Context, t *Target) error

// Result is what Run reports.
type Result struct {
	// Target is the target that answered.
	Target *Target
	// Attempts counts every try, retries included.
	Attempts int
	// Failovers counts moves to another target.
	Failovers int
	// Latency is the successful attempt's duration: the whole answer for a
	// complete response, the time to the first chunk for a stream.
	Latency time.Duration
	// Done must be called once the response has been delivered (for streams,
	// after the last chunk) with the outcome; it records latency and the breaker
	// result and releases the attempt's context.
	Done func(err error)
}

// ErrSkipTarget, wrapped in an attempt's error, skips the target without
// retrying it or counting a failure: routing moves to the next target.
var ErrSkipTarget = errors.New("target skipped")

// statusClientClosed is the status of a run the client gave up on before any
// target answered: nginx's "client closed request".
const statusClientClosed = 499

var errNoTargets = &openai.Error{Code: openai.CodeNoTargets, Message: "no provider is available for this model right now"}

// Run tries the plan's targets in order with retries until one succeeds, a
// non-retryable error occurs, or the targets are exhausted. The attempt's
// context stays alive after a success until Result.Done is called.
func (r *Router) Run(ctx context.Context, plan *Plan, fn Attempt) (*Result, error) {
	res := &Result{}
	var last error
	tried := 0
	for _, t := range plan.Targets {
		if ctx.Err() != nil {
			break
		}
		if !t.Breaker.Allow() {
			if last == nil {
				last = &openai.Error{Code: openai.CodeNoTargets, Provider: t.Provider.Name(),
					Message: fmt.Sprintf("circuit breaker open for %s", t.Key())}
			}
			continue
		}
		if tried > 0 {
			res.Failovers++
		}
		tried++
		for attempt := 0; ; attempt++ {
			if attempt > 0 && !t.Breaker.Allow() {
				break
			}
			res.Attempts++
			actx, cancel := context.WithCancel(ctx)
			// The timeout may only cancel an attempt that has not returned: once
			// it has, a successful stream must keep its context.
			var (
				tmu      sync.Mutex
				finished bool
				timedOut bool
				timer    *time.Timer
			)
			if t.Timeout > 0 {
				timer = time.AfterFunc(t.Timeout, func() {
					tmu.Lock()
					defer tmu.Unlock()
					if !finished {
						timedOut = true
						cancel()
					}
				})
			}
			t.inflight.Add(1)
			t.requests.Add(1)
			start := time.Now()
			err := fn(actx, t)
			tmu.Lock()
			finished = true
			tmu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			if err == nil {
				res.Latency = time.Since(start)
				t.observe(res.Latency)
				res.Target = t
				var once sync.Once
				res.Done = func(err error) {
					once.Do(func() {
						t.inflight.Add(-1)
						ok := err == nil || !isRetryable(err)
						if !ok {
							t.failures.Add(1)
						}
						t.Breaker.Record(ok)
						cancel()
					})
				}
				return res, nil
			}
			t.inflight.Add(-1)
			cancel()
			if timedOut {
				err = &openai.Error{Code: openai.CodeUpstreamTimeout, Provider: t.Provider.Name(), Retryable: true,
					Message: fmt.Sprintf("provider %s did not answer within %s", t.Provider.Name(), t.Timeout)}
			}
			if errors.Is(err, ErrSkipTarget) {
				// The target was never called (e.g. its own rate limit is spent):
				// move on without counting it against the target.
				t.requests.Add(-1)
				t.Breaker.Release()
				if last == nil {
					last = err
				}
				break
			}
			if ctx.Err() != nil && !timedOut {
				// The client went away: no fault of the target's.
				t.Breaker.Record(true)
				last = err
				break
			}
			if !isRetryable(err) {
				// A client error is no fault of the target's.
				t.Breaker.Record(true)
				return res, err
			}
			t.failures.Add(1)
			t.Breaker.Record(false)
			// A failing target must not look fast to lowest_latency.
			t.observe(failurePenalty(t, time.Since(start)))
			last = err
			if ctx.Err() != nil || attempt >= plan.Retry.MaxRetries {
				break
			}
			wait := backoff(plan.Retry, attempt, r.rnd())
			if ra := retryAfter(err); ra > 0 {
				if plan.Retry.MaxBackoff > 0 && ra > plan.Retry.MaxBackoff {
					break // too long to wait here: try the next target
				}
				wait = ra
			}
			if r.sleep(ctx, wait) != nil {
				break
			}
		}
	}
	if ctx.Err() != nil && last == nil {
		last = &openai.Error{Code: openai.CodeUpstreamError, Status: statusClientClosed, Message: "request cancelled"}
	}
	if last == nil {
		last = errNoTargets
	}
	return res, last
}

// failurePenalty is the latency a failed attempt counts as: at least the
// target's timeout (or twice its average), so failing fast never looks fast.
func failurePenalty(t *Target, took time.Duration) time.Duration {
	p := t.Timeout
	if avg := 2 * t.LatencyEWMA(); avg > p {
		p = avg
	}
	if took > p {
		p = took
	}
	if p == 0 {
		p = time.Second
	}
	return p
}

func isRetryable(err error) bool {
	var e *openai.Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return true
}

func retryAfter(err error) time.Duration {
	var e *openai.Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// backoff is exponential with full jitter: uniform in [0, base·2^attempt], capped.
func backoff(p RetryPolicy, attempt int, u float64) time.Duration {
	if p.BaseBackoff <= 0 {
		return 0
	}
	d := p.BaseBackoff << attempt
	if p.MaxBackoff > 0 && (d > p.MaxBackoff || d <= 0) {
		d = p.MaxBackoff
	}
	return time.Duration(u * float64(d))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
