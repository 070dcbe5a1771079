package admission

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aigateway/gateway/internal/state"
)

// A key whose Limits.Shards is N > 1 keeps its windows and spend in N
// key-use items instead of one (state.KeyUses scopes them by "<id>#<i>"),
// so its requests spread over N partitions. Each shard holds an even share
// of every limit and budget (the remainder to the first shards), so the
// shares sum to the key's own, and each share must hold a request whole (a
// request is never larger than one share: a sharded key's requests are at
// most 1/N of its limits each), so the key can never pass them. A request
// tries the shards from a random one on until one takes it, so requests that
// come one at a time are refused only when no shard has room for them.
// Concurrent requests can be refused a little before the limit, never after.
// The x-ratelimit-remaining-* headers are left out for a sharded key: no one
// shard knows the key's total.

// shards is how many key-use items key k has: Limits.Shards within
// [1, state.MaxKeyShards].
func shards(k *state.Key) int {
	return int(max(min(k.Limits.Shards, state.MaxKeyShards), 1))
}

// useID is the key-use id of shard s of key k (k.ID itself when unsharded).
func useID(k *state.Key, s int) string {
	if shards(k) == 1 {
		return k.ID
	}
	return k.ID + "#" + strconv.Itoa(s)
}

// share is shard s's share of v split n ways.
func share(v int64, n, s int) int64 {
	p := v / int64(n)
	if int64(s) < v%int64(n) {
		p++
	}
	return p
}

// shardUse is shard s's part of u: its share of every window's limit and
// of every budget, each of which must hold the request whole (a request's
// count within the window's share, its estimated cost within each budget's
// share: KeyUse.Whole), so that no shard passes its share and the shares
// never pass the key's limits. fits is false when the shard cannot take
// the request at all: a window whose share is smaller than the request (or
// nothing), a capped budget whose share is nothing.
func shardUse(u state.KeyUse, n, s int) (out state.KeyUse, fits bool) {
	out = state.KeyUse{Micros: u.Micros, Whole: true, Windows: make([]state.WindowUse, len(u.Windows))}
	fits = true
	for i, w := range u.Windows {
		w.Limit = share(w.Limit, n, s)
		if w.Limit == 0 || w.N > w.Limit {
			fits = false
		}
		out.Windows[i] = w
	}
	caps := [3]*int64{&out.Caps.Total, &out.Caps.Day, &out.Caps.Month}
	for i, c := range [3]int64{u.Caps.Total, u.Caps.Day, u.Caps.Month} {
		if c <= 0 {
			continue
		}
		if *caps[i] = share(c, n, s); *caps[i] == 0 {
			fits = false
		}
	}
	return out, fits
}

// reserveKey takes u for key k at now: from its one item, or from the first
// of its shards, tried from a random one on, that takes it. It returns the
// result, the key-use id that took it (for settlement) and the store's
// error, if any (the caller fails open or closed).
func (a *Admitter) reserveKey(ctx context.Context, k *state.Key, now time.Time, u state.KeyUse) (state.KeyUseResult, string, error) {
	n := shards(k)
	if n == 1 {
		r, err := a.store.KeyUses.Reserve(ctx, k.ID, now, u)
		return r, k.ID, err
	}
	unknown := func(r state.KeyUseResult) state.KeyUseResult {
		for j := range r.Windows {
			r.Windows[j].Count = -1 // no shard knows the key's total
		}
		return r
	}
	start := rand.IntN(n)
	// What is refused when no shard could take the request at all: the
	// windows it is too large for a share of, else the budgets.
	last := state.KeyUseResult{Windows: make([]state.TakeResult, len(u.Windows))}
	for i, w := range u.Windows {
		last.Windows[i] = state.TakeResult{Allowed: w.N <= w.Limit/int64(n), Reset: w.Window.Start(now).Add(w.Window.Size)}
	}
	last.OverBudget = u.Caps.FirstCapped()
	for i := range n {
		s := (start + i) % n
		su, fits := shardUse(u, n, s)
		if !fits {
			continue
		}
		r, err := a.store.KeyUses.Reserve(ctx, useID(k, s), now, su)
		if err != nil || r.Allowed {
			return unknown(r), useID(k, s), err
		}
		last = r
	}
	return unknown(last), "", nil
}

// Spent is key k's spend at at, summed over its shards.
func (a *Admitter) Spent(ctx context.Context, k *state.Key, at time.Time) (state.SpendTotals, error) {
	n := shards(k)
	var sum state.SpendTotals
	for s := range n {
		t, err := a.store.Spend.Get(ctx, useID(k, s), at)
		if err != nil {
			return state.SpendTotals{}, err
		}
		sum.TotalMicros += t.TotalMicros
		sum.DayMicros += t.DayMicros
		sum.MonthMicros += t.MonthMicros
	}
	return sum, nil
}
