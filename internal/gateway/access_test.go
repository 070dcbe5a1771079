package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/memory"
	"github.com/aigateway/gateway/internal/testutil"
)

const adminKey = "admin-test-key-0123456789"
const jwtSecret = "jwt-test-secret-0123456789abcdefghijkl"

// stateful is twoProviders with auth, the cache and prices turned on.
const stateful = twoProviders + `
[auth]
enabled = true
admin_key = "` + adminKey + `"
jwt_hs256_secret = "` + jwtSecret + `"
[cache]
enabled = true
ttl = "1h"
[pricing.shared]
input = 1000000.0
output = 2000000.0
`

// newStateful builds a gateway over the given store (nil: a fresh memory store).
func newStateful(t *testing.T, toml string, store *state.Store, ups ...*upstream) *app.App {
	t.Helper()
	return newWithOptions(t, toml, app.Options{Store: store}, ups...)
}

// newWithOptions builds a gateway with the given options (logs discarded).
func newWithOptions(t *testing.T, toml string, o app.Options, ups ...*upstream) *app.App {
	t.Helper()
	for i, u := range ups {
		toml = strings.ReplaceAll(toml, fmt.Sprintf("{%c}", 'A'+i), u.URL)
	}
	cfg, err := config.Parse(testutil.CacheOffUnlessSet(toml), func(string) string { return secretKey })
	if err != nil {
		t.Fatal(err)
	}
	o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	g, err := app.New(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// createKey makes a key through the admin API and returns its secret and id.
func createKey(t *testing.T, g http.Handler, body string) (secret, id string) {
	t.Helper()
	rec := do(t, g, "POST", "/admin/keys", body, "Authorization", "Bearer "+adminKey)
	if rec.Code != 201 {
		t.Fatalf("create key: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || !strings.HasPrefix(out.Key, "sk-gw-") || out.ID == "" {
		t.Fatalf("created %s", rec.Body)
	}
	return out.Key, out.ID
}

func TestAuthentication(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, stateful, nil, a, a)
	secret, id := createKey(t, g, `{"name":"ci"}`)

	t.Run("no key is a 401", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/chat/completions", hello)
		if rec.Code != 401 || errorOf(t, rec).Type != "authentication_error" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
	t.Run("a wrong key is a 401", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer sk-gw-nope")
		if rec.Code != 401 {
			t.Fatalf("%d", rec.Code)
		}
	})
	t.Run("the key works as a bearer token and as x-api-key", func(t *testing.T) {
		for _, h := range [][2]string{{"Authorization", "Bearer " + secret}, {"X-Api-Key", secret}} {
			if rec := do(t, g, "POST", "/v1/chat/completions", hello, h[0], h[1]); rec.Code != 200 {
				t.Fatalf("%s: %d %s", h[0], rec.Code, rec.Body)
			}
		}
	})
	t.Run("admin output never shows the secret or its hash", func(t *testing.T) {
		for _, path := range []string{"/admin/keys", "/admin/keys/" + id} {
			rec := do(t, g, "GET", path, "", "Authorization", "Bearer "+adminKey)
			if rec.Code != 200 || strings.Contains(rec.Body.String(), secret) || strings.Contains(rec.Body.String(), strings.TrimPrefix(secret, "sk-gw-")) {
				t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), id) {
				t.Fatalf("%s does not list the key", path)
			}
		}
	})
	t.Run("a JWT from /auth/token works and a forged one does not", func(t *testing.T) {
		rec := do(t, g, "POST", "/auth/token", "", "Authorization", "Bearer "+secret)
		var tok struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.Token == "" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+tok.Token); rec.Code != 200 {
			t.Fatalf("JWT refused: %d %s", rec.Code, rec.Body)
		}
		none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": id, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+none); rec.Code != 401 {
			t.Fatalf("alg none accepted: %d", rec.Code)
		}
	})
	t.Run("a disabled key is refused at once, then enabled again", func(t *testing.T) {
		if rec := do(t, g, "POST", "/admin/keys/"+id+"/disable", "", "Authorization", "Bearer "+adminKey); rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+secret); rec.Code != 401 {
			t.Fatalf("disabled key served: %d", rec.Code)
		}
		do(t, g, "POST", "/admin/keys/"+id+"/enable", "", "Authorization", "Bearer "+adminKey)
		if rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+secret); rec.Code != 200 {
			t.Fatalf("enabled key refused: %d", rec.Code)
		}
	})
	t.Run("a deleted key is refused", func(t *testing.T) {
		if rec := do(t, g, "DELETE", "/admin/keys/"+id, "", "Authorization", "Bearer "+adminKey); rec.Code != 200 {
			t.Fatalf("%d", rec.Code)
		}
		if rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+secret); rec.Code != 401 {
			t.Fatalf("deleted key served: %d", rec.Code)
		}
		if rec := do(t, g, "GET", "/admin/keys/"+id, "", "Authorization", "Bearer "+adminKey); rec.Code != 404 {
			t.Fatalf("deleted key found: %d", rec.Code)
		}
	})
	t.Run("an expired key is refused", func(t *testing.T) {
		s, _ := createKey(t, g, `{"expires_at":"2000-01-01T00:00:00Z"}`)
		if rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+s); rec.Code != 401 || !strings.Contains(rec.Body.String(), "expired") {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
	t.Run("the admin API needs the admin key", func(t *testing.T) {
		if rec := do(t, g, "GET", "/admin/keys", "", "Authorization", "Bearer "+secret); rec.Code != 401 {
			t.Fatalf("%d", rec.Code)
		}
	})
}

// failingKeys is a key store that cannot be reached.
type failingKeys struct{ state.Keys }

func (failingKeys) ByHash(context.Context, string) (*state.Key, error) {
	return nil, errors.New("connection refused")
}

func TestAuthFailsClosedWhenKeysCannotBeChecked(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	st := memory.New(nil)
	st.Keys = failingKeys{st.Keys}
	g := newStateful(t, stateful, st, a, a)
	rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer sk-gw-whatever")
	if rec.Code != 503 || a.calls.Load() != 0 {
		t.Fatalf("%d %s (upstream calls %d)", rec.Code, rec.Body, a.calls.Load())
	}
	if strings.Contains(rec.Body.String(), "connection refused") {
		t.Error("internal error details leaked")
	}
}

func TestRequestRateLimitGives429WithOpenAIHeaders(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, stateful, nil, a, a)
	secret, _ := createKey(t, g, `{"limits":{"rpm":2}}`)
	var last *httptest.ResponseRecorder
	for i := 0; i < 3; i++ {
		body := fmt.Sprintf(`{"model":"shared","messages":[{"role":"user","content":"req %d"}]}`, i)
		last = do(t, g, "POST", "/v1/chat/completions", body, "Authorization", "Bearer "+secret)
		if i == 0 && (last.Header().Get("X-Ratelimit-Limit-Requests") != "2" || last.Header().Get("X-Ratelimit-Remaining-Requests") != "1") {
			t.Fatalf("first answer headers %v", last.Header())
		}
	}
	if last.Code != 429 || last.Header().Get("Retry-After") == "" || last.Header().Get("X-Ratelimit-Reset-Requests") == "" {
		t.Fatalf("third request: %d %v", last.Code, last.Header())
	}
	if e := errorOf(t, last); e.Type != "rate_limit_error" {
		t.Errorf("type %s", e.Type)
	}
	if a.calls.Load() != 2 {
		t.Errorf("upstream calls %d, want 2", a.calls.Load())
	}
}

func TestTokenLimitReservesTheEstimateAndSettlesRealUsage(t *testing.T) {
	a := newUpstream(t, okChat("a")) // answers with 5 total tokens
	st := memory.New(nil)
	g := newStateful(t, stateful, st, a, a)
	secret, id := createKey(t, g, `{"limits":{"tpm":1000}}`)
	body := `{"model":"shared","max_tokens":300,"messages":[{"role":"user","content":"hi"}]}`
	if rec := do(t, g, "POST", "/v1/chat/completions", body, "Authorization", "Bearer "+secret); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// After settlement the window holds the real 5 tokens, not the ~300 reserved.
	tpm := state.WindowUse{Window: state.Window{Name: "tpm", Size: time.Minute}, N: 995, Limit: 1000}
	res, err := st.KeyUses.Reserve(context.Background(), id, time.Now(), state.KeyUse{Windows: []state.WindowUse{tpm}})
	if err != nil || !res.Allowed {
		t.Fatalf("995 more tokens must fit after settling 5: %+v %v", res, err)
	}
	// The window is now full: a request reserving 300 more is refused.
	body = `{"model":"shared","max_tokens":300,"messages":[{"role":"user","content":"another question"}]}`
	if rec := do(t, g, "POST", "/v1/chat/completions", body, "Authorization", "Bearer "+secret); rec.Code != 429 || rec.Header().Get("X-Ratelimit-Limit-Tokens") != "1000" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
}

func TestCostHeaderSpendAndBudget(t *testing.T) {
	a := newUpstream(t, okChat("a")) // 3 prompt + 2 completion tokens
	st := memory.New(nil)
	g := newStateful(t, stateful, st, a, a)
	// shared costs $1 per prompt token and $2 per completion token: $7 a request.
	secret, id := createKey(t, g, `{"budget":{"total_usd":20}}`)
	for i := 0; i < 3; i++ {
		rec := do(t, g, "POST", "/v1/chat/completions", fmt.Sprintf(`{"model":"shared","messages":[{"role":"user","content":"n%d"}]}`, i), "Authorization", "Bearer "+secret)
		if rec.Code != 200 || rec.Header().Get("X-Gateway-Cost-Usd") != "7" {
			t.Fatalf("request %d: %d cost %q", i, rec.Code, rec.Header().Get("X-Gateway-Cost-Usd"))
		}
	}
	s, _ := st.Spend.Get(context.Background(), id, time.Now())
	if s.TotalMicros != 21_000_000 || s.DayMicros != 21_000_000 || s.MonthMicros != 21_000_000 {
		t.Fatalf("spend %+v", s)
	}
	rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"shared","messages":[{"role":"user","content":"more"}]}`, "Authorization", "Bearer "+secret)
	if rec.Code != 429 || !strings.Contains(errorOf(t, rec).Message, "budget") {
		t.Fatalf("over budget: %d %s", rec.Code, rec.Body)
	}
	usage := do(t, g, "GET", "/admin/usage", "", "Authorization", "Bearer "+adminKey)
	if !strings.Contains(usage.Body.String(), `"total_usd":21`) {
		t.Fatalf("usage %s", usage.Body)
	}
}

func TestBudgetOverspendIsBoundedByRequestsInFlight(t *testing.T) {
	var inflight, peak atomic.Int64
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inflight.Add(-1)
		okChat("a")(w, r)
	})
	st := memory.New(nil)
	g := newStateful(t, stateful, st, a, a)
	secret, id := createKey(t, g, `{"budget":{"total_usd":50}}`) // $7 a request
	const clients = 8
	var wg sync.WaitGroup
	var admitted atomic.Int64
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			// max_tokens bounds the reservation near the real cost; without it
			// the reservation assumes the default maximum output, and one
			// request in flight holds the whole budget.
			for i := 0; i < 30; i++ {
				rec := do(t, g, "POST", "/v1/chat/completions", fmt.Sprintf(`{"model":"shared","max_tokens":2,"messages":[{"role":"user","content":"%d-%d"}]}`, c, i), "Authorization", "Bearer "+secret)
				if rec.Code == 200 {
					admitted.Add(1)
				}
			}
		}(c)
	}
	wg.Wait()
	// With nothing in flight, requests are admitted until the spend reaches
	// the budget (a refused client above may have given up early).
	for i := 0; i < 10; i++ {
		rec := do(t, g, "POST", "/v1/chat/completions", fmt.Sprintf(`{"model":"shared","max_tokens":2,"messages":[{"role":"user","content":"after-%d"}]}`, i), "Authorization", "Bearer "+secret)
		if rec.Code != 200 {
			break
		}
		admitted.Add(1)
	}
	s, _ := st.Spend.Get(context.Background(), id, time.Now())
	// Admission reserves each request's estimated cost before the call and
	// settles it to the real cost after, so past the budget at most the
	// requests admitted but not yet settled (one per concurrent client) can
	// complete.
	maxMicros := int64(50_000_000) + clients*7_000_000
	if s.TotalMicros > maxMicros || s.TotalMicros < 50_000_000 {
		t.Fatalf("spent %d µ$ with %d clients (peak %d upstream); bound %d", s.TotalMicros, clients, peak.Load(), maxMicros)
	}
	if admitted.Load() >= clients*30 {
		t.Fatal("the budget refused nothing")
	}
	if s.TotalMicros != admitted.Load()*7_000_000 {
		t.Fatalf("spend %d does not match %d admitted requests", s.TotalMicros, admitted.Load())
	}
}

func TestResponseCache(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, strings.Replace(stateful, "enabled = true\nadmin_key", "enabled = false\nadmin_key", 1), nil, a, a)
	body := `{"model":"shared","messages":[{"role":"user","content":"cache me"}],"temperature":0}`
	first := do(t, g, "POST", "/v1/chat/completions", body)
	second := do(t, g, "POST", "/v1/chat/completions", body)
	if first.Header().Get("X-Gateway-Cache") != "miss" || second.Header().Get("X-Gateway-Cache") != "hit" {
		t.Fatalf("cache headers %q then %q", first.Header().Get("X-Gateway-Cache"), second.Header().Get("X-Gateway-Cache"))
	}
	if first.Body.String() != second.Body.String() || a.calls.Load() != 1 {
		t.Fatalf("hit differs or upstream called %d times", a.calls.Load())
	}
	t.Run("a different parameter misses", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/chat/completions", strings.Replace(body, `"temperature":0`, `"temperature":0.5`, 1))
		if rec.Header().Get("X-Gateway-Cache") != "miss" {
			t.Fatal("a changed temperature hit the cache")
		}
	})
	t.Run("no-cache and bypass skip it", func(t *testing.T) {
		before := a.calls.Load()
		for _, h := range [][2]string{{"Cache-Control", "no-cache"}, {"X-Gateway-Cache", "bypass"}} {
			rec := do(t, g, "POST", "/v1/chat/completions", body, h[0], h[1])
			if rec.Header().Get("X-Gateway-Cache") != "bypass" {
				t.Fatalf("%s: %q", h[0], rec.Header().Get("X-Gateway-Cache"))
			}
		}
		if a.calls.Load() != before+2 {
			t.Fatal("a bypassed request did not reach the upstream")
		}
	})
	t.Run("a cached answer replays as SSE for a stream request", func(t *testing.T) {
		rec := do(t, g, "POST", "/v1/chat/completions", strings.Replace(body, `"temperature":0`, `"temperature":0,"stream":true,"stream_options":{"include_usage":true}`, 1))
		ev := sseEvents(t, rec.Body.String())
		if rec.Header().Get("X-Gateway-Cache") != "hit" || ev[len(ev)-1] != "[DONE]" || !strings.Contains(rec.Body.String(), `"content":"from a"`) || !strings.Contains(rec.Body.String(), `"usage"`) {
			t.Fatalf("%q %q", rec.Header().Get("X-Gateway-Cache"), ev)
		}
	})
	t.Run("a completed stream is cached and a cut one is not", func(t *testing.T) {
		sb := `{"model":"only-a","stream":true,"messages":[{"role":"user","content":"stream me"}]}`
		do(t, g, "POST", "/v1/chat/completions", sb)
		rec := do(t, g, "POST", "/v1/chat/completions", strings.Replace(sb, `"stream":true`, `"stream":false`, 1))
		if rec.Header().Get("X-Gateway-Cache") != "hit" || !strings.Contains(rec.Body.String(), `"content":"from a"`) {
			t.Fatalf("%q %s", rec.Header().Get("X-Gateway-Cache"), rec.Body)
		}
	})
	t.Run("generate answers cached: true the second time", func(t *testing.T) {
		one := do(t, g, "POST", "/generate", `{"prompt":"same prompt"}`)
		two := do(t, g, "POST", "/generate", `{"prompt":"same prompt"}`)
		if !strings.Contains(one.Body.String(), `"cached":false`) || !strings.Contains(two.Body.String(), `"cached":true`) {
			t.Fatalf("%s then %s", one.Body, two.Body)
		}
	})
}

func TestACutStreamIsNotCached(t *testing.T) {
	var n atomic.Int64
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n")
		w.(http.Flusher).Flush()
		if n.Add(1) == 1 {
			panic(http.ErrAbortHandler)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
	g := newStateful(t, strings.Replace(stateful, "enabled = true\nadmin_key", "enabled = false\nadmin_key", 1), nil, a, a)
	sb := `{"model":"only-a","stream":true,"messages":[{"role":"user","content":"x"}]}`
	do(t, g, "POST", "/v1/chat/completions", sb)
	rec := do(t, g, "POST", "/v1/chat/completions", sb)
	if rec.Header().Get("X-Gateway-Cache") != "miss" || a.calls.Load() != 2 {
		t.Fatalf("a cut stream was served from cache: %q calls=%d", rec.Header().Get("X-Gateway-Cache"), a.calls.Load())
	}
}

func TestAPerTargetLimitSkipsToTheNextTarget(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	b := newUpstream(t, okChat("b"))
	toml := strings.Replace(twoProviders, `models = ["shared", "only-a"]`, "models = [\"shared\", \"only-a\"]\nrpm = 1", 1)
	g := newStateful(t, toml, nil, a, b)
	one := do(t, g, "POST", "/v1/chat/completions", hello)
	two := do(t, g, "POST", "/v1/chat/completions", hello)
	if one.Header().Get("X-Gateway-Provider") != "a" || two.Header().Get("X-Gateway-Provider") != "b" {
		t.Fatalf("answered by %q then %q", one.Header().Get("X-Gateway-Provider"), two.Header().Get("X-Gateway-Provider"))
	}
	if a.calls.Load() != 1 {
		t.Fatalf("a called %d times over its limit of 1", a.calls.Load())
	}
}

func TestKeyAllowListsAreEnforced(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	b := newUpstream(t, okChat("b"))
	g := newStateful(t, stateful, nil, a, b)
	s1, _ := createKey(t, g, `{"allowed_models":["only-a"]}`)
	if rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+s1); rec.Code != 403 {
		t.Fatalf("disallowed model: %d", rec.Code)
	}
	s2, _ := createKey(t, g, `{"allowed_providers":["b"]}`)
	rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+s2)
	if rec.Code != 200 || rec.Header().Get("X-Gateway-Provider") != "b" {
		t.Fatalf("%d from %q", rec.Code, rec.Header().Get("X-Gateway-Provider"))
	}
}

// failingKeyUses is a key-use store that cannot be reached.
type failingKeyUses struct{}

func (failingKeyUses) Reserve(context.Context, string, time.Time, state.KeyUse) (state.KeyUseResult, error) {
	return state.KeyUseResult{}, errors.New("timeout")
}
func (failingKeyUses) Settle(context.Context, string, time.Time, []state.WindowDelta, state.SpendAmounts) error {
	return errors.New("timeout")
}

func TestLimitStoreOutageFailsOpenByDefaultAndClosedWhenConfigured(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	for _, tc := range []struct {
		extra string
		want  int
	}{{"", 200}, {"\n[limits]\nfail_closed = true\n", 503}} {
		st := memory.New(nil)
		g := newStateful(t, stateful+tc.extra, st, a, a)
		secret, _ := createKey(t, g, `{"limits":{"rpm":10}}`)
		st.KeyUses = failingKeyUses{}
		if rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+secret); rec.Code != tc.want {
			t.Fatalf("%q: %d, want %d", tc.extra, rec.Code, tc.want)
		}
		if g.Admission.Counters().LimitErrors == 0 {
			t.Error("the outage was not counted")
		}
	}
}

func TestAdminProvidersBreakersAndRedactedConfig(t *testing.T) {
	a := newUpstream(t, status(500, "down"))
	b := newUpstream(t, okChat("b"))
	toml := stateful + "\n[defaults.breaker]\nfailure_threshold = 1\nrecovery_timeout = \"1h\"\n"
	g := newStateful(t, toml, nil, a, b)
	secret, _ := createKey(t, g, `{}`)
	if rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+secret); rec.Code != 200 {
		t.Fatalf("%d", rec.Code)
	}
	var provs struct {
		Data []struct {
			Name    string `json:"name"`
			Healthy bool   `json:"healthy"`
		} `json:"data"`
	}
	rec := do(t, g, "GET", "/admin/providers", "", "Authorization", "Bearer "+adminKey)
	if err := json.Unmarshal(rec.Body.Bytes(), &provs); err != nil || len(provs.Data) != 2 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if provs.Data[0].Name != "a" || provs.Data[0].Healthy || !provs.Data[1].Healthy {
		t.Fatalf("health %+v", provs.Data)
	}
	rec = do(t, g, "GET", "/admin/circuit-breakers", "", "Authorization", "Bearer "+adminKey)
	if !strings.Contains(rec.Body.String(), `"state":"open"`) || !strings.Contains(rec.Body.String(), `"provider":"a"`) {
		t.Fatalf("breakers %s", rec.Body)
	}
	rec = do(t, g, "GET", "/admin/config", "", "Authorization", "Bearer "+adminKey)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "[REDACTED]") {
		t.Fatalf("%d %s", rec.Code, body)
	}
	for _, s := range []string{secretKey, adminKey, jwtSecret} {
		if strings.Contains(body, s) {
			t.Fatalf("admin config leaks a secret: %s", body)
		}
	}
	if rec := do(t, g, "GET", "/admin/config", "", "Authorization", "Bearer "+secret); rec.Code != 401 {
		t.Fatalf("a virtual key read the admin config: %d", rec.Code)
	}
}

// failingCache is a cache store that cannot be reached.
type failingCache struct{}

func (failingCache) Get(context.Context, string) (*state.CacheEntry, error) {
	return nil, errors.New("cache down")
}
func (failingCache) Put(context.Context, string, *state.CacheEntry, time.Duration) error {
	return errors.New("cache down")
}

func TestCacheErrorsNeverFailARequest(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	st := memory.New(nil)
	st.Cache = failingCache{}
	g := newStateful(t, strings.Replace(stateful, "enabled = true\nadmin_key", "enabled = false\nadmin_key", 1), st, a, a)
	for i := 0; i < 2; i++ {
		if rec := do(t, g, "POST", "/v1/chat/completions", hello); rec.Code != 200 || rec.Header().Get("X-Gateway-Cache") != "miss" {
			t.Fatalf("%d cache=%q", rec.Code, rec.Header().Get("X-Gateway-Cache"))
		}
	}
	if g.Admission.Counters().CacheErrors == 0 {
		t.Error("cache errors were not counted")
	}
}

func TestARouteCanTurnTheCacheOff(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	toml := strings.Replace(stateful, "enabled = true\nadmin_key", "enabled = false\nadmin_key", 1) + `
[[routes]]
model = "fresh"
cache_ttl = "-1s"
targets = [{ provider = "a", model = "m" }]
`
	g := newStateful(t, toml, nil, a, a)
	body := `{"model":"fresh","messages":[{"role":"user","content":"always new"}]}`
	for i := 0; i < 2; i++ {
		if rec := do(t, g, "POST", "/v1/chat/completions", body); rec.Code != 200 || rec.Header().Get("X-Gateway-Cache") != "" {
			t.Fatalf("%d cache=%q", rec.Code, rec.Header().Get("X-Gateway-Cache"))
		}
	}
	if a.calls.Load() != 2 {
		t.Fatalf("upstream calls %d, want 2", a.calls.Load())
	}
}

func TestImagesAndTranscriptionsAreForwardedToOpenAIProtocolProviders(t *testing.T) {
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/images/generations":
			fmt.Fprint(w, `{"created":1,"data":[{"url":"https://img.example/1.png"}]}`)
		case "/audio/transcriptions":
			fmt.Fprint(w, `{"text":"hello world"}`)
		default:
			w.WriteHeader(404)
		}
	})
	g, _ := newGateway(t, twoProviders, a, a)
	rec := do(t, g, "POST", "/v1/images/generations", `{"model":"only-a","prompt":"a lighthouse","size":"1024x1024"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "img.example") || !strings.Contains(string(a.lastBody()), `"size":"1024x1024"`) {
		t.Fatalf("images: %d %s", rec.Code, rec.Body)
	}
	body := "--XX\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nonly-a\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFFdata\r\n--XX--\r\n"
	req := httptest.NewRequest("POST", "/v1/audio/transcriptions", strings.NewReader(body))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=XX")
	rr := httptest.NewRecorder()
	g.ServeHTTP(rr, req)
	if rr.Code != 200 || !strings.Contains(rr.Body.String(), "hello world") || !strings.Contains(string(a.lastBody()), "RIFFdata") {
		t.Fatalf("transcription: %d %s", rr.Code, rr.Body)
	}
}

func TestPinnedModelCannotEscapeAllowList(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	b := newUpstream(t, okChat("b"))
	// b serves any model name through its wildcard; a key is given only-a.
	g := newStateful(t, strings.Replace(stateful, `models = ["shared"]`, `models = ["shared", "*"]`, 1), nil, a, b)
	secret, _ := createKey(t, g, `{"allowed_models":["only-a"]}`)
	auth := []string{"Authorization", "Bearer " + secret}
	only := `{"model":"only-a","messages":[{"role":"user","content":"x"}]}`
	if rec := do(t, g, "POST", "/v1/chat/completions", only, auth...); rec.Code != 200 || rec.Header().Get("X-Gateway-Provider") != "a" {
		t.Fatalf("the allowed model: %d from %q", rec.Code, rec.Header().Get("X-Gateway-Provider"))
	}
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"header pin":     do(t, g, "POST", "/v1/chat/completions", only, append(auth, "X-Gateway-Provider", "b")...),
		"prefix pin":     do(t, g, "POST", "/v1/chat/completions", `{"model":"b/only-a","messages":[{"role":"user","content":"x"}]}`, auth...),
		"wildcard model": do(t, g, "POST", "/v1/chat/completions", `{"model":"gpt-anything","messages":[{"role":"user","content":"x"}]}`, auth...),
		"generate pin":   do(t, g, "POST", "/generate", `{"prompt":"x","model":"only-a","provider":"b"}`, auth...),
	} {
		if rec.Code != 403 || b.calls.Load() != 0 {
			t.Errorf("%s: %d (b called %d times) %s", name, rec.Code, b.calls.Load(), rec.Body)
		}
	}
}
