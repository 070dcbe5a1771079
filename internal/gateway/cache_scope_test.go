package gateway_test

import (
	"fmt"
	"strings"
	"testing"
)

// cacheRoutes adds to stateful a conditional route (X-Tier: premium → b,
// else a) and a 50/50 A/B route over a and b.
const cacheRoutes = `
[[routes]]
model = "smart"
strategy = "conditional"
targets = [{ provider = "a", model = "shared" }]
[[routes.conditions]]
headers = { "X-Tier" = "premium" }
targets = [{ provider = "b", model = "shared" }]
[[routes]]
model = "split"
strategy = "ab"
no_failover = true
targets = [{ provider = "a", model = "shared", weight = 50 }, { provider = "b", model = "shared", weight = 50 }]
`

func TestTheCacheNeverCrossesAKeyByDefault(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	for _, tc := range []struct {
		scope     string
		wantShare bool
	}{{"", false}, {`scope = "global"`, true}} {
		t.Run("scope "+tc.scope, func(t *testing.T) {
			toml := strings.Replace(stateful, `ttl = "1h"`, "ttl = \"1h\"\n"+tc.scope, 1)
			g := newStateful(t, toml, nil, a, a)
			ka, _ := createKey(t, g, `{}`)
			kb, _ := createKey(t, g, `{}`)
			body := fmt.Sprintf(`{"model":"shared","messages":[{"role":"user","content":"global cache: %v"}]}`, tc.wantShare)
			do(t, g, "POST", "/v1/chat/completions", body, "Authorization", "Bearer "+ka)
			if rec := do(t, g, "POST", "/v1/chat/completions", body, "Authorization", "Bearer "+ka); rec.Header().Get("X-Gateway-Cache") != "hit" {
				t.Fatalf("the same key's second request: %q", rec.Header().Get("X-Gateway-Cache"))
			}
			rec := do(t, g, "POST", "/v1/chat/completions", body, "Authorization", "Bearer "+kb)
			if got := rec.Header().Get("X-Gateway-Cache") == "hit"; got != tc.wantShare {
				t.Fatalf("another key got cache %q", rec.Header().Get("X-Gateway-Cache"))
			}
		})
	}
}

func TestTheCacheKeepsRoutingDecisionsApart(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	b := newUpstream(t, okChat("b"))
	// A global cache: only the routing decision can keep entries apart.
	toml := strings.Replace(stateful, `ttl = "1h"`, "ttl = \"1h\"\nscope = \"global\"", 1) + cacheRoutes
	g := newStateful(t, toml, nil, a, b)
	key, _ := createKey(t, g, `{}`)
	auth := []string{"Authorization", "Bearer " + key}
	smart := `{"model":"smart","messages":[{"role":"user","content":"which tier?"}]}`
	if rec := do(t, g, "POST", "/v1/chat/completions", smart, append(auth, "X-Tier", "premium")...); rec.Header().Get("X-Gateway-Provider") != "b" {
		t.Fatalf("premium answered by %q", rec.Header().Get("X-Gateway-Provider"))
	}
	rec := do(t, g, "POST", "/v1/chat/completions", smart, auth...)
	if rec.Header().Get("X-Gateway-Cache") == "hit" || !strings.Contains(rec.Body.String(), "from a") {
		t.Fatalf("a plain request was served the premium answer: cache %q %s", rec.Header().Get("X-Gateway-Cache"), rec.Body)
	}
	// Users in the two arms of the A/B test.
	arm := map[string]string{}
	for i := 0; i < 40 && len(arm) < 2; i++ {
		user := fmt.Sprintf("user-%d", i)
		rec := do(t, g, "POST", "/v1/chat/completions", fmt.Sprintf(`{"model":"split","user":%q,"messages":[{"role":"user","content":"arm probe %d"}]}`, user, i), auth...)
		if _, seen := arm[rec.Header().Get("X-Gateway-Provider")]; !seen {
			arm[rec.Header().Get("X-Gateway-Provider")] = user
		}
	}
	if len(arm) != 2 {
		t.Fatalf("40 users all landed in one arm: %v", arm)
	}
	ask := func(user string) string {
		rec := do(t, g, "POST", "/v1/chat/completions", fmt.Sprintf(`{"model":"split","user":%q,"messages":[{"role":"user","content":"same question"}]}`, user), auth...)
		return rec.Header().Get("X-Gateway-Provider") + " " + rec.Header().Get("X-Gateway-Cache")
	}
	if got := ask(arm["a"]); got != "a miss" {
		t.Fatalf("arm a: %s", got)
	}
	if got := ask(arm["b"]); got != "b miss" {
		t.Fatalf("arm b was served arm a's cached answer: %s", got)
	}
	// A key limited to provider b does not get a's answer either.
	onlyB, _ := createKey(t, g, `{"allowed_providers":["b"]}`)
	shared := `{"model":"shared","messages":[{"role":"user","content":"fallback route"}]}`
	if rec := do(t, g, "POST", "/v1/chat/completions", shared, auth...); rec.Header().Get("X-Gateway-Provider") != "a" {
		t.Fatalf("shared answered by %q", rec.Header().Get("X-Gateway-Provider"))
	}
	rec = do(t, g, "POST", "/v1/chat/completions", shared, "Authorization", "Bearer "+onlyB)
	if rec.Header().Get("X-Gateway-Cache") == "hit" || rec.Header().Get("X-Gateway-Provider") != "b" {
		t.Fatalf("a key limited to b: %q from %q", rec.Header().Get("X-Gateway-Cache"), rec.Header().Get("X-Gateway-Provider"))
	}
}
