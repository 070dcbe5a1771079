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

// order1 orders a route's targets by its strategy: the strategy picks the
// first, the rest follow in configured order unless failover is off.
func (r *Router) order1(rt *Route, req *Request) []*Target {
	cands := rt.Targets
	if rt.Strategy == StrategyConditional {
		for _, c := range rt.Conditions {
			if c.matches(req) {
				cands = c.Targets
				break
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	first := 0
	switch rt.Strategy {
	case StrategyWeighted:
		first = pickWeighted(cands, r.rnd())
	case StrategyAB:
		u := r.rnd()
		if req.StickyKey != "" {
			u = unitHash(rt.Name + "\x00" + req.StickyKey)
		}
		first = pickWeighted(cands, u)
	case StrategyRoundRobin:
		first = int((rt.rr.Add(1) - 1) % uint64(len(cands)))
	case StrategyLeastBusy:
		best := int64(math.MaxInt64)
		for i, c := range cands {
			if n := c.InFlight(); n < best {
				best, first = n, i
			}
		}
	case StrategyLowestLatency:
		best := time.Duration(math.MaxInt64)
		for i, c := range cands {
			if l := c.LatencyEWMA(); l < best {
				best, first = l, i
			}
		}
	case StrategySticky:
		if req.StickyKey != "" {
			// Rendezvous hashing: a user keeps their target while the target set is stable.
			best := -1.0
			for i, c := range cands {
				if h := unitHash(req.StickyKey + "\x00" + c.Key()); h > best {
					best, first = h, i
				}
			}
		}
	}
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

func unitHash(s string) float64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return float64(h.Sum64()>>11) / float64(1<<53)
}
