package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// reasoningChat is a chat upstream whose answers carry reasoning_content, as
// DeepSeek's and the gateway's own Anthropic translation do.
func reasoningChat(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"id":"c1","object":"chat.completion","created":1,"model":"r1","choices":[{"index":0,"message":{"role":"assistant","content":"4","reasoning_content":"2+2 is 4"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`)
}

func TestAChatAnswersReasoningIsAReasoningItemThatANativeTurnLeavesOut(t *testing.T) {
	oa := newUpstream(t, okResponses("oa", false))
	b := newUpstream(t, reasoningChat)
	g, _ := newGateway(t, nativeProviders, oa, b)
	rec := do(t, g, "POST", "/v1/responses", `{"model":"chat-only","input":"2+2?"}`)
	first := responseOf(t, rec)
	if len(first.Output) != 2 || first.Output[0].Type != "reasoning" || first.Output[1].Type != "message" ||
		!strings.Contains(rec.Body.String(), `"content":[{"type":"reasoning_text","text":"2+2 is 4"}]`) {
		t.Fatalf("output %s", rec.Body)
	}
	responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"smart","previous_response_id":"`+first.ID+`","input":"and 3+3?"}`))
	want := `{"model":"gpt-4.1","input":[{"type":"message","role":"user","content":"2+2?"},` +
		`{"type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"4","annotations":[],"logprobs":[]}]},` +
		`{"type":"message","role":"user","content":"and 3+3?"}]}`
	if got := string(oa.lastBody()); got != want {
		t.Errorf("the native upstream got\n%s\nwant\n%s", got, want)
	}
}
