package responses

import (
	"encoding/json"
	"testing"
)

func TestNativeBodyPatchesOnlyTheModel(t *testing.T) {
	body := `{"model":"my-alias","input":"hi","tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"],"some_new_field":{"x":[1,2]}}`
	r := mustParse(t, []byte(body))
	got, err := r.NativeBody("gpt-4.1-2025-04-14", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"gpt-4.1-2025-04-14","input":"hi","tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"],"some_new_field":{"x":[1,2]}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestNativeBodyInlinesAHistoryTheGatewayKept(t *testing.T) {
	r := mustParse(t, []byte(`{"model":"m","previous_response_id":"resp_gw","input":[{"type":"function_call_output","call_id":"call_1","output":"21"}],"store":false}`))
	history := []Item{
		{Type: TypeMessage, Role: "user", Content: Content{Text: "weather?"}},
		{Type: TypeReasoning, ID: "rs_1", Raw: json.RawMessage(`{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"abc"}`)},
		{Type: TypeFunctionCall, ID: "fc_1", Status: StatusCompleted, CallID: "call_1", Name: "get_weather", Arguments: `{}`},
	}
	got, err := r.NativeBody("gpt-4o", history)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"gpt-4o","input":[{"type":"message","role":"user","content":"weather?"},` +
		`{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"abc"},` +
		`{"type":"function_call","status":"completed","call_id":"call_1","name":"get_weather","arguments":"{}"},` +
		`{"type":"function_call_output","call_id":"call_1","output":"21"}],"store":false}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := Parse(got); err != nil {
		t.Fatalf("the native body must still be a valid request: %v", err)
	}
}
