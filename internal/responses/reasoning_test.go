package responses

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

// translatedItem is the reasoning item FromChat makes of a Claude answer.
func translatedItem(t *testing.T) Item {
	t.Helper()
	cc := &openai.ChatCompletion{Choices: []openai.Choice{{Message: openai.ResponseMessage{Role: "assistant", Content: openai.Ptr("4"),
		ReasoningContent: "2+2", ThinkingBlocks: []openai.ThinkingBlock{{Type: "thinking", Thinking: "2+2", Signature: "sig"}}}, FinishReason: "stop"}}}
	out := FromChat(mustParse(t, []byte(`{"model":"m","input":"x"}`)), cc, testMeta())
	if len(out.Output) != 2 || out.Output[0].Type != TypeReasoning {
		t.Fatalf("output %s", out.JSON())
	}
	return out.Output[0]
}

func TestATranslatedReasoningItemGivesTheNextAssistantTurnItsSignedThinking(t *testing.T) {
	rs := translatedItem(t)
	history := []Item{
		{Type: TypeMessage, Role: "user", Content: Content{Text: "x"}},
		rs,
		{Type: TypeFunctionCall, CallID: "call_1", Name: "f", Arguments: "{}"},
		{Type: TypeFunctionCall, CallID: "call_2", Name: "g", Arguments: "{}"},
		{Type: TypeFunctionCallOutput, CallID: "call_1", Output: Content{Text: "1"}},
		{Type: TypeReasoning, Raw: json.RawMessage(`{"type":"reasoning","id":"rs_openai","summary":[],"encrypted_content":"gAAAA"}`)},
	}
	chat, err := ToChat(mustParse(t, []byte(`{"model":"m","input":"more"}`)), history)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(chat.Messages)
	want := `[{"role":"user","content":"x"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"call_2","type":"function","function":{"name":"g","arguments":"{}"}}],"thinking_blocks":[{"type":"thinking","thinking":"2+2","signature":"sig"}]},` +
		`{"role":"tool","content":"1","tool_call_id":"call_1"},{"role":"user","content":"more"}]`
	if string(b) != want {
		t.Fatalf("messages\n got %s\nwant %s", b, want)
	}
}

func TestANativeUpstreamNeverSeesTheTranslationsReasoningItems(t *testing.T) {
	rs := translatedItem(t)
	raw, _ := rs.MarshalJSON()
	openaiItem := `{"type":"reasoning","id":"rs_openai","summary":[],"encrypted_content":"gAAAA"}`
	r := mustParse(t, []byte(`{"model":"m","input":[{"role":"user","content":"hi"},`+string(raw)+`,`+openaiItem+`,{"role":"user","content":"more"}]}`))
	got, err := r.NativeBody("gpt-4.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"gpt-4.1","input":[{"type":"message","role":"user","content":"hi"},` + openaiItem + `,{"type":"message","role":"user","content":"more"}]}`
	if string(got) != want {
		t.Errorf("client input:\n got %s\nwant %s", got, want)
	}
	r = mustParse(t, []byte(`{"model":"m","input":"more"}`))
	got, _ = r.NativeBody("gpt-4.1", []Item{{Type: TypeMessage, Role: "user", Content: Content{Text: "hi"}}, rs})
	if strings.Contains(string(got), "aigateway.reasoning") || !strings.Contains(string(got), `"content":"more"`) {
		t.Errorf("history: %s", got)
	}
}

func TestFromChatBodyReadsReasoningNamedReasoning(t *testing.T) {
	body := []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"4","reasoning":"2+2"},"finish_reason":"stop"}]}`)
	out, err := FromChatBody(mustParse(t, []byte(`{"model":"m","input":"x"}`)), body, testMeta())
	if err != nil {
		t.Fatal(err)
	}
	if text, _, ok := translatedReasoning(out.Output[0]); !ok || text != "2+2" || len(out.Output) != 2 {
		t.Fatalf("output %s", out.JSON())
	}
	if _, err := FromChatBody(mustParse(t, []byte(`{"model":"m","input":"x"}`)), []byte(`{"choices":`), testMeta()); err == nil {
		t.Error("a broken body was read")
	}
}
