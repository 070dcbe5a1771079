package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// Errors as the providers' shared plumbing produces them.
func statusErr(name string, status int, h http.Header) *openai.Error {
	return provider.StatusError(name, status, h, []byte(`{"error":{"message":"upstream says no"}}`), nil)
}

func retryAfter429(name, secs string) *openai.Error {
	return statusErr(name, http.StatusTooManyRequests, header("Retry-After", secs))
}

func plan(tb testing.TB, r *Router, retry RetryPolicy, keys ...string) *Plan {
	tb.Helper()
	p := &Plan{Retry: retry}
	for _, k := range keys {
		p.Targets = append(p.Targets, target(tb, r, k))
	}
	return p
}

func TestRunFailsOverOnRetryableErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{name: "a 500 fails over", err: statusErr("a", 500, nil)},
		{name: "a 503 fails over", err: statusErr("a", 503, nil)},
		{name: "a 429 fails over", err: statusErr("a", 429, nil)},
		{name: "an upstream 504 fails over", err: statusErr("a", 504, nil)},
		{name: "an upstream 408 fails over", err: statusErr("a", 408, nil)},
		{name: "refused credentials fail over", err: statusErr("a", 401, nil)},
		{name: "a transport timeout fails over", err: provider.TransportError(context.Background(), "a", context.DeadlineExceeded)},
		{name: "a connection error fails over", err: provider.TransportError(context.Background(), "a", errors.New("dial tcp: connection refused"))},
		{name: "an unclassified Go error fails over", err: errors.New("something odd")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, c := newFake("a", tt.err), newFake("b", tt.err), newFake("c")
			r, _ := newTestRouter(a, b, c)
			res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{}, "a/x", "b/x", "c/x"), chat)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			defer res.Done(nil)
			if res.Target.Key() != "c/x" {
				t.Errorf("answered by %s, want c/x", res.Target.Key())
			}
			if res.Attempts != 3 || res.Failovers != 2 {
				t.Errorf("attempts %d failovers %d, want 3 and 2", res.Attempts, res.Failovers)
			}
			if a.Calls() != 1 || b.Calls() != 1 || c.Calls() != 1 {
				t.Errorf("calls a=%d b=%d c=%d, want one each in order", a.Calls(), b.Calls(), c.Calls())
			}
		})
	}
}

func TestRunReturnsClientErrorsWithoutFailover(t *testing.T) {
	for _, status := range []int{400, 404, 409, 413, 422} {
		t.Run(http.StatusText(status)+" is returned at once", func(t *testing.T) {
			a, b := newFake("a", statusErr("a", status, nil)), newFake("b")
			r, sl := newTestRouter(a, b)
			res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{MaxRetries: 3}, "a/x", "b/x"), chat)
			e := asError(t, err)
			if e.HTTPStatus() != status {
				t.Errorf("status %d, want the upstream's %d", e.HTTPStatus(), status)
			}
			if res.Attempts != 1 || res.Failovers != 0 || b.Calls() != 0 || len(sl.Waits()) != 0 {
				t.Errorf("attempts %d failovers %d, b called %d times, %d waits; want 1, 0, 0, 0",
					res.Attempts, res.Failovers, b.Calls(), len(sl.Waits()))
			}
			if got := target(t, r, "a/x").Breaker.Snapshot().ConsecutiveFails; got != 0 {
				t.Errorf("a client error counted as a breaker failure (%d)", got)
			}
		})
	}
}

func TestRunRetriesTheSameTargetWithBackoff(t *testing.T) {
	const base = 100 * time.Millisecond
	tests := []struct {
		name  string
		draws []float64
		retry RetryPolicy
		want  []time.Duration
	}{
		{name: "each wait is the draw times base doubled per retry",
			draws: []float64{0.5, 0.5, 0.5}, retry: RetryPolicy{MaxRetries: 3, BaseBackoff: base, MaxBackoff: 10 * time.Second},
			want: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "each retry draws its own jitter",
			draws: []float64{0.25, 0.75, 1}, retry: RetryPolicy{MaxRetries: 3, BaseBackoff: base, MaxBackoff: 10 * time.Second},
			want: []time.Duration{25 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond}},
		{name: "a zero draw waits nothing",
			draws: []float64{0}, retry: RetryPolicy{MaxRetries: 2, BaseBackoff: base, MaxBackoff: 10 * time.Second},
			want: []time.Duration{0, 0}},
		{name: "max backoff caps the doubled wait",
			draws: []float64{0.5}, retry: RetryPolicy{MaxRetries: 3, BaseBackoff: base, MaxBackoff: 150 * time.Millisecond},
			want: []time.Duration{50 * time.Millisecond, 75 * time.Millisecond, 75 * time.Millisecond}},
		{name: "no base backoff retries without waiting",
			draws: []float64{0.5}, retry: RetryPolicy{MaxRetries: 2},
			want: []time.Duration{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newFake("a", statusErr("a", 502, nil)), newFake("b")
			r, sl := newTestRouter(a, b)
			r.rnd = seq(tt.draws...)
			res, err := r.Run(context.Background(), plan(t, r, tt.retry, "a/x", "b/x"), chat)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Done(nil)
			if a.Calls() != tt.retry.MaxRetries+1 {
				t.Errorf("a was called %d times, want 1 + %d retries", a.Calls(), tt.retry.MaxRetries)
			}
			if res.Attempts != tt.retry.MaxRetries+2 || res.Failovers != 1 {
				t.Errorf("attempts %d failovers %d, want %d and 1", res.Attempts, res.Failovers, tt.retry.MaxRetries+2)
			}
			waits := sl.Waits()
			if len(waits) != len(tt.want) {
				t.Fatalf("waits = %v, want %v", waits, tt.want)
			}
			for i, w := range waits {
				limit := tt.retry.BaseBackoff << i
				if tt.retry.MaxBackoff > 0 && limit > tt.retry.MaxBackoff {
					limit = tt.retry.MaxBackoff
				}
				if w < 0 || w > limit {
					t.Errorf("wait %d = %v, outside [0, %v]", i, w, limit)
				}
				if w != tt.want[i] {
					t.Errorf("wait %d = %v, want %v", i, w, tt.want[i])
				}
			}
		})
	}
}

func TestBackoffNeverOverflows(t *testing.T) {
	p := RetryPolicy{BaseBackoff: time.Second, MaxBackoff: time.Minute}
	for attempt := range 70 {
		if d := backoff(p, attempt, 0.999); d < 0 || d > time.Minute {
			t.Fatalf("attempt %d: backoff %v outside [0, 1m]", attempt, d)
		}
	}
}

// TestBackoffWithoutMaxBackoffNeverOverflows pins that an unset MaxBackoff
// caps the doubling at the default's (or the base, when larger) instead of
// letting base·2^attempt overflow into negative or centuries-long waits.
func TestBackoffWithoutMaxBackoffNeverOverflows(t *testing.T) {
	for _, base := range []time.Duration{time.Nanosecond, 100 * time.Millisecond, time.Second, time.Minute} {
		p := RetryPolicy{BaseBackoff: base}
		limit := max(DefaultRetry.MaxBackoff, base)
		prev := time.Duration(0)
		for attempt := range 70 {
			d := backoff(p, attempt, 0.999)
			if d < prev || d > limit {
				t.Fatalf("base %v, attempt %d: backoff %v, want in [%v, %v]", base, attempt, d, prev, limit)
			}
			prev = d
		}
	}
}

func TestRunHonoursRetryAfter(t *testing.T) {
	retry := RetryPolicy{MaxRetries: 2, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}
	tests := []struct {
		name       string
		err        error
		wantWaits  []time.Duration
		wantACalls int
		wantTarget string
	}{
		{name: "a Retry-After within max backoff is waited exactly, then the same target is retried",
			err: retryAfter429("a", "2"), wantWaits: []time.Duration{2 * time.Second}, wantACalls: 2, wantTarget: "a/x"},
		{name: "a Retry-After equal to max backoff is still waited",
			err: retryAfter429("a", "5"), wantWaits: []time.Duration{5 * time.Second}, wantACalls: 2, wantTarget: "a/x"},
		{name: "a 503 with Retry-After is honoured too",
			err: statusErr("a", 503, header("Retry-After", "1")), wantWaits: []time.Duration{time.Second}, wantACalls: 2, wantTarget: "a/x"},
		{name: "a Retry-After beyond max backoff skips to the next target without waiting",
			err: retryAfter429("a", "30"), wantWaits: nil, wantACalls: 1, wantTarget: "b/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newFake("a", tt.err, nil), newFake("b")
			r, sl := newTestRouter(a, b)
			res, err := r.Run(context.Background(), plan(t, r, retry, "a/x", "b/x"), chat)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Done(nil)
			if res.Target.Key() != tt.wantTarget {
				t.Errorf("answered by %s, want %s", res.Target.Key(), tt.wantTarget)
			}
			if a.Calls() != tt.wantACalls {
				t.Errorf("a called %d times, want %d", a.Calls(), tt.wantACalls)
			}
			if got := sl.Waits(); !equalDurations(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// slow blocks until the attempt's context ends and reports it the way the
// providers' transport plumbing does.
func slow(name string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		return provider.TransportError(ctx, name, ctx.Err())
	}
}

func TestRunTimesOutASlowTarget(t *testing.T) {
	t.Run("a slow attempt becomes a 504 upstream_timeout", func(t *testing.T) {
		a := newFake("a")
		a.hook = slow("a")
		r, _ := newTestRouter(a)
		if _, err := r.Target("a", "x", 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{}, "a/x"), chat)
		e := asError(t, err)
		if e.Code != openai.CodeUpstreamTimeout || e.HTTPStatus() != http.StatusGatewayTimeout || !e.Retryable {
			t.Errorf("error = %v (status %d, retryable %v), want a retryable 504 upstream_timeout", e, e.HTTPStatus(), e.Retryable)
		}
		if e.Provider != "a" {
			t.Errorf("error names provider %q, want a", e.Provider)
		}
		if res.Attempts != 1 {
			t.Errorf("attempts %d, want 1", res.Attempts)
		}
		if got := target(t, r, "a/x").InFlight(); got != 0 {
			t.Errorf("in-flight after a timeout = %d, want 0", got)
		}
	})
	t.Run("a slow attempt fails over to the next target", func(t *testing.T) {
		a, b := newFake("a"), newFake("b")
		a.hook = slow("a")
		r, _ := newTestRouter(a, b)
		if _, err := r.Target("a", "x", 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{}, "a/x", "b/x"), chat)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Done(nil)
		if res.Target.Key() != "b/x" || res.Attempts != 2 || res.Failovers != 1 {
			t.Errorf("answered by %s after %d attempts and %d failovers, want b/x, 2, 1",
				res.Target.Key(), res.Attempts, res.Failovers)
		}
	})
	t.Run("a successful attempt's context outlives the timeout until Done", func(t *testing.T) {
		a := newFake("a")
		var actx context.Context
		a.hook = func(ctx context.Context) error { actx = ctx; return nil }
		r, _ := newTestRouter(a)
		if _, err := r.Target("a", "x", 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{}, "a/x"), chat)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // well past the target's timeout
		if actx.Err() != nil {
			t.Errorf("the stream's context was cancelled before Done: %v", actx.Err())
		}
		res.Done(nil)
		if actx.Err() == nil {
			t.Error("Done did not release the attempt's context")
		}
	})
}

func TestRunCountsAttemptsAndFailovers(t *testing.T) {
	e500 := statusErr("x", 500, nil)
	tests := []struct {
		name          string
		scripts       [3][]error
		maxRetries    int
		wantTarget    string
		wantAttempts  int
		wantFailovers int
	}{
		{name: "a first-try success is one attempt and no failover",
			wantTarget: "a/x", wantAttempts: 1, wantFailovers: 0},
		{name: "a success on retry counts the retry as an attempt",
			scripts: [3][]error{{e500, nil}}, maxRetries: 2, wantTarget: "a/x", wantAttempts: 2, wantFailovers: 0},
		{name: "exhausted retries then a failover",
			scripts: [3][]error{{e500}}, maxRetries: 2, wantTarget: "b/x", wantAttempts: 4, wantFailovers: 1},
		{name: "two failed targets are two failovers",
			scripts: [3][]error{{e500}, {e500}}, maxRetries: 1, wantTarget: "c/x", wantAttempts: 5, wantFailovers: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTestRouter(newFake("a", tt.scripts[0]...), newFake("b", tt.scripts[1]...), newFake("c", tt.scripts[2]...))
			res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{MaxRetries: tt.maxRetries}, "a/x", "b/x", "c/x"), chat)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Done(nil)
			if res.Target.Key() != tt.wantTarget || res.Attempts != tt.wantAttempts || res.Failovers != tt.wantFailovers {
				t.Errorf("got %s, %d attempts, %d failovers; want %s, %d, %d",
					res.Target.Key(), res.Attempts, res.Failovers, tt.wantTarget, tt.wantAttempts, tt.wantFailovers)
			}
		})
	}
}

func TestRunReturnsTheLastErrorWhenEveryTargetFails(t *testing.T) {
	ea, eb := statusErr("a", 500, nil), statusErr("b", 503, nil)
	r, _ := newTestRouter(newFake("a", ea), newFake("b", eb))
	res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{MaxRetries: 1}, "a/x", "b/x"), chat)
	if err != eb {
		t.Errorf("error = %v, want b's %v", err, eb)
	}
	if res.Target != nil || res.Done != nil {
		t.Error("a failed run reports a target or a Done")
	}
	if res.Attempts != 4 || res.Failovers != 1 {
		t.Errorf("attempts %d failovers %d, want 4 and 1", res.Attempts, res.Failovers)
	}
	for _, k := range []string{"a/x", "b/x"} {
		s := target(t, r, k).Stats()
		if s.Requests != 2 || s.Failures != 2 || s.InFlight != 0 {
			t.Errorf("%s stats = %+v, want 2 requests, 2 failures, none in flight", k, s)
		}
	}
}

func TestDoneReleasesTheTarget(t *testing.T) {
	tests := []struct {
		name        string
		outcome     error
		wantBreaker string
		wantFails   int64
	}{
		{name: "Done with success keeps the breaker closed", outcome: nil, wantBreaker: "closed", wantFails: 0},
		{name: "Done with a client error is no fault of the target", outcome: statusErr("a", 400, nil), wantBreaker: "closed", wantFails: 0},
		{name: "Done with a retryable error counts as a target failure", outcome: statusErr("a", 502, nil), wantBreaker: "open", wantFails: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTestRouter(newFake("a"))
			tg := target(t, r, "a/x")
			tg.Breaker = NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour}, newClock().now)
			res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{}, "a/x"), chat)
			if err != nil {
				t.Fatal(err)
			}
			if got := tg.InFlight(); got != 1 {
				t.Errorf("in-flight before Done = %d, want 1 (a stream is still being delivered)", got)
			}
			res.Done(tt.outcome)
			res.Done(tt.outcome) // a second call changes nothing
			if got := tg.InFlight(); got != 0 {
				t.Errorf("in-flight after Done = %d, want 0", got)
			}
			if got := tg.Breaker.State().String(); got != tt.wantBreaker {
				t.Errorf("breaker %s, want %s", got, tt.wantBreaker)
			}
			if got := tg.Stats().Failures; got != tt.wantFails {
				t.Errorf("failures = %d, want %d", got, tt.wantFails)
			}
		})
	}
}

func TestRunStopsWhenTheClientGoesAway(t *testing.T) {
	t.Run("a context cancelled before the run makes no attempt", func(t *testing.T) {
		a := newFake("a")
		r, _ := newTestRouter(a)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := r.Run(ctx, plan(t, r, RetryPolicy{}, "a/x"), chat)
		if e := asError(t, err); e.HTTPStatus() != 499 {
			t.Errorf("error %v has status %d, want 499", e, e.HTTPStatus())
		}
		if a.Calls() != 0 || res.Attempts != 0 {
			t.Errorf("a called %d times, %d attempts; want none", a.Calls(), res.Attempts)
		}
	})
	t.Run("a cancel during an attempt stops retries and failover", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, b := newFake("a", statusErr("a", 503, nil)), newFake("b")
		a.hook = func(context.Context) error { cancel(); return nil }
		r, sl := newTestRouter(a, b)
		res, err := r.Run(ctx, plan(t, r, RetryPolicy{MaxRetries: 3}, "a/x", "b/x"), chat)
		if err == nil {
			t.Fatal("a cancelled run succeeded")
		}
		if a.Calls() != 1 || b.Calls() != 0 || res.Attempts != 1 || len(sl.Waits()) != 0 {
			t.Errorf("a=%d b=%d calls, %d attempts, %d waits; want 1, 0, 1, 0",
				a.Calls(), b.Calls(), res.Attempts, len(sl.Waits()))
		}
	})
	t.Run("a cancel during backoff stops the loop", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, b := newFake("a", statusErr("a", 503, nil)), newFake("b")
		r, _ := newTestRouter(a, b)
		r.sleep = func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }
		_, err := r.Run(ctx, plan(t, r, RetryPolicy{MaxRetries: 3, BaseBackoff: time.Second}, "a/x", "b/x"), chat)
		if err == nil {
			t.Fatal("a cancelled run succeeded")
		}
		if a.Calls() != 1 || b.Calls() != 0 {
			t.Errorf("a=%d b=%d calls, want 1 and 0", a.Calls(), b.Calls())
		}
	})
	t.Run("a client that leaves mid-attempt is not a breaker failure", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		a, b := newFake("a"), newFake("b")
		a.hook = func(actx context.Context) error { cancel(); return slow("a")(actx) }
		r, _ := newTestRouter(a, b)
		_, err := r.Run(ctx, plan(t, r, RetryPolicy{MaxRetries: 3}, "a/x", "b/x"), chat)
		if e := asError(t, err); e.HTTPStatus() != 499 {
			t.Errorf("error %v has status %d, want 499", e, e.HTTPStatus())
		}
		if got := target(t, r, "a/x").Breaker.Snapshot().ConsecutiveFails; got != 0 {
			t.Errorf("the client's cancel counted as %d breaker failure(s)", got)
		}
		if b.Calls() != 0 {
			t.Errorf("b called %d times after the client left", b.Calls())
		}
	})
}

func TestRunSkipsOpenBreakers(t *testing.T) {
	trip := func(tg *Target) {
		tg.Breaker = NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour}, newClock().now)
		call(tg.Breaker, false)
	}
	t.Run("an open target is skipped without an attempt or a failover", func(t *testing.T) {
		a, b := newFake("a"), newFake("b")
		r, _ := newTestRouter(a, b)
		trip(target(t, r, "a/x"))
		res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{}, "a/x", "b/x"), chat)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Done(nil)
		if a.Calls() != 0 || res.Target.Key() != "b/x" || res.Attempts != 1 || res.Failovers != 0 {
			t.Errorf("a called %d times; answered by %s after %d attempts, %d failovers; want 0, b/x, 1, 0",
				a.Calls(), res.Target.Key(), res.Attempts, res.Failovers)
		}
	})
	t.Run("every breaker open is 503 no_available_targets", func(t *testing.T) {
		a, b := newFake("a"), newFake("b")
		r, _ := newTestRouter(a, b)
		trip(target(t, r, "a/x"))
		trip(target(t, r, "b/x"))
		_, err := r.Run(context.Background(), plan(t, r, RetryPolicy{}, "a/x", "b/x"), chat)
		e := asError(t, err)
		if e.Code != openai.CodeNoTargets || e.HTTPStatus() != http.StatusServiceUnavailable {
			t.Errorf("error = %v (status %d), want 503 %s", e, e.HTTPStatus(), openai.CodeNoTargets)
		}
		if a.Calls()+b.Calls() != 0 {
			t.Error("a target with an open breaker was called")
		}
	})
	t.Run("a breaker that opens during retries moves on to the next target", func(t *testing.T) {
		a, b := newFake("a", statusErr("a", 500, nil)), newFake("b")
		r, _ := newTestRouter(a, b)
		target(t, r, "a/x").Breaker = NewBreaker(BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Hour}, newClock().now)
		res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{MaxRetries: 5}, "a/x", "b/x"), chat)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Done(nil)
		if a.Calls() != 2 || res.Target.Key() != "b/x" {
			t.Errorf("a called %d times, answered by %s; want 2 and b/x", a.Calls(), res.Target.Key())
		}
	})
}

func TestConcurrentRunsKeepCountsBalanced(t *testing.T) {
	r, _ := newTestRouter(newFake("a", statusErr("a", 500, nil), nil), newFake("b"))
	rt := addRoute(t, r, "m", StrategyLeastBusy, "a/x", "b/x")
	rt.Retry = &RetryPolicy{MaxRetries: 1}
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			p, err := r.Resolve(&Request{Model: "m"}, "")
			if err != nil {
				t.Error(err)
				return
			}
			res, err := r.Run(context.Background(), p, chat)
			if err != nil {
				t.Error(err)
				return
			}
			res.Done(nil)
		})
	}
	wg.Wait()
	var requests int64
	for _, tg := range r.Targets() {
		if tg.InFlight() != 0 {
			t.Errorf("%s has %d in flight after every run is done", tg.Key(), tg.InFlight())
		}
		requests += tg.Stats().Requests
	}
	if requests != 65 { // 64 runs, one of which retried once
		t.Errorf("requests = %d, want 65", requests)
	}
}

func TestSleepCtx(t *testing.T) {
	if err := sleepCtx(context.Background(), 0); err != nil {
		t.Errorf("a zero wait returned %v", err)
	}
	if err := sleepCtx(context.Background(), time.Microsecond); err != nil {
		t.Errorf("a short wait returned %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("a wait on a cancelled context returned %v, want context.Canceled at once", err)
	}
	if err := sleepCtx(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("a zero wait on a cancelled context returned %v, want context.Canceled", err)
	}
}

func TestAFailingTargetDoesNotLookFastToLowestLatency(t *testing.T) {
	fast := newFake("fast", statusErr("fast", 500, nil))
	slowOK := newFake("slow")
	r := New([]provider.Provider{fast, slowOK}, Options{Retry: RetryPolicy{}, Breaker: BreakerConfig{}})
	p := plan(t, r, RetryPolicy{}, "fast/m", "slow/m")
	res, err := r.Run(context.Background(), p, chat)
	if err != nil {
		t.Fatal(err)
	}
	res.Done(nil)
	ft, _ := r.Target("fast", "m", 0)
	st, _ := r.Target("slow", "m", 0)
	if ft.LatencyEWMA() <= st.LatencyEWMA() {
		t.Fatalf("failing target EWMA %v is not above the healthy one's %v", ft.LatencyEWMA(), st.LatencyEWMA())
	}
}

func TestAClientThatLeavesDoesNotCountAgainstTheTarget(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := newFake("a")
	f.hook = func(context.Context) error {
		cancel()
		return context.Canceled // a plain error, as a provider may return when its context ends
	}
	r := New([]provider.Provider{f}, Options{Breaker: BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour}})
	_, err := r.Run(ctx, plan(t, r, RetryPolicy{}, "a/m"), chat)
	if err == nil {
		t.Fatal("want an error")
	}
	tg, _ := r.Target("a", "m", 0)
	if st := tg.Breaker.State(); st != Closed {
		t.Fatalf("breaker %s after a client cancellation, want closed", st)
	}
	if tg.Stats().Failures != 0 {
		t.Fatalf("failures = %d, want 0", tg.Stats().Failures)
	}
}

// skipErr wraps ErrSkipTarget as a gateway attempt does for an exhausted target limit.
type skipErr struct{ e *openai.Error }

func (s skipErr) Error() string   { return s.e.Error() }
func (s skipErr) Unwrap() []error { return []error{s.e, ErrSkipTarget} }

func TestASkippedTargetMovesOnWithoutRetryOrBreakerFailure(t *testing.T) {
	a := newFake("a", skipErr{e: &openai.Error{Code: openai.CodeRateLimited, Message: "target limit", Retryable: true}})
	b := newFake("b")
	r := New([]provider.Provider{a, b}, Options{Breaker: BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour}})
	res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{MaxRetries: 3}, "a/m", "b/m"), chat)
	if err != nil {
		t.Fatal(err)
	}
	res.Done(nil)
	if a.Calls() != 1 || res.Target.Provider.Name() != "b" {
		t.Fatalf("a called %d times, answered by %s", a.Calls(), res.Target.Provider.Name())
	}
	ta, _ := r.Target("a", "m", 0)
	if ta.Breaker.State() != Closed || ta.Stats().Failures != 0 || ta.Stats().Requests != 0 {
		t.Fatalf("skipped target stats %+v", ta.Stats())
	}
}

// TestAProbeWhoseClientLeftNeitherClosesNorReopensTheBreaker pins that a
// half-open breaker's trial call says nothing about the target when the
// client went away: the breaker stays half-open and the next call probes.
func TestAProbeWhoseClientLeftNeitherClosesNorReopensTheBreaker(t *testing.T) {
	halfOpen := func(t *testing.T, r *Router) *Target {
		t.Helper()
		tg := target(t, r, "a/x")
		c := newClock()
		tg.Breaker = NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour}, c.now)
		call(tg.Breaker, false)
		c.advance(time.Hour)
		if st := tg.Breaker.State(); st != HalfOpen {
			t.Fatalf("breaker is %s, want half_open", st)
		}
		return tg
	}
	check := func(t *testing.T, tg *Target) {
		t.Helper()
		if st := tg.Breaker.State(); st != HalfOpen {
			t.Errorf("breaker is %s after a probe whose client left, want half_open", st)
		}
		if !allows(tg.Breaker) {
			t.Error("the probe's slot was not given back: the next call cannot probe")
		}
	}
	t.Run("the client cancels during the probe", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		a := newFake("a")
		a.hook = func(actx context.Context) error { cancel(); return slow("a")(actx) }
		r, _ := newTestRouter(a)
		tg := halfOpen(t, r)
		if _, err := r.Run(ctx, plan(t, r, RetryPolicy{}, "a/x"), chat); err == nil {
			t.Fatal("a cancelled run succeeded")
		}
		check(t, tg)
	})
	for _, deliver := range []error{nil, statusErr("a", 500, nil)} {
		// A stream whose request ended first (the client gone mid-stream, or
		// the request's own deadline passed) is delivered with whatever the
		// relay saw: no outcome either way.
		t.Run(fmt.Sprintf("the probe answers, the client leaves mid-stream, the delivery says %v", deliver), func(t *testing.T) {
			r, _ := newTestRouter(newFake("a"))
			tg := halfOpen(t, r)
			ctx, cancel := context.WithCancel(context.Background())
			res, err := r.Run(ctx, plan(t, r, RetryPolicy{}, "a/x"), chat)
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			res.Done(deliver)
			check(t, tg)
		})
	}
	t.Run("the probe answers and its relay is abandoned (a panic: the deferred Done)", func(t *testing.T) {
		r, _ := newTestRouter(newFake("a"))
		tg := halfOpen(t, r)
		res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{}, "a/x"), chat)
		if err != nil {
			t.Fatal(err)
		}
		res.Done(ErrAbandoned)
		check(t, tg)
	})
	t.Run("the probe answers but the delivery ends with the client closed status", func(t *testing.T) {
		r, _ := newTestRouter(newFake("a"))
		tg := halfOpen(t, r)
		res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{}, "a/x"), chat)
		if err != nil {
			t.Fatal(err)
		}
		res.Done(&openai.Error{Code: openai.CodeUpstreamError, Status: statusClientClosed, Message: "request cancelled"})
		check(t, tg)
	})
	t.Run("in a closed breaker a client that leaves does not reset the failure count", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		a := newFake("a", statusErr("a", 500, nil), statusErr("a", 500, nil), nil, statusErr("a", 500, nil))
		r, _ := newTestRouter(a)
		tg := target(t, r, "a/x")
		tg.Breaker = NewBreaker(BreakerConfig{FailureThreshold: 3, RecoveryTimeout: time.Hour}, newClock().now)
		p := plan(t, r, RetryPolicy{}, "a/x")
		r.Run(context.Background(), p, chat)
		r.Run(context.Background(), p, chat)
		a.hook = func(actx context.Context) error { cancel(); return slow("a")(actx) }
		r.Run(ctx, p, chat)
		a.hook = nil
		r.Run(context.Background(), p, chat)
		if st := tg.Breaker.State(); st != Open {
			t.Errorf("breaker is %s after three failures with a client cancel between, want open", st)
		}
	})
}

// TestARouteCanAskForNoRetries pins that a route's explicit policy of no
// retries (and no backoff) is kept, not taken for "unset" and replaced by the
// router's default; a route without a policy still gets the default.
func TestARouteCanAskForNoRetries(t *testing.T) {
	a, b := newFake("a", statusErr("a", 503, nil)), newFake("b")
	r := New([]provider.Provider{a, b}, Options{Retry: RetryPolicy{MaxRetries: 3}})
	r.sleep = (&sleepLog{}).sleep
	none := &Route{Name: "none", Retry: &RetryPolicy{}, Targets: []WeightedTarget{wt(t, r, "a/x", 1), wt(t, r, "b/x", 1)}}
	if err := r.AddRoute(none); err != nil {
		t.Fatal(err)
	}
	p, err := r.Resolve(&Request{Model: "none"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Retry.MaxRetries != 0 {
		t.Errorf("plan retries = %d, want the route's 0", p.Retry.MaxRetries)
	}
	res, err := r.Run(context.Background(), p, chat)
	if err != nil {
		t.Fatal(err)
	}
	res.Done(nil)
	if a.Calls() != 1 {
		t.Errorf("a was called %d times, want once: the route asked for no retries", a.Calls())
	}
	addRoute(t, r, "unset", StrategyFallback, "a/x")
	p, err = r.Resolve(&Request{Model: "unset"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Retry.MaxRetries != 3 {
		t.Errorf("a route without a policy plans %d retries, want the router's 3", p.Retry.MaxRetries)
	}
}

// TestAnUnsetMaxBackoffStillBoundsRetryAfter pins that a Retry-After longer
// than the longest wait moves on to the next target when MaxBackoff is
// unset too, instead of waiting whatever the upstream asks.
func TestAnUnsetMaxBackoffStillBoundsRetryAfter(t *testing.T) {
	a, b := newFake("a", retryAfter429("a", "3600"), nil), newFake("b")
	r, sl := newTestRouter(a, b)
	res, err := r.Run(context.Background(), plan(t, r, RetryPolicy{MaxRetries: 1, BaseBackoff: 100 * time.Millisecond}, "a/x", "b/x"), chat)
	if err != nil {
		t.Fatal(err)
	}
	res.Done(nil)
	if waits := sl.Waits(); len(waits) != 0 || res.Target.Key() != "b/x" {
		t.Errorf("waits %v, answered by %s; want no wait and b/x", waits, res.Target.Key())
	}
}

// clientLeft is the outcome Done gets when the client went away during the
// delivery: no verdict on the target.
var clientLeft = &openai.Error{Code: openai.CodeUpstreamError, Status: statusClientClosed, Message: "request cancelled"}

// withBreaker gives a/x a breaker that opens on one failure and lets
// halfOpenMax trials through after an hour of the returned clock.
func withBreaker(t *testing.T, r *Router, halfOpenMax int) (*Target, *clock) {
	t.Helper()
	tg := target(t, r, "a/x")
	c := newClock()
	tg.Breaker = NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour, HalfOpenMaxCalls: halfOpenMax}, c.now)
	return tg, c
}

// admitted runs p and fails the test unless a target answered; the
// result's Done is left to the caller, as for a stream being delivered.
func admitted(t *testing.T, r *Router, p *Plan) *Result {
	t.Helper()
	res, err := r.Run(context.Background(), p, chat)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// refused checks that a run over p is turned away by a's breaker without a call.
func refused(t *testing.T, r *Router, p *Plan, a *fakeProvider) {
	t.Helper()
	calls := a.Calls()
	res, err := r.Run(context.Background(), p, chat)
	if err == nil {
		res.Done(nil)
		t.Fatal("the breaker let one more trial through than it has slots")
	}
	if e := asError(t, err); e.Code != openai.CodeNoTargets || a.Calls() != calls {
		t.Fatalf("error %v after %d new calls, want the open breaker's refusal and none", e, a.Calls()-calls)
	}
}

// staleOutcomes are the ways a delivery can end, each a stale result once
// the breaker has changed state since the call was admitted.
var staleOutcomes = []struct {
	name string
	err  error
}{
	{name: "success", err: nil},
	{name: "client error", err: statusErr("a", 400, nil)},
	{name: "retryable error", err: statusErr("a", 502, nil)},
	{name: "client left", err: clientLeft},
}

// TestADeliveryFromBeforeTheBreakerOpenedDoesNotJudgeTheTrial pins that a
// call admitted while the breaker was closed (a long stream) and finished
// after it opened and went half-open frees no trial slot, since it held
// none, and neither closes nor reopens the breaker: the trial decides.
func TestADeliveryFromBeforeTheBreakerOpenedDoesNotJudgeTheTrial(t *testing.T) {
	for _, tt := range staleOutcomes {
		t.Run(tt.name, func(t *testing.T) {
			a := newFake("a", nil, statusErr("a", 500, nil), nil)
			r, _ := newTestRouter(a)
			tg, c := withBreaker(t, r, 1)
			p := plan(t, r, RetryPolicy{}, "a/x")
			stream := admitted(t, r, p)
			if _, err := r.Run(context.Background(), p, chat); err == nil || tg.Breaker.State() != Open {
				t.Fatalf("a failure left the breaker %s, want open", tg.Breaker.State())
			}
			c.advance(time.Hour)
			trial := admitted(t, r, p)
			stream.Done(tt.err)
			if got := tg.Breaker.State(); got != HalfOpen {
				t.Fatalf("breaker %s after the stream from before it opened ended, want half_open", got)
			}
			refused(t, r, p, a)
			trial.Done(nil)
			if got := tg.Breaker.State(); got != Closed {
				t.Errorf("breaker %s after the trial succeeded, want closed", got)
			}
		})
	}
}

// TestADeliveryFromAnEarlierHalfOpenPeriodDoesNotJudgeTheNext pins the same
// for a trial of a half-open period that ended (another trial failed): it
// holds no slot of the next period and does not judge its trials.
func TestADeliveryFromAnEarlierHalfOpenPeriodDoesNotJudgeTheNext(t *testing.T) {
	for _, tt := range staleOutcomes {
		t.Run(tt.name, func(t *testing.T) {
			fail := statusErr("a", 500, nil)
			a := newFake("a", fail, nil, fail, nil)
			r, _ := newTestRouter(a)
			tg, c := withBreaker(t, r, 2)
			p := plan(t, r, RetryPolicy{}, "a/x")
			r.Run(context.Background(), p, chat)
			c.advance(time.Hour)
			early := admitted(t, r, p)
			if _, err := r.Run(context.Background(), p, chat); err == nil || tg.Breaker.State() != Open {
				t.Fatalf("a failed trial left the breaker %s, want open", tg.Breaker.State())
			}
			c.advance(time.Hour)
			trial := admitted(t, r, p)
			early.Done(tt.err)
			if got := tg.Breaker.State(); got != HalfOpen {
				t.Fatalf("breaker %s after a trial of the earlier period ended, want half_open", got)
			}
			second := admitted(t, r, p)
			refused(t, r, p, a)
			trial.Done(nil)
			second.Done(nil)
			if got := tg.Breaker.State(); got != Closed {
				t.Errorf("breaker %s after the trials succeeded, want closed", got)
			}
		})
	}
}

// TestStaleDeliveriesRacingTrialsKeepTheHalfOpenBound pins, under -race,
// that the results of many calls admitted while the breaker was closed,
// arriving all at once while runs race for the half-open trial slots, never
// let more than HalfOpenMaxCalls trials be in flight and leave the breaker
// half-open with all its slots free. Every trial ends with the client gone,
// so only the stale results could move the breaker. The clock stands still.
func TestStaleDeliveriesRacingTrialsKeepTheHalfOpenBound(t *testing.T) {
	const stale, racers, runsEach, maxTrials = 48, 16, 8, 2
	script := make([]error, stale+2)
	script[stale] = statusErr("a", 500, nil) // the call that opens the breaker; every other answers
	a := newFake("a", script...)
	r, _ := newTestRouter(a)
	tg, c := withBreaker(t, r, maxTrials)
	p := plan(t, r, RetryPolicy{}, "a/x")
	streams := make([]*Result, stale)
	for i := range streams {
		streams[i] = admitted(t, r, p)
	}
	if _, err := r.Run(context.Background(), p, chat); err == nil || tg.Breaker.State() != Open {
		t.Fatalf("a failure left the breaker %s, want open", tg.Breaker.State())
	}
	c.advance(time.Hour)

	start := make(chan struct{})
	var inTrial, most atomic.Int64
	var wg sync.WaitGroup
	for i, res := range streams {
		wg.Go(func() {
			<-start
			res.Done(staleOutcomes[i%len(staleOutcomes)].err)
		})
	}
	for range racers {
		wg.Go(func() {
			<-start
			for range runsEach {
				res, err := r.Run(context.Background(), p, chat)
				if err != nil {
					if e, ok := err.(*openai.Error); !ok || e.Code != openai.CodeNoTargets {
						t.Errorf("Run: %v, want an answer or the open breaker's refusal", err)
					}
					continue
				}
				n := inTrial.Add(1) // between Run and Done the run holds a trial slot
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				inTrial.Add(-1)
				res.Done(clientLeft)
			}
		})
	}
	close(start)
	wg.Wait()

	if got := most.Load(); got > maxTrials || got == 0 {
		t.Errorf("%d trials were in flight at once, want at least one and at most %d", got, maxTrials)
	}
	if got := tg.Breaker.State(); got != HalfOpen {
		t.Fatalf("breaker %s after the race, want half_open: a stale result moved it", got)
	}
	var trials []*Result
	for range maxTrials {
		trials = append(trials, admitted(t, r, p))
	}
	refused(t, r, p, a)
	for _, res := range trials {
		res.Done(nil)
	}
	if got := tg.Breaker.State(); got != Closed || tg.InFlight() != 0 {
		t.Errorf("breaker %s with %d in flight after the trials succeeded, want closed and none", got, tg.InFlight())
	}
}
