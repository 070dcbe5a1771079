package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/gateway"
	"github.com/aigateway/gateway/internal/testutil"
)

func TestRecoverTurnsAPanicBeforeTheFirstByteIntoA500(t *testing.T) {
	for _, p := range []any{"boom", http.ErrAbortHandler} {
		h := gateway.Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(p) }), true, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"type":"api_error"`) {
			t.Fatalf("panic(%v): %d %s", p, rec.Code, rec.Body)
		}
	}
}

func TestRecoverEndsAStreamThatPanicsWithAnErrorEventAndDone(t *testing.T) {
	h := gateway.Recover(testutil.SSEHandler(2, func(http.ResponseWriter) { panic("mid-stream") }), true, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil))
	want := "data: {\"n\":1}\n\ndata: {\"n\":1}\n\n" +
		`data: {"error":{"message":"internal error","type":"api_error","param":null,"code":"internal_error"}}` +
		"\n\ndata: [DONE]\n\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("%d\n%s", rec.Code, rec.Body)
	}
}

func TestRecoverReraisesAbortsUnlessAskedNotTo(t *testing.T) {
	h := gateway.Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }), false, nil)
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler re-raised for the server to cut the connection", p)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
}
