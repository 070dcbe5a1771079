package router

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

func abcRouter() *Router {
	r, _ := newTestRouter(newFake("a"), newFake("b"), newFake("c"))
	return r
}

func TestFallbackKeepsConfiguredOrder(t *testing.T) {
	r := abcRouter()
	addRoute(t, r, "m", StrategyFallback, "b/x", "a/x", "c/x")
	for i := range 5 {
		if got, want := resolve(t, r, &Request{Model: "m"}), []string{"b/x", "a/x", "c/x"}; !slices.Equal(got, want) {
			t.Fatalf("call %d: order = %v, want %v", i, got, want)
		}
	}
}

func TestWeightedPicksByWeight(t *testing.T) {
	r := abcRouter()
	rt := &Route{Name: "m", Strategy: StrategyWeighted, Targets: []WeightedTarget{
		wt(t, r, "a/x", 70), wt(t, r, "b/x", 20), wt(t, r, "c/x", 10)}}
	if err := r.AddRoute(rt); err != nil {
		t.Fatal(err)
	}
	// 100 draws spread evenly over [0,1): each target is first exactly in
	// proportion to its weight.
	const n = 100
	us := make([]float64, n)
	for i := range us {
		us[i] = (float64(i) + 0.5) / n
	}
	r.rnd = seq(us...)
	counts := map[string]int{}
	for range n {
		got := resolve(t, r, &Request{Model: "m"})
		counts[got[0]]++
		if len(got) != 3 {
			t.Fatalf("plan %v does not keep the other targets as failovers", got)
		}
	}
	want := map[string]int{"a/x": 70, "b/x": 20, "c/x": 10}
	for k, w := range want {
		if counts[k] != w {
			t.Errorf("%s was first %d times in %d draws, want %d", k, counts[k], n, w)
		}
	}
}

func TestWeightedPickBoundaries(t *testing.T) {
	r := abcRouter()
	cands := []WeightedTarget{wt(t, r, "a/x", 1), wt(t, r, "b/x", 0), wt(t, r, "c/x", 3)}
	tests := []struct {
		name string
		u    float64
		want int
	}{
		{name: "zero lands on the first weighted target", u: 0, want: 0},
		{name: "just under the first share stays on the first target", u: 0.2499, want: 0},
		{name: "the first share's end moves past a zero-weight target", u: 0.25, want: 2},
		{name: "the top of the range lands on the last target", u: 0.9999, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pickWeighted(cands, tt.u); got != tt.want {
				t.Errorf("pickWeighted(u=%v) = %d, want %d", tt.u, got, tt.want)
			}
		})
	}
	if got := pickWeighted([]WeightedTarget{wt(t, r, "a/x", 0), wt(t, r, "b/x", -1)}, 0.9); got != 0 {
		t.Errorf("without any positive weight the first target is picked; got %d", got)
	}
}

func TestWeightedFailoversFollowInConfiguredOrder(t *testing.T) {
	r := abcRouter()
	rt := &Route{Name: "m", Strategy: StrategyWeighted, Targets: []WeightedTarget{
		wt(t, r, "a/x", 1), wt(t, r, "b/x", 1), wt(t, r, "c/x", 1)}}
	if err := r.AddRoute(rt); err != nil {
		t.Fatal(err)
	}
	r.rnd = seq(0.5) // the middle third: b
	if got, want := resolve(t, r, &Request{Model: "m"}), []string{"b/x", "a/x", "c/x"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func TestRoundRobinCycles(t *testing.T) {
	r := abcRouter()
	addRoute(t, r, "m", StrategyRoundRobin, "a/x", "b/x", "c/x")
	want := [][]string{
		{"a/x", "b/x", "c/x"},
		{"b/x", "a/x", "c/x"},
		{"c/x", "a/x", "b/x"},
		{"a/x", "b/x", "c/x"},
		{"b/x", "a/x", "c/x"},
		{"c/x", "a/x", "b/x"},
	}
	for i, w := range want {
		if got := resolve(t, r, &Request{Model: "m"}); !slices.Equal(got, w) {
			t.Errorf("call %d: order = %v, want %v", i, got, w)
		}
	}
}

func TestLeastBusyPicksFewestInFlight(t *testing.T) {
	r := abcRouter()
	addRoute(t, r, "m", StrategyLeastBusy, "a/x", "b/x", "c/x")
	// Successful runs keep their target in flight until Done.
	var done []func(error)
	hold := func(key string, n int) {
		for range n {
			res, err := r.Run(context.Background(), &Plan{Targets: []*Target{target(t, r, key)}}, chat)
			if err != nil {
				t.Fatal(err)
			}
			done = append(done, res.Done)
		}
	}
	hold("a/x", 2)
	hold("c/x", 1)
	if got, want := resolve(t, r, &Request{Model: "m"}), []string{"b/x", "a/x", "c/x"}; !slices.Equal(got, want) {
		t.Errorf("with in-flight a=2 b=0 c=1: order = %v, want %v", got, want)
	}
	hold("b/x", 3)
	if got := resolve(t, r, &Request{Model: "m"}); got[0] != "c/x" {
		t.Errorf("with in-flight a=2 b=3 c=1: first = %s, want c/x", got[0])
	}
	for _, d := range done {
		d(nil)
	}
	if got := resolve(t, r, &Request{Model: "m"}); got[0] != "a/x" {
		t.Errorf("with nothing in flight the tie goes to the first target; got %s", got[0])
	}
}

func TestLowestLatency(t *testing.T) {
	tests := []struct {
		name      string
		latencies map[string]time.Duration // observed per target; absent: untried
		want      []string
	}{
		{name: "the smallest smoothed latency goes first",
			latencies: map[string]time.Duration{"a/x": 50 * time.Millisecond, "b/x": 30 * time.Millisecond, "c/x": 10 * time.Millisecond},
			want:      []string{"c/x", "a/x", "b/x"}},
		{name: "an untried target goes before every measured one",
			latencies: map[string]time.Duration{"a/x": 50 * time.Millisecond, "c/x": time.Millisecond},
			want:      []string{"b/x", "a/x", "c/x"}},
		{name: "with no measurements the first target goes first",
			latencies: map[string]time.Duration{},
			want:      []string{"a/x", "b/x", "c/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := abcRouter()
			addRoute(t, r, "m", StrategyLowestLatency, "a/x", "b/x", "c/x")
			for k, d := range tt.latencies {
				target(t, r, k).observe(d)
			}
			if got := resolve(t, r, &Request{Model: "m"}); !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLatencyIsAnExponentialMovingAverage(t *testing.T) {
	r := abcRouter()
	tg := target(t, r, "a/x")
	tg.observe(100 * time.Millisecond)
	if got := tg.LatencyEWMA(); got != 100*time.Millisecond {
		t.Errorf("after the first observation EWMA = %v, want 100ms", got)
	}
	tg.observe(200 * time.Millisecond)
	if got, want := tg.LatencyEWMA(), 120*time.Millisecond; got != want {
		t.Errorf("after 100ms then 200ms EWMA = %v, want %v (alpha 0.2)", got, want)
	}
}

func TestConditionalPicksFirstMatchingRule(t *testing.T) {
	body := []byte(`{"model":"smart","temperature":0,"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}`)
	tests := []struct {
		name string
		req  Request
		want []string
	}{
		{name: "a matching header picks its rule",
			req: Request{Model: "smart", Header: header("X-Tier", "premium")}, want: []string{"b/premium"}},
		{name: "header names match case-insensitively",
			req: Request{Model: "smart", Header: header("x-tier", "premium")}, want: []string{"b/premium"}},
		{name: "a header value must match exactly",
			req: Request{Model: "smart", Header: header("X-Tier", "Premium")}, want: []string{"a/default", "c/default"}},
		{name: "key metadata picks its rule",
			req: Request{Model: "smart", KeyMetadata: map[string]string{"team": "research"}}, want: []string{"c/research"}},
		{name: "a body field by gjson path picks its rule",
			req: Request{Model: "smart", Body: body}, want: []string{"a/json", "b/json"}},
		{name: "a rule needs every one of its matchers",
			req: Request{Model: "smart", Header: header("X-Region", "eu")}, want: []string{"a/default", "c/default"}},
		{name: "a rule with all its matchers met is picked",
			req:  Request{Model: "smart", Header: header("X-Region", "eu"), KeyMetadata: map[string]string{"plan": "gold"}},
			want: []string{"c/eu"}},
		{name: "the client's model name picks its rule",
			req: Request{Model: "smart-alias"}, want: []string{"b/aliased"}},
		{name: "the first matching rule wins over later ones",
			req:  Request{Model: "smart", Header: header("X-Tier", "premium"), KeyMetadata: map[string]string{"team": "research"}},
			want: []string{"b/premium"}},
		{name: "no matching rule falls back to the default targets",
			req: Request{Model: "smart", Body: []byte(`{"temperature":1}`)}, want: []string{"a/default", "c/default"}},
		{name: "a request without header, metadata or body takes the default",
			req: Request{Model: "smart"}, want: []string{"a/default", "c/default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := abcRouter()
			one := func(keys ...string) []WeightedTarget {
				var out []WeightedTarget
				for _, k := range keys {
					out = append(out, wt(t, r, k, 1))
				}
				return out
			}
			rt := &Route{Name: "smart", Strategy: StrategyConditional, Targets: one("a/default", "c/default"),
				Conditions: []Condition{
					{Headers: map[string]string{"X-Tier": "premium"}, Targets: one("b/premium")},
					{Metadata: map[string]string{"team": "research"}, Targets: one("c/research")},
					{Fields: map[string]string{"response_format.type": "json_object", "temperature": "0", "messages.#": "1"},
						Targets: one("a/json", "b/json")},
					{Headers: map[string]string{"X-Region": "eu"}, Metadata: map[string]string{"plan": "gold"}, Targets: one("c/eu")},
					{Model: "smart-alias", Targets: one("b/aliased")},
				}}
			if err := r.AddRoute(rt); err != nil {
				t.Fatal(err)
			}
			if err := r.AddAlias("smart-alias", "smart"); err != nil {
				t.Fatal(err)
			}
			req := tt.req
			if got := resolve(t, r, &req); !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestABIsDeterministicPerStickyKey(t *testing.T) {
	r := abcRouter()
	rt := &Route{Name: "exp", Strategy: StrategyAB, Targets: []WeightedTarget{wt(t, r, "a/x", 80), wt(t, r, "b/x", 20)}}
	if err := r.AddRoute(rt); err != nil {
		t.Fatal(err)
	}
	// rnd changes on every call; a user's arm must not.
	r.rnd = seq(0.01, 0.99, 0.5, 0.3, 0.85)
	for u := range 50 {
		key := fmt.Sprintf("user-%d", u)
		first := resolve(t, r, &Request{Model: "exp", StickyKey: key})[0]
		for i := range 10 {
			if got := resolve(t, r, &Request{Model: "exp", StickyKey: key})[0]; got != first {
				t.Fatalf("%s: call %d went to %s, the first call went to %s", key, i, got, first)
			}
		}
	}
}

func TestABFollowsPercentagesOverManyUsers(t *testing.T) {
	r := abcRouter()
	rt := &Route{Name: "exp", Strategy: StrategyAB, Targets: []WeightedTarget{
		wt(t, r, "a/x", 70), wt(t, r, "b/x", 20), wt(t, r, "c/x", 10)}}
	if err := r.AddRoute(rt); err != nil {
		t.Fatal(err)
	}
	const n = 20000
	counts := map[string]int{}
	for u := range n {
		counts[resolve(t, r, &Request{Model: "exp", StickyKey: fmt.Sprintf("user-%d@example.com", u)})[0]]++
	}
	for k, pct := range map[string]float64{"a/x": 70, "b/x": 20, "c/x": 10} {
		got := 100 * float64(counts[k]) / n
		if math.Abs(got-pct) > 2 {
			t.Errorf("%s got %.1f%% of %d users, want %.0f%% ± 2", k, got, n, pct)
		}
	}
}

func TestABWithoutStickyKeyUsesRandomDraw(t *testing.T) {
	r := abcRouter()
	rt := &Route{Name: "exp", Strategy: StrategyAB, Targets: []WeightedTarget{wt(t, r, "a/x", 90), wt(t, r, "b/x", 10)}}
	if err := r.AddRoute(rt); err != nil {
		t.Fatal(err)
	}
	r.rnd = seq(0.1, 0.95)
	if got := resolve(t, r, &Request{Model: "exp"}); !slices.Equal(got, []string{"a/x", "b/x"}) {
		t.Errorf("draw 0.1: order = %v, want [a/x b/x]", got)
	}
	if got := resolve(t, r, &Request{Model: "exp"}); !slices.Equal(got, []string{"b/x", "a/x"}) {
		t.Errorf("draw 0.95: order = %v, want [b/x a/x]", got)
	}
}

func TestStickyKeepsAUserOnOneTarget(t *testing.T) {
	r := abcRouter()
	addRoute(t, r, "m", StrategySticky, "a/x", "b/x", "c/x")
	addRoute(t, r, "m2", StrategySticky, "a/x", "b/x") // the same targets, c removed
	r.rnd = seq(0.1, 0.9, 0.5)
	const users = 600
	counts := map[string]int{}
	for u := range users {
		key := fmt.Sprintf("user-%d", u)
		first := resolve(t, r, &Request{Model: "m", StickyKey: key})
		for range 5 {
			if got := resolve(t, r, &Request{Model: "m", StickyKey: key}); !slices.Equal(got, first) {
				t.Fatalf("%s: plan %v changed from %v", key, got, first)
			}
		}
		if len(first) != 3 {
			t.Fatalf("%s: plan %v does not keep the other targets as failovers", key, first)
		}
		counts[first[0]]++
		// Rendezvous hashing: removing c moves only c's users.
		if first[0] != "c/x" {
			if got := resolve(t, r, &Request{Model: "m2", StickyKey: key})[0]; got != first[0] {
				t.Errorf("%s moved from %s to %s when an unrelated target was removed", key, first[0], got)
			}
		}
	}
	for _, k := range []string{"a/x", "b/x", "c/x"} {
		if counts[k] < users/6 {
			t.Errorf("%s got %d of %d users; sticky routing should spread users (%v)", k, counts[k], users, counts)
		}
	}
}

func TestStickyWithoutKeyTakesTheFirstTarget(t *testing.T) {
	r := abcRouter()
	addRoute(t, r, "m", StrategySticky, "b/x", "a/x", "c/x")
	if got, want := resolve(t, r, &Request{Model: "m"}), []string{"b/x", "a/x", "c/x"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func TestNoFailoverPlansOnlyThePick(t *testing.T) {
	for _, strategy := range Strategies {
		t.Run(strategy+" with no_failover plans one target", func(t *testing.T) {
			r := abcRouter()
			rt := &Route{Name: "m", Strategy: strategy, NoFailover: true, Targets: []WeightedTarget{
				wt(t, r, "a/x", 50), wt(t, r, "b/x", 50)}}
			if strategy == StrategyConditional {
				rt.Conditions = []Condition{{Model: "never", Targets: []WeightedTarget{wt(t, r, "c/x", 1)}}}
			}
			if err := r.AddRoute(rt); err != nil {
				t.Fatal(err)
			}
			if got := resolve(t, r, &Request{Model: "m", StickyKey: "u"}); len(got) != 1 {
				t.Errorf("plan = %v, want exactly one target", got)
			}
		})
	}
}

func TestARouteWithoutTargetsPlansNothing(t *testing.T) {
	r := abcRouter()
	if err := r.AddRoute(&Route{Name: "empty", Strategy: StrategyRoundRobin}); err != nil {
		t.Fatal(err)
	}
	plan, err := r.Resolve(&Request{Model: "empty"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Targets) != 0 {
		t.Errorf("targets = %v, want none", keys(plan.Targets))
	}
	_, err = r.Run(context.Background(), plan, chat)
	if e := asError(t, err); e.HTTPStatus() != 503 {
		t.Errorf("running an empty plan: %v (status %d), want 503", e, e.HTTPStatus())
	}
}

// TestAConditionalRuleFailsOverOnlyAmongItsOwnTargets pins that a matched
// rule's requests never fall through to the route's own targets (a rule can
// keep requests in a region): when both of its targets fail, the request
// fails, though the route's default is healthy.
func TestAConditionalRuleFailsOverOnlyAmongItsOwnTargets(t *testing.T) {
	a, b, c := newFake("a", statusErr("a", 503, nil)), newFake("b", statusErr("b", 503, nil)), newFake("c")
	r, _ := newTestRouter(a, b, c)
	rt := &Route{Name: "smart", Strategy: StrategyConditional,
		Targets: []WeightedTarget{wt(t, r, "b/x", 1), wt(t, r, "c/x", 1)},
		Conditions: []Condition{{Headers: map[string]string{"X-Region": "eu"},
			Targets: []WeightedTarget{wt(t, r, "a/x", 1), wt(t, r, "b/x", 1)}}}}
	if err := r.AddRoute(rt); err != nil {
		t.Fatal(err)
	}
	p, err := r.Resolve(&Request{Model: "smart", Header: header("X-Region", "eu")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(p.Targets), []string{"a/x", "b/x"}; !slices.Equal(got, want) {
		t.Errorf("plan = %v, want the rule's own targets only: %v", got, want)
	}
	if _, err := r.Run(context.Background(), p, chat); err == nil {
		t.Fatal("the rule's targets all failed, yet the request was answered")
	}
	if c.Calls() != 0 {
		t.Errorf("the route's default target was called %d times for a request its rule kept away", c.Calls())
	}
}
