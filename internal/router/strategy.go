package router

import (
	"hash/fnv"
	"math"
	"time"
)

// Strategy names.
const (
	StrategyFallback      = "fallback"
	StrategyWeighted      = "weighted"
	StrategyRoundRobin    = "round_robin"
	StrategyLeastBusy     = "least_busy"
	StrategyLowestLatency = "lowest_latency"
	StrategyConditional   = "conditional"
	StrategyAB            = "ab"
	StrategySticky        = "sticky"
)

// Strategies lists every valid strategy name.
var Strategies = []string{StrategyFallback, StrategyWeighted, StrategyRoundRobin, StrategyLeastBusy,
	StrategyLowestLatency, StrategyConditional, StrategyAB, StrategySticky}

// orderTargets lists a route's targets in the order a request tries them:
// the target the route's strategy picks first, then, unless the route turns
// failover off, the other candidates in configured order. A conditional
// rule that matched fails over among its own targets only: a rule is also
// how an operator keeps requests somewhere (data residency, a tenant's own
// deployment), so its requests never fall through to the route's default;
// give the rule more targets to fail over between.
func (r *Router) orderTargets(rt *Route, req *Request) []*Target {
	cands, _ := rt.candidates(req)
	if len(cands) == 0 {
		return nil
	}
	first := r.pick(rt, cands, req)
	out := []*Target{cands[first].Target}
	if rt.NoFailover {
		return out
	}
	for i, c := range cands {
		if i != first {
			out = append(out, c.Target)
		}
	}
	return out
}

// candidates are the targets a request may use: on a conditional route the
// targets of its first rule that matches the request (ruled is true then;
// configuration gives every rule a target), else the route's own targets.
func (rt *Route) candidates(req *Request) (cands []WeightedTarget, ruled bool) {
	if rt.Strategy == StrategyConditional {
		for _, c := range rt.Conditions {
			if c.matches(req) {
				return c.Targets, true
			}
		}
	}
	return rt.Targets, false
}

// pick returns the index in cands (never empty) of the target the route's
// strategy tries first. Fallback and conditional routes take the first.
func (r *Router) pick(rt *Route, cands []WeightedTarget, req *Request) int {
	switch rt.Strategy {
	case StrategyWeighted:
		return pickWeighted(cands, r.rnd())
	case StrategyAB:
		u := r.rnd()
		if req.StickyKey != "" {
			// A user stays in the same arm of the test.
			u = unitHash(rt.Name + "\x00" + req.StickyKey)
		}
		return pickWeighted(cands, u)
	case StrategyRoundRobin:
		return int((rt.roundRobin.Add(1) - 1) % uint64(len(cands)))
	case StrategyLeastBusy:
		return pickLeastBusy(cands)
	case StrategyLowestLatency:
		return pickLowestLatency(cands)
	case StrategySticky:
		return pickSticky(cands, req.StickyKey)
	}
	return 0
}

// pickLeastBusy returns the target with the fewest attempts in flight (the
// earliest on a tie).
func pickLeastBusy(cands []WeightedTarget) int {
	first, best := 0, int64(math.MaxInt64)
	for i, c := range cands {
		if n := c.InFlight(); n < best {
			best, first = n, i
		}
	}
	return first
}

// pickLowestLatency returns the target with the lowest latency average (the
// earliest on a tie). A target never tried averages zero, so it is tried
// before any target that has answered.
func pickLowestLatency(cands []WeightedTarget) int {
	first, best := 0, time.Duration(math.MaxInt64)
	for i, c := range cands {
		if l := c.LatencyEWMA(); l < best {
			best, first = l, i
		}
	}
	return first
}

// pickSticky returns the target stickyKey hashes to, by rendezvous hashing:
// a user keeps their target while the target set is stable, and only the
// users of a removed target move. Without a key it returns the first target.
func pickSticky(cands []WeightedTarget, stickyKey string) int {
	if stickyKey == "" {
		return 0
	}
	first, best := 0, -1.0
	for i, c := range cands {
		if h := unitHash(stickyKey + "\x00" + c.Key()); h > best {
			best, first = h, i
		}
	}
	return first
}

// pickWeighted returns the index u (uniform in [0, 1)) falls on when [0, 1)
// is cut into shares in proportion to the targets' weights. A negative weight
// counts as zero; when no weight is positive, the first target is returned.
func pickWeighted(cands []WeightedTarget, u float64) int {
	total := 0.0
	for _, c := range cands {
		total += math.Max(c.Weight, 0)
	}
	if total <= 0 {
		return 0
	}
	x := u * total
	for i, c := range cands {
		x -= math.Max(c.Weight, 0)
		if x < 0 {
			return i
		}
	}
	return len(cands) - 1
}

// unitHash maps s to [0, 1): the top 53 bits of its 64-bit FNV-1a hash.
func unitHash(s string) float64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return float64(mix64(h.Sum64())>>11) / float64(1<<53)
}

// mix64 is MurmurHash3's 64-bit finalizer: FNV-1a alone barely moves its top
// bits when only the last characters change (customer_1000 … customer_1099
// all landed in one arm of a 50/50 split), and unitHash reads the top bits.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
