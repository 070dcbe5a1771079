package admission

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
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
	// A key (or shard) whose request window a refusal showed full stays
	// full until the window ends (requests are never given back): it is not
	// written to again before, since every refused conditional write costs
	// a write unit.
	n := shards(k)
	if n == 1 {
		if r, ok := a.full.refused(k.ID, u, now); ok {
			return r, "", nil
		}
		r, err := a.store.KeyUses.Reserve(ctx, k.ID, now, u)
		if err == nil && !r.Allowed {
			a.full.remember(k.ID, u, r)
		}
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
		id := useID(k, s)
		if r, ok := a.full.refused(id, su, now); ok {
			last = r
			continue
		}
		r, err := a.store.KeyUses.Reserve(ctx, id, now, su)
		if err != nil || r.Allowed {
			return unknown(r), id, err
		}
		a.full.remember(id, su, r)
		last = r
	}
	return unknown(last), "", nil
}

// fullShards remembers, in this instance, the keys and shards a refusal
// showed a request window of full, with that refusal, until the window ends.
type fullShards struct {
	mu sync.Mutex
	m  map[string]fullShard
}

type fullShard struct {
	until time.Time
	res   state.KeyUseResult
}

// maxFullShards bounds what fullShards holds (it starts afresh past it).
const maxFullShards = 10_000

// fullKey names shard id's request window w at its limit (a key whose
// limits change meets a new one).
func fullKey(id string, w state.WindowUse) string {
	return id + "\x00" + w.Window.Name + "\x00" + strconv.FormatInt(w.Limit, 10)
}

// refused is the remembered refusal of a request to shard id, if one of
// u's request windows there is known full at now.
func (f *fullShards) refused(id string, u state.KeyUse, now time.Time) (state.KeyUseResult, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range u.Windows {
		if e, ok := f.m[fullKey(id, w)]; ok && isRequestWindow(w.Window.Name) && now.Before(e.until) {
			r := e.res
			r.Windows = slices.Clone(r.Windows) // the caller's to change
			return r, true
		}
	}
	return state.KeyUseResult{}, false
}

// remember keeps refusal r of u by shard id for each request window r
// found full.
func (f *fullShards) remember(id string, u state.KeyUse, r state.KeyUseResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, w := range u.Windows {
		if i < len(r.Windows) && !r.Windows[i].Allowed && isRequestWindow(w.Window.Name) {
			if f.m == nil || len(f.m) >= maxFullShards {
				f.m = map[string]fullShard{}
			}
			kept := r
			kept.Windows = slices.Clone(r.Windows)
			f.m[fullKey(id, w)] = fullShard{until: r.Windows[i].Reset, res: kept}
		}
	}
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
