package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/router"
)

// Faults that happen before the first byte of an answer reaches the gateway:
// each must be replaced by the next target, for complete answers and streams.
var beforeFirstByte = []Fault{ServerError, RateLimited, SlowFirstByte, Hang, ResetBeforeHeaders,
	MalformedJSON, WrongContentType, EmptyBody, HeartbeatOnly}

// blocking faults fail over only when the attempt timeout fires.
var blocking = map[Fault]bool{SlowFirstByte: true, Hang: true, HeartbeatOnly: true}

// faulty configures upstream a for fault f: the short attempt timeout when
// only a timeout ends f, else the roomy one, so that a loaded machine cannot
// time out an attempt before f happens.
func faulty(f Fault) options {
	if blocking[f] {
		return options{aTimeout: attemptTimeout}
	}
	return options{}
}

// checkCalls asserts how often each upstream was called. Under load a
// blocking fault's short attempt timeout may fire before the request reaches
// a, so then a may have seen no call at all.
func checkCalls(t *testing.T, s *suite, f Fault, wantA, wantB int64) {
	t.Helper()
	a := s.a.Calls()
	aOK := a == wantA || (blocking[f] && a < wantA)
	if !aOK || s.b.Calls() != wantB {
		t.Errorf("calls a=%d b=%d, want %d and %d", a, s.b.Calls(), wantA, wantB)
	}
}

func TestEveryFaultBeforeTheFirstByteFailsOverToTheHealthyTarget(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		faults := append([]Fault{ResetMidBody}, beforeFirstByte...) // a cut complete answer is useless too
		if stream {
			faults = beforeFirstByte
		}
		for _, f := range faults {
			t.Run(fmt.Sprintf("stream=%v/%s", stream, f), func(t *testing.T) {
				s := newSuite(t, f, OK, faulty(f))
				a := s.chat(t, "shared", stream)
				if a.status != http.StatusOK || a.header.Get("X-Gateway-Provider") != "b" {
					t.Fatalf("%d from %q: %s", a.status, a.header.Get("X-Gateway-Provider"), a.body)
				}
				if a.took > answerBound {
					t.Errorf("failover took %s, bound %s", a.took, answerBound)
				}
				if blocking[f] && a.took < attemptTimeout {
					t.Errorf("failover after %s, before the attempt timeout %s: the fault was not injected", a.took, attemptTimeout)
				}
				checkCalls(t, s, f, 1, 1)
				if stream {
					text, errMsg := streamText(t, sseEvents(t, a))
					if text != Reply("b") || errMsg != "" {
						t.Errorf("stream text %q, error %q", text, errMsg)
					}
				} else if !strings.Contains(a.body, Reply("b")) {
					t.Errorf("body %s", a.body)
				}
				if a.log.str("provider") != "b" || a.log.int("failovers") != 1 || a.log.str("error") != "" {
					t.Errorf("log line %v", a.log)
				}
				checkUsageLogged(t, a)
			})
		}
	}
}

func TestEmbeddingsFailOverOnUpstreamFaults(t *testing.T) {
	t.Parallel()
	for _, f := range []Fault{ServerError, Hang, ResetMidBody, MalformedJSON, WrongContentType, EmptyBody} {
		t.Run(string(f), func(t *testing.T) {
			s := newSuite(t, f, OK, faulty(f))
			a := s.post(t, "/v1/embeddings", `{"model":"shared","input":"hi"}`)
			if a.status != http.StatusOK || a.header.Get("X-Gateway-Provider") != "b" || !json.Valid([]byte(a.body)) {
				t.Fatalf("%d from %q: %s", a.status, a.header.Get("X-Gateway-Provider"), a.body)
			}
			if a.log.int("prompt_tokens") != PromptTokens || a.log.int("failovers") != 1 {
				t.Errorf("log line %v", a.log)
			}
		})
	}
}

func TestAStreamFaultAfterTheFirstByteEndsWithAnErrorEventAndDone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault    Fault
		text     string
		hasUsage bool
	}{
		{ResetMidBody, "partial ", false},
		{NoDone, Reply("a"), true},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			s := newSuite(t, tc.fault, OK, options{})
			a := s.chat(t, "shared", true)
			text, errMsg := streamText(t, sseEvents(t, a))
			if text != tc.text || !strings.Contains(errMsg, "cut") {
				t.Errorf("text %q, error event %q", text, errMsg)
			}
			if a.header.Get("X-Gateway-Provider") != "a" || s.b.Calls() != 0 {
				t.Errorf("after the first byte there is no failover: provider %q, b called %d times",
					a.header.Get("X-Gateway-Provider"), s.b.Calls())
			}
			if a.log.int("status") != 200 || !strings.Contains(a.log.str("error"), "cut") {
				t.Errorf("log line %v", a.log)
			}
			if tc.hasUsage {
				// The usage chunk came before the cut: it is not lost.
				checkUsageLogged(t, a)
			}
		})
	}
}

func TestNothingHealthyGivesACleanOpenAIError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault  Fault
		stream bool
		status int
		typ    string
	}{
		{ServerError, false, http.StatusBadGateway, "api_error"},
		{ServerError, true, http.StatusBadGateway, "api_error"},
		{ResetBeforeHeaders, false, http.StatusBadGateway, "api_error"},
		{MalformedJSON, false, http.StatusBadGateway, "api_error"},
		{WrongContentType, true, http.StatusBadGateway, "api_error"},
		{EmptyBody, true, http.StatusBadGateway, "api_error"},
		{Hang, false, http.StatusGatewayTimeout, "timeout_error"},
		{Hang, true, http.StatusGatewayTimeout, "timeout_error"},
		{SlowFirstByte, false, http.StatusGatewayTimeout, "timeout_error"},
		{HeartbeatOnly, true, http.StatusGatewayTimeout, "timeout_error"},
		{RateLimited, false, http.StatusTooManyRequests, "rate_limit_error"},
		{RateLimited, true, http.StatusTooManyRequests, "rate_limit_error"},
	} {
		t.Run(fmt.Sprintf("%s/stream=%v", tc.fault, tc.stream), func(t *testing.T) {
			s := newSuite(t, tc.fault, tc.fault, faulty(tc.fault))
			a := s.chat(t, "shared", tc.stream)
			checkOpenAIError(t, a, tc.status, tc.typ)
			if a.took > answerBound {
				t.Errorf("the error took %s, bound %s", a.took, answerBound)
			}
			checkCalls(t, s, tc.fault, 1, 1)
			if tc.status == http.StatusTooManyRequests && a.header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q, want the upstream's 1", a.header.Get("Retry-After"))
			}
			for _, u := range []string{s.a.URL, s.b.URL} {
				if strings.Contains(a.body, u) {
					t.Errorf("the error leaks an upstream URL: %s", a.body)
				}
			}
		})
	}
}

func TestBreakerOpensSkipsTheTargetAndClosesAfterRecovery(t *testing.T) {
	t.Parallel()
	const recovery = time.Second // long enough for the open-state requests below, even under -race
	s := newSuite(t, ServerError, OK, options{extra: breakerTOML(3, recovery)})
	for i := 1; i <= 3; i++ {
		if a := s.chat(t, "shared", false); a.status != 200 || a.log.int("failovers") != 1 {
			t.Fatalf("request %d: %d %v", i, a.status, a.log)
		}
		want := router.Closed
		if i == 3 {
			want = router.Open
		}
		if got := s.breaker(t, "a/shared"); got != want {
			t.Fatalf("after %d failures the breaker is %s, want %s", i, got, want)
		}
	}
	t.Run("an open breaker skips the target", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			a := s.chat(t, "shared", i%2 == 1)
			if a.status != 200 || a.header.Get("X-Gateway-Provider") != "b" || a.log.int("failovers") != 0 {
				t.Fatalf("%d from %q: %v", a.status, a.header.Get("X-Gateway-Provider"), a.log)
			}
			checkUsageLogged(t, a)
		}
		if s.a.Calls() != 3 {
			t.Errorf("a was called %d times while open, want 3 in all", s.a.Calls())
		}
		if got := s.breaker(t, "a/shared"); got != router.Open {
			t.Fatalf("the breaker is %s before its recovery timeout", got)
		}
	})
	t.Run("a successful trial call closes it", func(t *testing.T) {
		s.a.SetDefault(OK)
		s.waitBreaker(t, "a/shared", router.HalfOpen, 5*recovery)
		a := s.chat(t, "shared", false)
		if a.status != 200 || a.header.Get("X-Gateway-Provider") != "a" {
			t.Fatalf("trial call: %d from %q", a.status, a.header.Get("X-Gateway-Provider"))
		}
		if got := s.breaker(t, "a/shared"); got != router.Closed {
			t.Fatalf("after a successful trial the breaker is %s", got)
		}
	})
	t.Run("a failed trial call opens it again at once", func(t *testing.T) {
		s.a.SetDefault(ServerError)
		for i := 0; i < 3; i++ {
			s.chat(t, "shared", false)
		}
		s.waitBreaker(t, "a/shared", router.HalfOpen, 5*recovery)
		before := s.a.Calls()
		a := s.chat(t, "shared", false)
		if a.status != 200 || a.header.Get("X-Gateway-Provider") != "b" || s.a.Calls() != before+1 {
			t.Fatalf("%d from %q, a calls %d → %d", a.status, a.header.Get("X-Gateway-Provider"), before, s.a.Calls())
		}
		if got := s.breaker(t, "a/shared"); got != router.Open {
			t.Fatalf("after a failed trial the breaker is %s, want open", got)
		}
	})
}

func TestStreamsCutAfterTheFirstByteCountAgainstTheBreaker(t *testing.T) {
	t.Parallel()
	s := newSuite(t, ResetMidBody, OK, options{extra: breakerTOML(2, time.Hour)})
	for i := 0; i < 2; i++ {
		a := s.chat(t, "shared", true)
		if _, errMsg := streamText(t, sseEvents(t, a)); errMsg == "" || a.header.Get("X-Gateway-Provider") != "a" {
			t.Fatalf("stream %d was not cut by a: %q", i, a.body)
		}
	}
	if got := s.breaker(t, "a/shared"); got != router.Open {
		t.Fatalf("two cut streams left the breaker %s", got)
	}
	a := s.chat(t, "shared", true)
	if text, errMsg := streamText(t, sseEvents(t, a)); text != Reply("b") || errMsg != "" || s.a.Calls() != 2 {
		t.Fatalf("with a open: %q %q, a calls %d", text, errMsg, s.a.Calls())
	}
	checkUsageLogged(t, a)
}

func TestEveryBreakerOpenIsAFast503(t *testing.T) {
	t.Parallel()
	s := newSuite(t, ServerError, ServerError, options{extra: breakerTOML(1, time.Hour)})
	checkOpenAIError(t, s.chat(t, "shared", false), http.StatusBadGateway, "api_error")
	for _, stream := range []bool{false, true} {
		a := s.chat(t, "shared", stream)
		checkOpenAIError(t, a, http.StatusServiceUnavailable, "api_error")
		if s.a.Calls() != 1 || s.b.Calls() != 1 {
			t.Fatalf("open targets were called: a=%d b=%d", s.a.Calls(), s.b.Calls())
		}
		if a.took > answerBound {
			t.Errorf("an answer with every breaker open took %s", a.took)
		}
	}
}

func TestAClientThatLeavesMidStreamCancelsTheUpstreamRequest(t *testing.T) {
	t.Parallel()
	s := newSuite(t, Endless, OK, options{})
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v1/chat/completions",
		strings.NewReader(chatBody("only-a", true)))
	req.Header.Set("X-Request-Id", "client-leaves")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: {") {
		t.Fatalf("first line %q: %v", line, err)
	}
	cancel()
	resp.Body.Close()
	select {
	case f := <-s.a.Cancelled():
		if f != Endless {
			t.Errorf("cancelled %s", f)
		}
	case <-time.After(clientTimeout):
		t.Fatal("the upstream request was not cancelled after the client left")
	}
	l, err := s.logs.request("client-leaves")
	if err != nil {
		t.Fatal(err)
	}
	if l.int("status") != 200 || l.str("error") != "client disconnected" || l.str("provider") != "a" {
		t.Errorf("log line %v", l)
	}
	if got := s.breaker(t, "a/only-a"); got != router.Closed {
		t.Errorf("a client leaving counted against the target: breaker %s", got)
	}
}

func TestConcurrentMixedFaultsAllAnswerWithinTheBound(t *testing.T) {
	t.Parallel()
	s := newSuite(t, OK, OK, options{aTimeout: attemptTimeout, extra: breakerTOML(100, time.Hour)})
	n := 3 * len(beforeFirstByte) // three of each fault that fails over in both modes
	for i := 0; i < n; i++ {
		s.a.Script(beforeFirstByte[i%len(beforeFirstByte)])
	}
	var wg sync.WaitGroup
	answers := make([]answer, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a, err := s.do("/v1/chat/completions", chatBody("shared", i%2 == 0))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			answers[i] = a
		}(i)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, a := range answers {
		if a.status != 200 || a.header.Get("X-Gateway-Provider") != "b" {
			t.Errorf("request %d: %d from %q", i, a.status, a.header.Get("X-Gateway-Provider"))
			continue
		}
		if i%2 == 0 {
			sseEvents(t, a)
		}
		checkUsageLogged(t, a)
	}
	// Some of the faults block: under load their short timeout may fire
	// before a request reaches a, so a may count fewer calls.
	if s.a.Calls() > int64(n) || s.b.Calls() != int64(n) {
		t.Errorf("calls a=%d b=%d, want at most %d and %d", s.a.Calls(), s.b.Calls(), n, n)
	}
}
