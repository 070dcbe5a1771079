package gateway_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkChatThroughHandler measures the handler's own cost per non-stream
// chat request against a loopback upstream (the upstream's cost included).
func BenchmarkChatThroughHandler(b *testing.B) {
	a := newUpstream(b, okChat("a"))
	g, _ := newGateway(b, twoProviders, a, a)
	body := `{"model":"only-a","messages":[{"role":"user","content":"Say hello in one short sentence."}],"temperature":0.2}`
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
