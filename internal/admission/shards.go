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
// shares sum to the key's own and the key can never pass them. A request
// tries the shards from a random one on until one takes it, so requests that
// come one at a time are refused only when every shard is full: exactly at
// the key's limit. Concurrent requests can be refused a little before it
// (each refusal saw every shard full when it tried it), never after.
// The x-ratelimit-remaining-* headers are left out for a sharded key: no one
// shard knows the key's total.

// useID is the key-use id of shard s of key k (k.ID itself when unsharded).
func useID(k *state.Key, s int) string {
	if k.Limits.Shards <= 1 {
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

// shardUse is shard s's part of u: its share of every window's limit (a
// request asks at most that) and of every budget. empty names a capped
// period whose share is nothing (a budget smaller than a micro-dollar per
// shard): that shard can take no request.
func shardUse(u state.KeyUse, n, s int) (out state.KeyUse, empty string) {
	out = state.KeyUse{Micros: u.Micros, Windows: make([]state.WindowUse, len(u.Windows))}
	for i, w := range u.Windows {
		w.Limit = share(w.Limit, n, s)
		w.N = min(w.N, w.Limit)
		out.Windows[i] = w
	}
	caps := [3]*int64{&out.Caps.Total, &out.Caps.Day, &out.Caps.Month}
	for i, c := range [3]int64{u.Caps.Total, u.Caps.Day, u.Caps.Month} {
		if c <= 0 {
			continue
		}
		if *caps[i] = share(c, n, s); *caps[i] == 0 && empty == "" {
			empty = [3]string{"total", "daily", "monthly"}[i]
		}
	}
	return out, empty
}

// reserveKey takes u for key k at now: from its one item, or from the first
// of its shards, tried from a random one on, that takes it. It returns the
// result, the key-use id that took it (for settlement) and the store's
// error, if any (the caller fails open or closed).
func (a *Admitter) reserveKey(ctx context.Context, k *state.Key, now time.Time, u state.KeyUse) (state.KeyUseResult, string, error) {
	n := int(min(k.Limits.Shards, state.MaxKeyShards))
	if n <= 1 {
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
	last := state.KeyUseResult{Windows: make([]state.TakeResult, len(u.Windows))}
	for i := range n {
		s := (start + i) % n
		su, empty := shardUse(u, n, s)
		if empty != "" {
			last.OverBudget = empty
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
	n := int(max(min(k.Limits.Shards, state.MaxKeyShards), 1))
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
