package lambdafn_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/lambdafn"
)

func TestTheRequestEndsBeforeTheInvocation(t *testing.T) {
	for _, tc := range []struct {
		name         string
		left, margin time.Duration
		noDeadline   bool
	}{
		{name: "a 30 s invocation keeps RequestMargin", left: 30 * time.Second, margin: lambdafn.RequestMargin},
		{name: "a 2 s invocation keeps half", left: 2 * time.Second, margin: time.Second},
		{name: "no deadline, none added", noDeadline: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var d time.Time
			if !tc.noDeadline {
				var cancel context.CancelFunc
				d = time.Now().Add(tc.left)
				ctx, cancel = context.WithDeadline(ctx, d)
				defer cancel()
			}
			var got time.Time
			var has bool
			lambdafn.Deadline(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got, has = r.Context().Deadline()
			})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil))
			if tc.noDeadline {
				if has {
					t.Fatalf("deadline %v added", got)
				}
				return
			}
			if margin := d.Sub(got); margin < tc.margin-10*time.Millisecond || margin > tc.margin {
				t.Fatalf("the request ends %s before the invocation, want %s", margin, tc.margin)
			}
		})
	}
}
