package gateway_test

import (
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/gateway"
)

// What the translation to a chat provider leaves out of a Messages request
// is named in a response header and in the log line, streamed or not; a
// native target gets the whole request, and no header.
func TestMessagesFieldsTheTranslationDropsAreReported(t *testing.T) {
	const turns = `"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"sig"},{"type":"text","text":"y"}]},{"role":"user","content":"z"}]`
	for _, tc := range []struct{ name, model, stream, want string }{
		{"translated", "gpt-up", "false", "top_k,thinking_blocks"},
		{"translated stream", "gpt-up", "true", "top_k,thinking_blocks"},
		{"native", "claude-up", "false", ""},
		{"native stream", "claude-up", "true", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newUpstream(t, nativeUpstream), newUpstream(t, chatUpstream)
			g, logs := newGateway(t, messagesConfig, a, b)
			rec := postMessages(t, g, "/v1/messages", `{"model":"`+tc.model+`","max_tokens":16,"top_k":5,"stream":`+tc.stream+`,`+turns+`}`)
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get(gateway.DroppedHeader); got != tc.want {
				t.Errorf("%s = %q, want %q", gateway.DroppedHeader, got, tc.want)
			}
			logged := strings.Contains(logs.String(), `"dropped":"top_k,thinking_blocks"`)
			if logged != (tc.want != "") {
				t.Errorf("log line (dropped logged: %v): %s", logged, logs)
			}
		})
	}
}

// A cached answer made by a translated target names what was dropped too
// (the hit carried no header), streamed or not; one made natively does not.
func TestMessagesDroppedFieldsAreReportedOnACacheHit(t *testing.T) {
	for _, tc := range []struct{ model, want string }{{"gpt-up", "top_k"}, {"claude-up", ""}} {
		for _, stream := range []string{"false", "true"} {
			a, b := newUpstream(t, nativeUpstream), newUpstream(t, chatUpstream)
			g, _ := newGateway(t, messagesConfig+"\n[cache]\nenabled = true\n", a, b)
			body := `{"model":"` + tc.model + `","max_tokens":16,"top_k":5,"stream":` + stream + `,"messages":[{"role":"user","content":"x"}]}`
			postMessages(t, g, "/v1/messages", body)
			rec := postMessages(t, g, "/v1/messages", body)
			if rec.Code != 200 || rec.Header().Get("X-Gateway-Cache") != "hit" {
				t.Fatalf("%s stream=%s: %d cache=%q", tc.model, stream, rec.Code, rec.Header().Get("X-Gateway-Cache"))
			}
			if got := rec.Header().Get(gateway.DroppedHeader); got != tc.want {
				t.Errorf("%s stream=%s: hit's %s = %q, want %q", tc.model, stream, gateway.DroppedHeader, got, tc.want)
			}
		}
	}
}
