package gemini

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/messages"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

// A signature as Google sends bytes: standard base64 with '+', '/' and
// padding, none of which may appear in an Anthropic tool_use id.
var testSignature = base64.StdEncoding.EncodeToString([]byte("\xfb\xff\xbfopaque thought state \x00\x01\x02\xfe"))

// signedCalls is a Gemini answer with two parallel calls, the first signed
// (as Gemini signs only the first of parallel calls).
var signedCalls = `{"candidates":[{"content":{"role":"model","parts":[` +
	`{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"` + testSignature + `"},` +
	`{"functionCall":{"name":"get_time","args":{}}}]},"finishReason":"STOP","index":0}],` +
	`"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15}}`

// toolIDChars is what Anthropic accepts in a tool_use id; the gateway's
// Messages API hands Gemini's call ids to Anthropic clients as tool_use ids.
var toolIDChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestCallIDsCarryTheSignatureBytesAndGiveThemBack(t *testing.T) {
	for _, sig := range []string{testSignature, strings.TrimRight(testSignature, "="),
		base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xbf, 1}), "c2ln"} {
		id := callID(3, sig)
		if !strings.HasPrefix(id, "call_3"+signatureMarker) || !toolIDChars.MatchString(id) {
			t.Fatalf("callID(3, %q) = %q: want call_3, the marker, and only [A-Za-z0-9_-]", sig, id)
		}
		want, _ := decodeBase64(sig)
		got := signatureFromID(id)
		if b, err := base64.StdEncoding.DecodeString(got); err != nil || string(b) != string(want) {
			t.Errorf("signatureFromID(%q) = %q: want the standard base64 of the same bytes", id, got)
		}
	}
	for _, tc := range []struct{ name, id string }{
		{"an id without a signature", "call_0"},
		{"another provider's id", "toolu_01A09q90qw90lq917835lq9"},
		{"a marker followed by nothing", "call_0" + signatureMarker},
		{"a marker followed by what is not base64url", "call_0" + signatureMarker + "not base64!"},
	} {
		if got := signatureFromID(tc.id); got != "" {
			t.Errorf("%s: signatureFromID(%q) = %q, want none", tc.name, tc.id, got)
		}
	}
	if got := callID(0, ""); got != "call_0" {
		t.Errorf("an unsigned call's id = %q, want call_0", got)
	}
	if got := callID(0, "not base64!"); got != "call_0" {
		t.Errorf("a signature that is not base64 gave id %q: want it left out", got)
	}
}

// secondTurn is the request after a signed answer: the assistant's calls as
// the client got them, their results and a follow-up.
func secondTurn(t *testing.T, calls []openai.ToolCall) *provider.ChatRequest {
	t.Helper()
	history := []map[string]any{
		{"role": "user", "content": "Weather in Paris and the time?"},
		{"role": "assistant", "content": nil, "tool_calls": calls},
	}
	for _, c := range calls {
		history = append(history, map[string]any{"role": "tool", "tool_call_id": c.ID, "content": "ok"})
	}
	body, _ := json.Marshal(map[string]any{"model": "gemini-3-pro", "messages": history})
	return &provider.ChatRequest{Model: "gemini-3-pro", Body: chatRequest(t, string(body))}
}

// sentParts are the parts of the model turn Gemini received in the latest
// request.
func sentParts(t *testing.T, up *fakeUpstream) []part {
	t.Helper()
	var gr generateRequest
	if err := json.Unmarshal(up.Last(t).Body, &gr); err != nil {
		t.Fatal(err)
	}
	for _, c := range gr.Contents {
		if c.Role == "model" {
			return c.Parts
		}
	}
	t.Fatalf("no model turn was sent: %s", up.Last(t).Body)
	return nil
}

func TestAThoughtSignatureComesBackOnItsFunctionCallInTheNextTurn(t *testing.T) {
	streamed := func(t *testing.T, p *Provider) []openai.ToolCall {
		s, err := p.ChatStream(context.Background(), chatReq(t, "gemini-3-pro"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		acc := openai.NewAccumulator()
		for {
			c, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			acc.Add(c.Data)
		}
		return acc.Completion().Choices[0].Message.ToolCalls
	}
	whole := func(t *testing.T, p *Provider) []openai.ToolCall {
		resp, err := p.Chat(context.Background(), chatReq(t, "gemini-3-pro"))
		if err != nil {
			t.Fatal(err)
		}
		var cc openai.ChatCompletion
		if err := json.Unmarshal(resp.Body, &cc); err != nil {
			t.Fatal(err)
		}
		return cc.Choices[0].Message.ToolCalls
	}
	for _, tc := range []struct {
		name  string
		first func(t *testing.T, p *Provider) []openai.ToolCall
	}{{"after a whole answer", whole}, {"after a streamed answer (rebuilt as the response cache does)", streamed}} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.URL.Path, "streamGenerateContent") {
					sseReply(signedCalls)(w, r)
					return
				}
				providertest.JSON(200, signedCalls)(w, r)
			})
			p := up.provider(t, KindGemini)
			calls := tc.first(t, p)
			if len(calls) != 2 {
				t.Fatalf("tool calls = %+v, want 2", calls)
			}
			for _, c := range calls {
				if !toolIDChars.MatchString(c.ID) {
					t.Errorf("tool call id %q has characters a tool_use id may not have", c.ID)
				}
			}
			if calls[0].ID == calls[1].ID || calls[1].ID != "call_1" {
				t.Errorf("ids = %q, %q: want distinct ids, the unsigned second one plain call_1", calls[0].ID, calls[1].ID)
			}

			if _, err := p.Chat(context.Background(), secondTurn(t, calls)); err != nil {
				t.Fatal(err)
			}
			parts := sentParts(t, up)
			if len(parts) != 2 || parts[0].FunctionCall == nil || parts[1].FunctionCall == nil {
				t.Fatalf("model turn sent = %+v, want the two calls", parts)
			}
			if parts[0].ThoughtSignature != testSignature {
				t.Errorf("first call went back with signature %q, want Gemini's %q", parts[0].ThoughtSignature, testSignature)
			}
			if parts[1].ThoughtSignature != "" {
				t.Errorf("second call went back with signature %q, want none (Gemini signed only the first)", parts[1].ThoughtSignature)
			}
		})
	}
}

func TestCallsNoGeminiAnswerSignedGetThePlaceholderOnTheFirstCall(t *testing.T) {
	r := chatRequest(t, `{"model":"m","messages":[
		{"role":"user","content":"hi"},
		{"role":"assistant","content":"Checking.","tool_calls":[
			{"id":"toolu_01","type":"function","function":{"name":"a","arguments":"{}"}},
			{"id":"toolu_02","type":"function","function":{"name":"b","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"toolu_01","content":"1"},
		{"role":"tool","tool_call_id":"toolu_02","content":"2"},
		{"role":"assistant","content":"And once more.","tool_calls":[
			{"id":"call_0`+signatureMarker+`c2ln","type":"function","function":{"name":"a","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"call_0`+signatureMarker+`c2ln","content":"3"}]}`)
	gr, err := translateRequest("", r)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range gr.Contents {
		for _, p := range c.Parts {
			if p.FunctionCall != nil {
				got = append(got, p.FunctionCall.Name+"="+p.ThoughtSignature)
			}
			if p.FunctionCall == nil && p.ThoughtSignature != "" {
				t.Errorf("a %s part got signature %q: only function calls carry one", c.Role, p.ThoughtSignature)
			}
		}
	}
	want := []string{"a=" + skipSignature, "b=", "a=c2ln"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("function calls sent as %v, want %v", got, want)
	}
}

func TestReasoningEffortAsksForThoughtSummaries(t *testing.T) {
	for _, tc := range []struct {
		effort string
		want   bool
	}{{"", false}, {"none", false}, {"minimal", true}, {"low", true}, {"high", true}} {
		body := `{"model":"m","messages":[{"role":"user","content":"hi"}]`
		if tc.effort != "" {
			body += `,"reasoning_effort":"` + tc.effort + `"`
		}
		gr, err := translateRequest("", chatRequest(t, body+"}"))
		if err != nil {
			t.Fatal(err)
		}
		got := gr.GenerationConfig != nil && gr.GenerationConfig.ThinkingConfig != nil && gr.GenerationConfig.ThinkingConfig.IncludeThoughts
		if got != tc.want {
			t.Errorf("reasoning_effort %q: includeThoughts = %v, want %v", tc.effort, got, tc.want)
		}
	}
}

const thoughtsAnswer = `{"candidates":[{"content":{"role":"model","parts":[` +
	`{"text":"Think about trains.","thought":true},{"text":"Take the train."}]},"finishReason":"STOP","index":0}],` +
	`"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"thoughtsTokenCount":9,"totalTokenCount":16}}`

// The Messages API reads reasoning_content (message and delta) as a thinking
// block: Gemini's thought summaries must arrive there, not be dropped.
func TestThoughtSummariesReachTheMessagesTranslatorAsThinking(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "streamGenerateContent") {
			sseReply(thoughtsAnswer)(w, r)
			return
		}
		providertest.JSON(200, thoughtsAnswer)(w, r)
	})
	p := up.provider(t, KindGemini)
	check := func(t *testing.T, m *messages.Message) {
		t.Helper()
		if len(m.Content) != 2 || m.Content[0].Type != messages.BlockThinking || m.Content[0].Thinking != "Think about trains." ||
			m.Content[1].Type != messages.BlockText || m.Content[1].Text != "Take the train." {
			b, _ := json.Marshal(m.Content)
			t.Errorf("content = %s, want a thinking block then the text", b)
		}
	}

	t.Run("whole", func(t *testing.T) {
		resp, err := p.Chat(context.Background(), chatReq(t, "gemini-3-pro"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := messages.FromChatBody(resp.Body, "gemini-3-pro")
		if err != nil {
			t.Fatal(err)
		}
		check(t, m)
	})
	t.Run("streamed", func(t *testing.T) {
		s, err := p.ChatStream(context.Background(), chatReq(t, "gemini-3-pro"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ms := messages.NewStream("gemini-3-pro", 0)
		var events strings.Builder
		for {
			c, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := ms.Chunk(c.Data)
			if err != nil {
				t.Fatal(err)
			}
			events.Write(out)
		}
		events.Write(ms.Finish())
		if !strings.Contains(events.String(), `"thinking_delta"`) {
			t.Errorf("no thinking_delta event in\n%s", events.String())
		}
		check(t, ms.Message())
	})
}

// FuzzSignatureFromID: no tool call id a client sends panics the decoder,
// and what it takes out is always a signature Gemini can read (standard
// base64) that callID puts back into an id unchanged.
func FuzzSignatureFromID(f *testing.F) {
	f.Add(callID(0, testSignature))
	f.Add("call_0")
	f.Add("call_1" + signatureMarker + "-_-_")
	f.Add(signatureMarker + signatureMarker)
	f.Fuzz(func(t *testing.T, id string) {
		sig := signatureFromID(id)
		if sig == "" {
			return
		}
		if _, err := base64.StdEncoding.DecodeString(sig); err != nil {
			t.Fatalf("signatureFromID(%q) = %q, not standard base64: %v", id, sig, err)
		}
		if again := signatureFromID(callID(0, sig)); again != sig {
			t.Fatalf("signature %q came back as %q", sig, again)
		}
	})
}

func TestReasoningEffortBecomesTheModelsThinkingControl(t *testing.T) {
	for _, tc := range []struct {
		name, model, effort string
		want                string // generationConfig.thinkingConfig's JSON, "" for none
	}{
		{"Gemini 2.5 takes the effort's budget", "gemini-2.5-flash", "medium", `{"includeThoughts":true,"thinkingBudget":4096}`},
		{"a budget stays within 2.5 Flash's ceiling", "gemini-2.5-flash-lite", "xhigh", `{"includeThoughts":true,"thinkingBudget":24576}`},
		{"Gemini 3 takes the effort as its level", "gemini-3-flash-preview", "minimal", `{"includeThoughts":true,"thinkingLevel":"minimal"}`},
		{"a Gemini 3 Pro model gets only low or high", "gemini-3-pro-preview", "medium", `{"includeThoughts":true,"thinkingLevel":"high"}`},
		{"minimal is low on a Pro model", "gemini-3.1-pro", "minimal", `{"includeThoughts":true,"thinkingLevel":"low"}`},
		{"a name without a version gets a budget", "gemini-flash-latest", "high", `{"includeThoughts":true,"thinkingBudget":16384}`},
		{"Gemini 2.0 cannot think and gets nothing", "gemini-2.0-flash", "high", ``},
		{"none sends nothing", "gemini-2.5-pro", "none", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gr, err := translateRequest(tc.model, chatRequest(t,
				`{"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"`+tc.effort+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if gr.GenerationConfig != nil && gr.GenerationConfig.ThinkingConfig != nil {
				b, _ := json.Marshal(gr.GenerationConfig.ThinkingConfig)
				got = string(b)
			}
			if got != tc.want {
				t.Errorf("thinkingConfig = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAnUnknownReasoningEffortIsA400(t *testing.T) {
	_, err := translateRequest("gemini-2.5-flash", chatRequest(t,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"extreme"}`))
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.Param != "reasoning_effort" || oe.HTTPStatus() != 400 {
		t.Errorf("err = %v, want a 400 naming reasoning_effort", err)
	}
}
