package admission

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
)

// LimitKind is what a rate-limit window counts.
type LimitKind int

const (
	// Requests windows count one per request.
	Requests LimitKind = iota
	// Tokens windows reserve an estimate and are settled to the real usage.
	Tokens
)

// String is the word OpenAI's x-ratelimit-* headers and error messages use.
func (k LimitKind) String() string {
	if k == Tokens {
		return "tokens"
	}
	return "requests"
}

// reservation is one counter increment made before the call, to be settled or refunded.
type reservation struct {
	w     state.Window
	at    time.Time
	n     int64
	limit int64
	res   state.TakeResult
	kind  LimitKind
}

// keyWindows are the windows a key's limits ask for, named within the key.
// The names of a key's request windows: each request adds 1, and nothing
// is ever given back.
const (
	rpmWindow = "rpm"
	rphWindow = "rph"
)

func isRequestWindow(name string) bool { return name == rpmWindow || name == rphWindow }

func keyWindows(k *state.Key, estimate int64) []reservation {
	if k == nil {
		return nil
	}
	var out []reservation
	add := func(suffix string, size time.Duration, n, limit int64, kind LimitKind) {
		if limit > 0 {
			out = append(out, reservation{w: state.Window{Name: suffix, Size: size}, n: n, limit: limit, kind: kind})
		}
	}
	add(rpmWindow, time.Minute, 1, k.Limits.RequestsPerMinute, Requests)
	add(rphWindow, time.Hour, 1, k.Limits.RequestsPerHour, Requests)
	add("tpm", time.Minute, min(max(estimate, 1), k.Limits.TokensPerMinute), k.Limits.TokensPerMinute, Tokens)
	return out
}

// windowUses is what the windows ask of the store.
func windowUses(rs []reservation) []state.WindowUse {
	out := make([]state.WindowUse, len(rs))
	for i, r := range rs {
		out[i] = state.WindowUse{Window: r.w, N: r.n, Limit: r.limit}
	}
	return out
}

func hasTokens(rs []reservation) bool {
	for _, r := range rs {
		if r.kind == Tokens {
			return true
		}
	}
	return false
}

// hitUse is what a cache hit asks: its requests, with the token windows
// and the budgets checked but not added to (a hit uses no tokens and costs
// nothing), so a key over its token limit or budget is refused a hit too.
// The token reservations in rs are set to 0 as well: settlement then has
// nothing to correct.
func hitUse(u state.KeyUse, rs []reservation) state.KeyUse {
	ws := append([]state.WindowUse(nil), u.Windows...)
	for i := range rs {
		if rs[i].kind == Tokens {
			ws[i].N, rs[i].n = 0, 0
		}
	}
	return state.KeyUse{Windows: ws, Caps: u.Caps}
}

// refused is the 429 for a window that is full.
func refused(r reservation) *openai.Error {
	return &openai.Error{Code: openai.CodeRateLimited, Status: http.StatusTooManyRequests,
		RetryAfter: max(time.Until(r.res.Reset), time.Second),
		Message:    fmt.Sprintf("Rate limit reached for %s per %s: limit %d", r.kind, windowName(r.w.Size), r.limit)}
}

func windowName(d time.Duration) string {
	if d >= time.Hour {
		return "hour"
	}
	return "minute"
}

// setLimitHeaders writes OpenAI's x-ratelimit-* headers for one window (the
// first window of each kind wins: the per-minute one).
func setLimitHeaders(h http.Header, w reservation) {
	kind := w.kind.String()
	if h.Get("X-Ratelimit-Limit-"+kind) != "" {
		return
	}
	h.Set("X-Ratelimit-Limit-"+kind, strconv.FormatInt(w.limit, 10))
	if w.res.Count >= 0 {
		h.Set("X-Ratelimit-Remaining-"+kind, strconv.FormatInt(max(w.limit-w.res.Count, 0), 10))
	}
	reset := max(time.Until(w.res.Reset), 0)
	h.Set("X-Ratelimit-Reset-"+kind, fmt.Sprintf("%.3fs", reset.Seconds()))
}

// refund gives back the reservations of a request (or attempt) that will not run.
func (a *Admitter) refund(ctx context.Context, rs []reservation) {
	for _, r := range rs {
		if r.res.Allowed {
			if err := a.store.Limits.Adjust(context.WithoutCancel(ctx), r.w, r.at, -r.n); err != nil {
				a.count.limitErrors.Add(1)
			}
		}
	}
}

// takeTarget applies a target's own requests/tokens per minute. An exhausted
// target is skipped by routing like an open breaker.
func (a *Admitter) takeTarget(ctx context.Context, t *router.Target, estimate int64) ([]reservation, error) {
	lim, ok := a.set.TargetLimits[t.Provider.Name()]
	if !ok {
		return nil, nil
	}
	now := a.now()
	var out []reservation
	for _, w := range []reservation{
		{w: state.Window{Name: "target:" + t.Key() + ":rpm", Size: time.Minute}, n: 1, limit: lim.RequestsPerMinute, kind: Requests},
		{w: state.Window{Name: "target:" + t.Key() + ":tpm", Size: time.Minute}, n: max(estimate, 1), limit: lim.TokensPerMinute, kind: Tokens},
	} {
		if w.limit <= 0 {
			continue
		}
		w.n = min(w.n, w.limit)
		w.at = now
		res, err := a.store.Limits.Take(ctx, w.w, now, w.n, w.limit)
		if err != nil {
			a.count.limitErrors.Add(1)
			if a.set.FailClosed {
				a.refund(ctx, out)
				return nil, skip(t, "its rate limit cannot be checked")
			}
			n := a.count.failOpen.Add(1)
			a.log.Warn("rate limit store failed", "error", err.Error(), "fail_closed", false, "fail_open", true,
				"fail_open_total", n, "target", t.Key())
			continue
		}
		if !res.Allowed {
			a.refund(ctx, out)
			return nil, skip(t, "its "+w.kind.String()+" per minute limit is spent")
		}
		w.res = res
		out = append(out, w)
	}
	return out, nil
}

// skipError marks a target skipped by admission (router.ErrSkipTarget).
type skipError struct{ e *openai.Error }

func (s skipError) Error() string   { return s.e.Error() }
func (s skipError) Unwrap() []error { return []error{s.e, router.ErrSkipTarget} }

func skip(t *router.Target, why string) error {
	return skipError{&openai.Error{Code: openai.CodeRateLimited, Status: http.StatusTooManyRequests, Provider: t.Provider.Name(),
		Retryable: true, RetryAfter: time.Second, Message: fmt.Sprintf("target %s is unavailable: %s", t.Key(), why)}}
}

// tokensOnly keeps the token reservations (a failed attempt's requests still count).
func tokensOnly(rs []reservation) []reservation {
	var out []reservation
	for _, r := range rs {
		if r.kind == Tokens {
			out = append(out, r)
		}
	}
	return out
}
