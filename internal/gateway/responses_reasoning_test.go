package gateway_test

import (
	"encoding/json"
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

// A reasoning item a client sends back carries thinking blocks the next
// provider reads: the content rules read them too (a client can write any
// text into encrypted_content), and refuse the request naming the item.
func TestAReasoningItemsThinkingMeetsTheContentRules(t *testing.T) {
	thinking := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"c1","object":"chat.completion","created":1,"model":"r1","choices":[{"index":0,"message":{"role":"assistant","content":"4",`+
			`"reasoning_content":"think of project nightingale","thinking_blocks":[{"type":"thinking","thinking":"think of project nightingale","signature":"sig"}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`)
	}
	oa := newUpstream(t, okResponses("oa", false))
	b := newUpstream(t, thinking)
	g, _ := newGateway(t, nativeProviders+"\n[guardrails.global]\nblocked_words = [\"project nightingale\"]\n", oa, b)
	rec := do(t, g, "POST", "/v1/responses", `{"model":"chat-only","input":"2+2?"}`)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var out struct {
		Output []json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Output) != 2 {
		t.Fatalf("output %s (%v)", rec.Body, err)
	}
	calls := b.calls.Load()
	next := `{"model":"chat-only","input":[{"type":"message","role":"user","content":"2+2?"},` + string(out.Output[0]) + `,` +
		string(out.Output[1]) + `,{"type":"message","role":"user","content":"and 3+3?"}]}`
	rec = do(t, g, "POST", "/v1/responses", next)
	if rec.Code != 400 || b.calls.Load() != calls || !strings.Contains(rec.Body.String(), `"param":"input[1].encrypted_content"`) {
		t.Errorf("the reasoning item's blocked thinking: %d %s (upstream calls %d → %d)", rec.Code, rec.Body, calls, b.calls.Load())
	}
}
