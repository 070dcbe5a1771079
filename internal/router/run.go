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
	// moves on to the next target instead of waiting. Unset (zero), the cap
	// is DefaultRetry's, or BaseBackoff when that is longer.
	MaxBackoff time.Duration
}

// DefaultRetry holds the value of each retry setting the configuration leaves
// unset.
var DefaultRetry = RetryPolicy{MaxRetries: 1, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}

// Attempt makes one call to a target; nil means the target answered. An
// error wrapping ErrSkipTarget moves on to the next target; an *openai.Error
// (wrapped or not) that is not Retryable ends the run with that error; any
// other error is retried on the same target or fails over to the next.
type Attempt func(ctx context.Context, t *Target) error

// Result is what Run reports.
type Result struct {
	// Target is the target that answered.
	Target *Target
	// Tried is the last target called (the one that answered, or the last
	// that failed); nil when none was.
	Tried *Target
	// Attempts counts every try, retries included.
	Attempts int
	// Failovers counts moves to another target.
	Failovers int
	// Latency is the successful attempt's duration: the whole answer for a
	// complete response, the time to the first chunk for a stream.
	Latency time.Duration
	// Done must be called once the response has been delivered (for streams,
	// after the last chunk) with the outcome: it frees the target's in-flight
	// slot, records the outcome on the target's breaker (a retryable error
	// counts as the target's failure) and releases the attempt's context.
	// Later calls do nothing.
	Done func(err error)
}

// ErrSkipTarget, wrapped in an attempt's error, skips the target without
// retrying it or counting a request or failure: Run moves on to the next
// target. An attempt returns it when it did not call the target.
var ErrSkipTarget = errors.New("target skipped")

// statusClientClosed is the status of a run the client gave up on before any
// target answered: nginx's "client closed request".
const statusClientClosed = 499

// errNoTargets is Run's error for a plan without targets.
var errNoTargets = &openai.Error{Code: openai.CodeNoTargets, Message: "no provider is available for this model right now"}

// Run tries the plan's targets in order, each with the plan's retries, until
// one answers, an attempt fails in a way no other target would fix (a client
// error), the client goes away or the targets run out. A target whose circuit
// breaker is open is passed over without an attempt. After a success the
// attempt's context stays alive until Result.Done is called.
//
// When no target answers, the error is the last failed attempt's; when no
// attempt failed, the first passed-over target's (open breaker or skip); when
// there was none, 499 if the client left, else no_available_targets.
func (r *Router) Run(ctx context.Context, plan *Plan, fn Attempt) (*Result, error) {
	res := &Result{}
	var last error // what to report when no target answers
	tried := 0
	for _, t := range plan.Targets {
		if ctx.Err() != nil {
			break
		}
		tk, ok := t.Breaker.Allow()
		if !ok {
			if last == nil {
				last = breakerOpenError(t)
			}
			continue
		}
		if tried > 0 {
			res.Failovers++
		}
		tried++
		res.Tried = t
		over, err := r.tryTarget(ctx, plan.Retry, t, tk, fn, res)
		if over {
			return res, err
		}
		if last == nil || !errors.Is(err, ErrSkipTarget) {
			// A skipped target was never called: an earlier failure says more.
			last = err
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

// tryTarget runs fn on t, whose breaker has let the first attempt through
// with tk, and retries it by policy while its breaker allows. Each attempt
// gives its own ticket back with its outcome. over reports that Run is
// finished: t answered (err is nil and res holds the answer) or failed in a
// way no other target would fix. Otherwise err is why Run moves on.
func (r *Router) tryTarget(ctx context.Context, policy RetryPolicy, t *Target, tk Ticket, fn Attempt, res *Result) (over bool, err error) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			var ok bool
			if tk, ok = t.Breaker.Allow(); !ok {
				return false, err // t's breaker has opened since: move on with the last failure
			}
		}
		res.Attempts++
		actx, cancel := context.WithCancel(ctx)
		t.c.inflight.Add(1)
		t.c.requests.Add(1)
		timer := startAttemptTimer(t.Timeout, cancel)
		err = fn(actx, t)
		timedOut := timer.stop()
		if err == nil {
			res.Target, res.Latency, res.Done = t, timer.elapsed(), doneFunc(ctx, t, tk, cancel)
			t.observe(res.Latency)
			return true, nil
		}
		t.c.inflight.Add(-1)
		cancel()
		if timedOut {
			err = timeoutError(t)
		}
		switch {
		case errors.Is(err, ErrSkipTarget):
			// The target was never called (e.g. its own rate limit is spent):
			// move on without counting it against the target.
			t.c.requests.Add(-1)
			t.Breaker.Release(tk)
			return false, err
		case ctx.Err() != nil && !timedOut:
			// The client went away: no fault of the target's, and no sign of
			// its health either, so a half-open breaker's probe slot goes to
			// the next call and a closed breaker keeps its failure count.
			t.Breaker.Release(tk)
			return false, err
		case !isRetryable(err):
			// A client error is no fault of the target's, and another target
			// would refuse it too.
			settle(t.Breaker, tk, err)
			return true, err
		}
		t.c.failures.Add(1)
		t.Breaker.Record(tk, false)
		// A failing target must not look fast to lowest_latency.
		t.observe(failurePenalty(t, timer.elapsed()))
		if ctx.Err() != nil || attempt >= policy.MaxRetries {
			return false, err
		}
		wait, ok := retryWait(policy, attempt, err, r.rnd())
		if !ok || r.sleep(ctx, wait) != nil {
			return false, err
		}
	}
}

// attemptTimer times one attempt: it cancels the attempt when the target's
// timeout passes before the attempt returns, and measures the attempt's
// latency. Once the attempt has returned the timeout cancels nothing, so a
// stream that started in time keeps its context.
type attemptTimer struct {
	start time.Time
	timer *time.Timer // nil without a timeout

	mu       sync.Mutex
	returned bool
	timedOut bool
}

// startAttemptTimer starts timing an attempt that cancel ends. A zero timeout
// never cancels.
func startAttemptTimer(timeout time.Duration, cancel context.CancelFunc) *attemptTimer {
	at := &attemptTimer{}
	if timeout > 0 {
		at.timer = time.AfterFunc(timeout, func() {
			at.mu.Lock()
			defer at.mu.Unlock()
			if !at.returned {
				at.timedOut = true
				cancel()
			}
		})
	}
	at.start = time.Now()
	return at
}

// stop is called when the attempt returns: from then on the timeout cancels
// nothing. It reports whether the timeout cancelled the attempt.
func (at *attemptTimer) stop() (timedOut bool) {
	at.mu.Lock()
	at.returned = true
	timedOut = at.timedOut
	at.mu.Unlock()
	if at.timer != nil {
		at.timer.Stop()
	}
	return timedOut
}

// elapsed is the time since the attempt started.
func (at *attemptTimer) elapsed() time.Duration { return time.Since(at.start) }

// ErrAbandoned is what to pass Result.Done when the answer's relay ended
// without an outcome of the target's (a panic in the gateway): no outcome is
// recorded and a half-open breaker's trial slot is freed. Deferring
// res.Done(ErrAbandoned) after a successful Run guarantees Done runs; the
// first call counts, so the deferred one does nothing after a normal Done.
var ErrAbandoned = errors.New("router: the answer was abandoned before its outcome was known")

// doneFunc is Result.Done for an attempt on t that answered with ticket tk
// under ctx, the request's: the first call frees the target's in-flight
// slot, records the outcome on its breaker (a retryable error counts as a
// failure of the target; a request that ended first, its client gone or its
// own deadline passed, as no outcome: a stream cut so says nothing of the
// target's health) and cancels the attempt's context; later calls do
// nothing.
func doneFunc(ctx context.Context, t *Target, tk Ticket, cancel context.CancelFunc) func(err error) {
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			t.c.inflight.Add(-1)
			defer cancel()
			if ctx.Err() != nil {
				t.Breaker.Release(tk)
				return
			}
			if err != nil && isRetryable(err) {
				t.c.failures.Add(1)
			}
			settle(t.Breaker, tk, err)
		})
	}
}

// settle records on b the outcome of the call allowed with tk that ended
// with err (nil: it answered). A retryable error is the target's failure;
// the client-closed status says nothing about the target, so it records no
// outcome (the probe slot tk holds, if any, is freed for the next call); any
// other error is the client's and shows the target answering.
func settle(b *Breaker, tk Ticket, err error) {
	switch {
	case err == nil:
		b.Record(tk, true)
	case clientClosed(err) || errors.Is(err, ErrAbandoned):
		b.Release(tk)
	default:
		b.Record(tk, !isRetryable(err))
	}
}

// clientClosed reports whether err is an *openai.Error (wrapped or not) with
// the status of a call the client gave up on.
func clientClosed(err error) bool {
	var e *openai.Error
	return errors.As(err, &e) && e.Status == statusClientClosed
}

// breakerOpenError reports that t's circuit breaker refused the call.
func breakerOpenError(t *Target) error {
	return &openai.Error{Code: openai.CodeNoTargets, Provider: t.Provider.Name(),
		Message: fmt.Sprintf("circuit breaker open for %s", t.Key())}
}

// timeoutError reports that t did not answer within its timeout; another
// target may.
func timeoutError(t *Target) error {
	return &openai.Error{Code: openai.CodeUpstreamTimeout, Provider: t.Provider.Name(), Retryable: true,
		Message: fmt.Sprintf("provider %s did not answer within %s", t.Provider.Name(), t.Timeout)}
}

// retryWait is how long to wait before retrying after err: the upstream's
// Retry-After when it sent one, else the policy's backoff for this attempt
// (u is the jitter draw). ok is false when Retry-After asks for longer than
// the policy's longest wait: the next target is tried instead of waiting.
func retryWait(p RetryPolicy, attempt int, err error, u float64) (wait time.Duration, ok bool) {
	if ra := retryAfter(err); ra > 0 {
		if ra > p.maxWait() {
			return 0, false
		}
		return ra, true
	}
	return backoff(p, attempt, u), true
}

// failurePenalty is the latency a failed attempt counts as: at least the
// target's timeout (or twice its average), so failing fast never looks fast.
func failurePenalty(t *Target, took time.Duration) time.Duration {
	p := t.Timeout
	if avg := 2 * t.LatencyEWMA(); avg > p {
		p = avg
	}
	if p == 0 {
		// No timeout and no history to go on: a fast failure must still not
		// look like a fast answer.
		p = time.Second
	}
	return max(p, took)
}

// isRetryable reports whether another try (this target or the next) may
// succeed where err failed: an *openai.Error says so itself, and any other
// error is taken as retryable.
func isRetryable(err error) bool {
	var e *openai.Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return true
}

// retryAfter is the wait the upstream asked for in err (zero when none).
func retryAfter(err error) time.Duration {
	var e *openai.Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// backoff is exponential with full jitter: uniform in [0, base·2^attempt],
// capped at the policy's longest wait. The doubling is compared with the cap
// before it is made, so it cannot overflow.
func backoff(p RetryPolicy, attempt int, u float64) time.Duration {
	if p.BaseBackoff <= 0 {
		return 0
	}
	d := p.maxWait()
	if attempt < 63 && p.BaseBackoff <= d>>attempt {
		d = p.BaseBackoff << attempt
	}
	return time.Duration(u * float64(d))
}

// maxWait is the longest wait, backoff or Retry-After: MaxBackoff, or when
// it is unset the default's (the base backoff when that is longer), so that
// no wait is unbounded.
func (p RetryPolicy) maxWait() time.Duration {
	if p.MaxBackoff > 0 {
		return p.MaxBackoff
	}
	return max(DefaultRetry.MaxBackoff, p.BaseBackoff)
}

// sleepCtx waits d, or until ctx ends (then it returns ctx's error).
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
