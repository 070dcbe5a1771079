package gateway_test

import (
	"fmt"
	"strings"
	"testing"
)

// A sharded budget is overspent by one request at most, like an unsharded
// one: each shard must hold a reservation whole (it admitted while its share
// was unspent, one request per shard: $5 over 8 shards, $7 a request).
func TestAShardedBudgetIsNotOverspentOncePerShard(t *testing.T) {
	for _, shards := range []int{1, 8} {
		a := newUpstream(t, okChat("a"))
		g := newStateful(t, stateful, nil, a, a)
		secret, _ := createKey(t, g, fmt.Sprintf(`{"limits":{"shards":%d},"budget":{"total_usd":5}}`, shards))
		ok := 0
		for i := range 20 {
			body := fmt.Sprintf(`{"model":"shared","messages":[{"role":"user","content":"hello %d"}]}`, i)
			if rec := do(t, g, "POST", "/v1/chat/completions", body, "Authorization", "Bearer "+secret); rec.Code == 200 {
				ok++
			}
		}
		t.Logf("shards %d: %d requests of $7 admitted on a $5 total budget ($%d spent)", shards, ok, 7*ok)
		if ok > 1 {
			t.Errorf("shards %d: %d sequential $7 requests admitted on a $5 budget", shards, ok)
		}
	}
}

// The admin API refuses more shards than a limit has units (a shard with a
// share of 0 admitted everything, uncounted).
func TestTheAdminAPIRefusesMoreShardsThanALimit(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, stateful, nil, a, a)
	rec := do(t, g, "POST", "/admin/keys", `{"limits":{"rpm":1,"shards":4}}`, "Authorization", "Bearer "+adminKey)
	if e := errorOf(t, rec); rec.Code != 400 || e.Param == nil || *e.Param != "limits.shards" || !strings.Contains(e.Message, "limits.rpm (1)") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rec := do(t, g, "POST", "/admin/keys", `{"limits":{"rpm":4,"shards":4}}`, "Authorization", "Bearer "+adminKey); rec.Code != 201 {
		t.Fatalf("as many shards as the limit: %d %s", rec.Code, rec.Body)
	}
}
