package openaicompat_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/gemini"
	"github.com/aigateway/gateway/internal/provider/openaicompat"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// strictOpenAI answers like OpenAI: a 400 naming the first tool call id over
// 40 characters, else a plain answer.
func strictOpenAI(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	for i, m := range gjson.GetBytes(body, "messages").Array() {
		check := func(field string, v gjson.Result) bool {
			if len(v.Str) > 40 {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error":{"message":"Invalid 'messages[%d].%s': string too long. Expected a string with maximum length 40, but got a string with length %d instead.","type":"invalid_request_error","param":"messages[%d].%s","code":"string_above_max_length"}}`,
					i, field, len(v.Str), i, field)
				return false
			}
			return true
		}
		if !check("tool_call_id", m.Get("tool_call_id")) {
			return
		}
		for j, tc := range m.Get("tool_calls").Array() {
			if !check(fmt.Sprintf("tool_calls[%d].id", j), tc.Get("id")) {
				return
			}
		}
	}
	if gjson.GetBytes(body, "stream").Bool() {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"sunny\"}}]}\n\n")
		fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}\n\ndata: [DONE]\n\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"sunny"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}`)
}

// A Gemini answer's tool call id carries its thoughtSignature, far over
// OpenAI's 40 characters. The next turn of that conversation, failed over
// to OpenAI, must not be a 400, and, back on Gemini, must still carry the
// signature.
func TestAGeminiToolCallHistoryFailsOverToOpenAIAndStillSignsOnGemini(t *testing.T) {
	sig := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("opaque thought state ", 12)))
	var geminiTurn int
	geminiUp := providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		geminiTurn++
		w.Header().Set("Content-Type", "application/json")
		if geminiTurn == 1 {
			fmt.Fprintf(w, `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"weather","args":{"city":"Paris"}},"thoughtSignature":%q}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8}}`, sig)
			return
		}
		fmt.Fprint(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"sunny"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":1,"totalTokenCount":10}}`)
	})
	g, err := gemini.New(provider.Config{Name: "gemini", Kind: "gemini", BaseURL: geminiUp.URL, APIKey: "AIza-test"}, provider.Deps{HTTP: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	first := `{"model":"m","messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`
	resp, err := g.Chat(context.Background(), request(t, "gemini-3-flash", first))
	if err != nil {
		t.Fatal(err)
	}
	callID := gjson.GetBytes(resp.Body, "choices.0.message.tool_calls.0.id").Str
	if len(callID) <= provider.MaxOpenAIToolCallID {
		t.Fatalf("Gemini's tool call id %q is short: the test needs one carrying a signature", callID)
	}

	history := fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":"Weather in Paris?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":%q,"type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},
		{"role":"tool","tool_call_id":%q,"content":"sunny, 21 C"}],
		"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`, callID, callID)

	openaiUp := providertest.NewFake(t, strictOpenAI)
	o, err := openaicompat.New(provider.Config{Name: "openai", Kind: "openai", BaseURL: openaiUp.URL, APIKey: "sk-test"}, provider.Deps{HTTP: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Chat(context.Background(), request(t, "gpt-4.1", history)); err != nil {
		t.Fatalf("OpenAI Chat with Gemini's history: %v", err)
	}
	s, err := o.ChatStream(context.Background(), request(t, "gpt-4.1", history))
	if err := providertest.StreamErr(t, s, err); err != nil {
		t.Fatalf("OpenAI ChatStream with Gemini's history: %v", err)
	}
	for _, r := range openaiUp.Requests() {
		call := gjson.GetBytes(r.Body, "messages.1.tool_calls.0.id").Str
		result := gjson.GetBytes(r.Body, "messages.2.tool_call_id").Str
		if call == "" || call != result || len(call) > provider.MaxOpenAIToolCallID {
			t.Errorf("OpenAI got call id %q and result id %q: want the same id of at most 40 characters", call, result)
		}
		if !strings.Contains(string(r.Body), `"content":"sunny, 21 C"`) {
			t.Errorf("the rest of the body changed: %s", r.Body)
		}
	}

	if _, err := g.Chat(context.Background(), request(t, "gemini-3-flash", history)); err != nil {
		t.Fatal(err)
	}
	back := gjson.GetBytes(geminiUp.Last(t).Body, `contents.#(role=="model").parts.0.thoughtSignature`).Str
	if back != sig {
		t.Errorf("Gemini got thoughtSignature %q back, want %q", back, sig)
	}
}

func TestResponsesCallIDsOverSixtyFourCharactersAreShortenedAndStillPair(t *testing.T) {
	long := "call_0__thought__" + strings.Repeat("A", 200)
	up := providertest.NewFake(t, providertest.JSON(200, `{"id":"resp_1","object":"response","status":"completed","output":[],"usage":{"input_tokens":1,"output_tokens":1,"total_tokens":2}}`))
	o, err := openaicompat.New(provider.Config{Name: "openai", Kind: "openai", BaseURL: up.URL, APIKey: "sk-test"}, provider.Deps{HTTP: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"model":"m","input":[{"role":"user","content":"hi"},
		{"type":"function_call","call_id":%q,"name":"f","arguments":"{}"},
		{"type":"function_call_output","call_id":%q,"output":"42"},
		{"type":"function_call","call_id":"call_short","name":"f","arguments":"{}"}]}`, long, long)
	if _, err := o.Responses(context.Background(), &provider.RawRequest{Model: "gpt-4.1", Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
	sent := up.Last(t).Body
	call, output := gjson.GetBytes(sent, "input.1.call_id").Str, gjson.GetBytes(sent, "input.2.call_id").Str
	if call != output || len(call) > provider.MaxResponsesCallID || call == long {
		t.Errorf("call_id %q and output call_id %q: want the same shortened id", call, output)
	}
	if got := gjson.GetBytes(sent, "input.3.call_id").Str; got != "call_short" {
		t.Errorf("a short call_id became %q", got)
	}
}

func request(t *testing.T, model, raw string) *provider.ChatRequest {
	t.Helper()
	var body openai.ChatRequest
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		t.Fatal(err)
	}
	return &provider.ChatRequest{Model: model, Body: &body, Raw: []byte(raw)}
}
