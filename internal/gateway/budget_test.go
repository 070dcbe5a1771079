package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/memory"
	"github.com/aigateway/gateway/internal/testutil"
)

// TestConcurrentCallsCannotOverspendABudget: before the call each request's
// estimated cost is reserved against the budget, so 50 concurrent calls to a
// slow upstream on a $50 daily budget ($7 a call) stop near the budget
// instead of all running (they all did when the budget was only read).
func TestConcurrentCallsCannotOverspendABudget(t *testing.T) {
	client := testutil.DynamoClient(t, testutil.DynamoEndpoint(t))
	table := testutil.NewTable(t, client, "gw-budget")
	st := dynamo.New(client, table)
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		okChat("a")(w, r)
	})
	g := newStateful(t, stateful, st, a, a)
	secret, id := createKey(t, g, `{"budget":{"daily_usd":50}}`)
	const calls = 50
	var ok, quota atomic.Int64
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			rec := do(t, g, "POST", "/v1/chat/completions", fmt.Sprintf(`{"model":"shared","max_tokens":2,"messages":[{"role":"user","content":"c%d"}]}`, i), "Authorization", "Bearer "+secret)
			switch {
			case rec.Code == 200:
				ok.Add(1)
			case rec.Code == 429 && errorOf(t, rec).Code != nil && *errorOf(t, rec).Code == "insufficient_quota":
				quota.Add(1)
			default:
				t.Errorf("%d %s", rec.Code, rec.Body)
			}
		})
	}
	wg.Wait()
	s, err := st.Spend.Get(context.Background(), id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Every admitted call was admitted while the day's spend plus the
	// reservations in flight was under $50, and each reservation is at least
	// the call's real cost: the overspend is at most one reservation.
	const oneReservation = 20_000_000
	if s.DayMicros > 50_000_000+oneReservation || ok.Load() == calls || ok.Load()+quota.Load() != calls {
		t.Fatalf("%d admitted, %d refused for quota, spent %d µ$ of a $50 budget", ok.Load(), quota.Load(), s.DayMicros)
	}
	if s.DayMicros != ok.Load()*7_000_000 {
		t.Fatalf("the reservations were not settled to the real cost: spent %d µ$ for %d calls of $7", s.DayMicros, ok.Load())
	}
}

func TestABudgetRefusalIsInsufficientQuota(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, stateful, nil, a, a)
	secret, _ := createKey(t, g, `{"budget":{"total_usd":5}}`)
	do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+secret) // $7: the budget is spent
	rec := do(t, g, "POST", "/v1/chat/completions", hello, "Authorization", "Bearer "+secret)
	e := errorOf(t, rec)
	if rec.Code != 429 || e.Code == nil || *e.Code != "insufficient_quota" || e.Type != "insufficient_quota" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestAModelWithoutAPriceIsNeverSilentlyFree(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	b := newUpstream(t, okChat("b"))
	// b serves any model name; "anything-goes" has no price.
	g := newStateful(t, strings.Replace(stateful, `models = ["shared"]`, `models = ["shared", "*"]`, 1), nil, a, b)
	unpriced := `{"model":"anything-goes","messages":[{"role":"user","content":"x"}]}`
	budgeted, _ := createKey(t, g, `{"budget":{"total_usd":0.05}}`)
	rec := do(t, g, "POST", "/v1/chat/completions", unpriced, "Authorization", "Bearer "+budgeted)
	if rec.Code != 403 || !strings.Contains(errorOf(t, rec).Message, "price") || b.calls.Load() != 0 {
		t.Fatalf("an unpriced model under a budget: %d %s (upstream called %d times)", rec.Code, rec.Body, b.calls.Load())
	}
	open, _ := createKey(t, g, `{}`)
	rec = do(t, g, "POST", "/v1/chat/completions", unpriced, "Authorization", "Bearer "+open)
	if rec.Code != 200 || rec.Header().Get("X-Gateway-Cost-Usd") != "unpriced" {
		t.Fatalf("an unpriced model without a budget: %d cost %q", rec.Code, rec.Header().Get("X-Gateway-Cost-Usd"))
	}
}

func TestAHugeMaxTokensCannotOverflowTheTokenReservation(t *testing.T) {
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		okChat("a")(w, r)
	})
	g := newStateful(t, stateful, nil, a, a)
	secret, _ := createKey(t, g, `{"limits":{"tpm":1000}}`)
	body := fmt.Sprintf(`{"model":"shared","max_tokens":%d,"messages":[{"role":"user","content":"x"}]}`, int64(math.MaxInt64))
	rec := do(t, g, "POST", "/v1/chat/completions", body, "Authorization", "Bearer "+secret)
	// The reservation is the whole minute's tokens, not 1 (the sum overflowed).
	if rec.Code != 200 || rec.Header().Get("X-Ratelimit-Remaining-Tokens") != "0" {
		t.Fatalf("%d remaining tokens %q", rec.Code, rec.Header().Get("X-Ratelimit-Remaining-Tokens"))
	}
}

// TestAnAbandonedStreamIsChargedForWhatWasRelayed: the client leaves after
// the first chunks, before the upstream's usage: the upstream bills what it
// produced, so the key is charged for the relayed text (it was charged
// nothing, and its token reservation refunded whole).
func TestAnAbandonedStreamIsChargedForWhatWasRelayed(t *testing.T) {
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for range 6 {
			fmt.Fprint(w, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"sixteen bytes...\"}}]}\n\n")
			w.(http.Flusher).Flush()
		}
		<-r.Context().Done()
	})
	st := memory.New(nil)
	g := newWithOptions(t, stateful, app.Options{Store: st}, a, a)
	secret, id := createKey(t, g, `{"limits":{"tpm":100000}}`)
	srv := httptest.NewServer(g)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"shared","stream":true,"messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for n := 0; n < 6; {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") {
			n++
		}
	}
	cancel()
	resp.Body.Close()
	// 96 bytes relayed ≈ 24 completion tokens at $2 each, plus the prompt.
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, _ := st.Spend.Get(context.Background(), id, time.Now())
		if s.TotalMicros >= 48_000_000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an abandoned stream was charged %d µ$", s.TotalMicros)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A chat request with a cache_control breakpoint reserves its prompt at the
// one-hour cache-write price (settling may charge that), one without at the
// input price: seen in the spend while the call is in flight.
func TestACacheBreakpointReservesTheCacheWritePrice(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		okChat("a")(w, r)
	})
	st := memory.New(nil)
	toml := strings.Replace(stateful, "output = 2000000.0\n", "output = 2000000.0\ncache_write_1h = 3000000.0\n", 1)
	g := newStateful(t, toml, st, a, a)
	inFlight := func(content string) int64 {
		t.Helper()
		secret, id := createKey(t, g, `{"budget":{"daily_usd":1000000}}`)
		done := make(chan int, 1)
		go func() {
			rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"shared","max_tokens":1,"messages":[{"role":"user","content":`+content+`}]}`, "Authorization", "Bearer "+secret)
			done <- rec.Code
		}()
		<-arrived
		s, err := st.Spend.Get(context.Background(), id, time.Now())
		release <- struct{}{}
		if code := <-done; err != nil || code != 200 {
			t.Fatalf("%d, %v", code, err)
		}
		return s.DayMicros
	}
	const text = `"` + "a prompt of some length to estimate" + `"`
	plain := inFlight(text)
	marked := inFlight(`[{"type":"text","text":` + text + `,"cache_control":{"type":"ephemeral","ttl":"1h"}}]`)
	// $1 per prompt token plain, $3 written for an hour; the output
	// allowance ($2 for max_tokens 1) is the same.
	prompt := plain - 2_000_000
	if prompt <= 0 || marked-2_000_000 < 3*prompt {
		t.Fatalf("reserved %d µ$ plain and %d µ$ with a cache breakpoint, want the prompt part tripled (at least)", plain, marked)
	}
}
