package admission_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/dynamo"
	"github.com/aigateway/gateway/internal/state/dynamo/fakedynamo"
)

// syncBuffer is a log destination safe for the admitter's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines are the JSON log lines with message msg.
func (s *syncBuffer) lines(msg string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// A key limited to 100 requests an hour whose counter lives behind a fake
// DynamoDB that misbehaves on cue.
func TestAdmitAgainstAStoreThatStumbles(t *testing.T) {
	key := &state.Key{ID: "k1", Enabled: true, Limits: state.KeyLimits{RequestsPerHour: 100}}
	for _, tc := range []struct {
		name       string
		script     []fakedynamo.Fault
		failClosed bool
		admitted   bool
		failOpen   int64
		applied    int64
	}{
		{"refused, then counted once", []fakedynamo.Fault{fakedynamo.Refuse, fakedynamo.Refuse}, false, true, 0, 1},
		{"throttled, then counted once", []fakedynamo.Fault{fakedynamo.Throttle}, false, true, 0, 1},
		{"reset after sending: admitted uncounted, and counted as such", []fakedynamo.Fault{fakedynamo.ResetUnapplied}, false, true, 1, 0},
		{"500: admitted uncounted, and counted as such", []fakedynamo.Fault{fakedynamo.InternalError}, false, true, 1, 0},
		{"reset after sending, fail closed: refused", []fakedynamo.Fault{fakedynamo.ResetUnapplied}, true, false, 0, 0},
		{"refused, fail closed: retried and admitted", []fakedynamo.Fault{fakedynamo.Refuse}, true, true, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakedynamo.New(t, tc.script...)
			var logs syncBuffer
			a := admission.New(admission.Settings{AuthEnabled: true, FailClosed: tc.failClosed}, admission.Options{
				Store:  dynamo.New(fake.Client(), "t"),
				Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ticket, err := a.Admit(ctx, admission.Request{Key: key, Endpoint: admission.Chat, Model: "m", Plan: &router.Plan{Route: "m"}})
			if tc.admitted != (err == nil && ticket != nil) {
				t.Fatalf("Admit = %v, %v; want admitted %v", ticket, err, tc.admitted)
			}
			if !tc.admitted {
				var oe *openai.Error
				if !errors.As(err, &oe) || oe.HTTPStatus() != http.StatusServiceUnavailable {
					t.Errorf("refusal %v, want a 503", err)
				}
			}
			if c := a.Counters(); c.FailOpen != tc.failOpen {
				t.Errorf("FailOpen = %d, want %d (%+v)", c.FailOpen, tc.failOpen, c)
			}
			if fake.Applied() != tc.applied {
				t.Errorf("%d writes applied, want %d", fake.Applied(), tc.applied)
			}
			var open int64
			for _, l := range logs.lines("rate limit store failed") {
				if l["level"] != "WARN" {
					t.Errorf("store failure logged at %v", l["level"])
				}
				if l["fail_open"] == true {
					open++
					if l["fail_open_total"] != float64(open) || l["key_id"] != key.ID {
						t.Errorf("fail-open line %v", l)
					}
				}
			}
			if open != tc.failOpen {
				t.Errorf("%d fail-open warnings, want %d:\n%s", open, tc.failOpen, logs.b.String())
			}
		})
	}
}
