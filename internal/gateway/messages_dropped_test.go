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
