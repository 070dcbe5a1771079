package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"
)

// The Responses API through the gateway with the official Go SDK: to every
// chat family it is translated, to OpenAI and Azure passed through.

func responseParams(prompt string) responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model: "chat",
		Input: responses.ResponseNewParamsInputUnion{OfString: param.NewOpt(prompt)},
	}
}

func responseToolParams() responses.ResponseNewParams {
	p := responseParams(askTools)
	fn := func(name, arg string) responses.ToolUnionParam {
		return responses.ToolParamOfFunction(name, map[string]any{
			"type": "object", "properties": map[string]any{arg: map[string]any{"type": "string"}}, "required": []string{arg},
		}, false)
	}
	p.Tools = []responses.ToolUnionParam{fn("get_weather", "city"), fn("get_time", "zone")}
	return p
}

// streamed is what a Responses stream delivered: every event in order, and
// the SDK's accumulation of them.
type streamed struct {
	events []responses.ResponseStreamEventUnion
	final  *responses.Response
	text   string
}

// streamResponse reads a whole stream through the SDK's stream parser and
// feeds each event to the SDK's ResponseAccumulator, which checks every
// event's shape and rebuilds the response.
func streamResponse(t *testing.T, client oa.Client, p responses.ResponseNewParams) streamed {
	t.Helper()
	s := client.Responses.NewStreaming(context.Background(), p)
	defer s.Close()
	var out streamed
	var acc responses.ResponseAccumulator
	for s.Next() {
		ev := s.Current()
		if int(ev.SequenceNumber) != len(out.events) {
			t.Fatalf("%s has sequence_number %d, want %d", ev.Type, ev.SequenceNumber, len(out.events))
		}
		out.events = append(out.events, ev)
		var sev responses.ResponsesServerEventUnion
		if err := json.Unmarshal([]byte(ev.RawJSON()), &sev); err != nil {
			t.Fatalf("event %s: %v", ev.RawJSON(), err)
		}
		if err := acc.AddEvent(sev); err != nil {
			t.Fatalf("the SDK's accumulator refused %s: %v", ev.RawJSON(), err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	final, err := acc.ReconstructedResponse()
	if err != nil {
		t.Fatalf("no final response after %d events: %v", len(out.events), err)
	}
	snap := acc.Snapshot()
	if snap.TerminalEvent != "response.completed" || snap.ResponseID != final.ID || !strings.HasPrefix(final.ID, "resp_") {
		t.Fatalf("accumulated %+v, final %s", snap, final.RawJSON())
	}
	if created := out.events[0]; created.Type != "response.created" || created.Response.ID != final.ID {
		t.Fatalf("the stream opened with %s %q", created.Type, created.Response.ID)
	}
	out.final, out.text = final, snap.OutputText()
	return out
}

func functionCalls(r *responses.Response) []toolCall {
	var out []toolCall
	for _, it := range r.Output {
		if it.Type == "function_call" {
			c := it.AsFunctionCall()
			out = append(out, toolCall{c.CallID, c.Name, c.Arguments})
		}
	}
	return out
}

func TestTheResponsesAPIThroughEachChatFamily(t *testing.T) {
	for _, f := range []family{anthropicFamily(), geminiFamily(), vertexFamily(), bedrockFamily(), cohereFamily()} {
		t.Run(f.name, func(t *testing.T) {
			if f.setup != nil {
				f.setup(t)
			}
			up := newFakeUpstream(t, f.handle)
			client := startGateway(t, f.config(up.URL))
			ctx := context.Background()

			t.Run("a whole response with the upstream's usage", func(t *testing.T) {
				r, err := client.Responses.New(ctx, responseParams("Say hello"))
				if err != nil {
					t.Fatal(err)
				}
				f.checkRequest(t, up.last(t), f.chatModel)
				if r.Status != "completed" || r.OutputText() != f.chat.text {
					t.Errorf("response = %s, want the text %q", r.RawJSON(), f.chat.text)
				}
				if r.Usage.InputTokens != f.chat.usage.Prompt || r.Usage.OutputTokens != f.chat.usage.Completion {
					t.Errorf("usage = %+v, want %+v", r.Usage, f.chat.usage)
				}
			})

			t.Run("a stream the SDK accumulates", func(t *testing.T) {
				s := streamResponse(t, client, responseParams("Say hello"))
				f.checkRequest(t, up.last(t), f.chatModel)
				if s.text != f.stream.text || s.final.OutputText() != f.stream.text {
					t.Errorf("streamed %q, final %q, want %q", s.text, s.final.OutputText(), f.stream.text)
				}
				if s.final.Usage.InputTokens != f.stream.usage.Prompt || s.final.Usage.OutputTokens != f.stream.usage.Completion {
					t.Errorf("usage = %+v, want %+v", s.final.Usage, f.stream.usage)
				}
			})

			t.Run("tool calls, whole and streamed", func(t *testing.T) {
				r, err := client.Responses.New(ctx, responseToolParams())
				if err != nil {
					t.Fatal(err)
				}
				checkToolCalls(t, functionCalls(r), f.tools)
				s := streamResponse(t, client, responseToolParams())
				checkToolCalls(t, functionCalls(s.final), f.tools)
			})
		})
	}
}

func TestResponsesFollowUpsGetAndDeleteWithTheSDK(t *testing.T) {
	f := anthropicFamily()
	up := newFakeUpstream(t, f.handle)
	client := startGateway(t, f.config(up.URL))
	ctx := context.Background()

	first, err := client.Responses.New(ctx, responseParams("Say hello"))
	if err != nil {
		t.Fatal(err)
	}
	p := responseParams("And now?")
	p.PreviousResponseID = param.NewOpt(first.ID)
	second, err := client.Responses.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if second.PreviousResponseID != first.ID || second.ID == first.ID {
		t.Fatalf("second = %s", second.RawJSON())
	}
	// The upstream got the whole conversation although the client sent one turn.
	msgs := gjson.GetBytes(up.last(t).Body, "messages").Array()
	if len(msgs) != 3 || !strings.Contains(msgs[0].Raw, "Say hello") || !strings.Contains(msgs[1].Raw, f.chat.text) || !strings.Contains(msgs[2].Raw, "And now?") {
		t.Fatalf("upstream messages = %v", msgs)
	}

	got, err := client.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != first.ID || got.OutputText() != first.OutputText() {
		t.Fatalf("Get = %s", got.RawJSON())
	}
	if err := client.Responses.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	_, err = client.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
	if apiErr := asAPIError(t, err); apiErr.StatusCode != 404 {
		t.Fatalf("Get after Delete: %v", err)
	}
	_, err = client.Responses.New(ctx, responses.ResponseNewParams{Model: "chat", PreviousResponseID: param.NewOpt(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("still there?")}})
	if apiErr := asAPIError(t, err); apiErr.StatusCode != 404 || apiErr.Param != "previous_response_id" {
		t.Fatalf("continuing a deleted response: %v", err)
	}
}

// nativeResponsesUpstream is a fake of OpenAI's (and Azure's v1) Responses
// API: it answers "Native hello" with usage 9 in, 3 out.
func nativeResponsesUpstream(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.URL.Path != "/v1/responses" && r.URL.Path != "/openai/v1/responses" {
		replyJSON(w, 404, nil, `{"error":{"message":"unknown path","type":"invalid_request_error"}}`)
		return
	}
	model := gjson.GetBytes(body, "model").String()
	resp := func(status string) string {
		output, usage := "[]", "null"
		if status == "completed" {
			output = `[{"id":"msg_native","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Native hello","annotations":[],"logprobs":[]}]}]`
			usage = `{"input_tokens":9,"input_tokens_details":{"cached_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":12}`
		}
		return fmt.Sprintf(`{"id":"resp_native_upstream","object":"response","created_at":1,"status":%q,"background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":%q,"output":%s,"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1,"truncation":"disabled","usage":%s,"user":null,"metadata":{}}`, status, model, output, usage)
	}
	if !gjson.GetBytes(body, "stream").Bool() {
		replyJSON(w, 200, nil, resp("completed"))
		return
	}
	replySSE(w,
		`event: response.created`+"\n"+`data: {"type":"response.created","sequence_number":0,"response":`+resp("in_progress")+`}`,
		`event: response.in_progress`+"\n"+`data: {"type":"response.in_progress","sequence_number":1,"response":`+resp("in_progress")+`}`,
		`event: response.output_item.added`+"\n"+`data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_native","type":"message","status":"in_progress","role":"assistant","content":[]}}`,
		`event: response.content_part.added`+"\n"+`data: {"type":"response.content_part.added","sequence_number":3,"item_id":"msg_native","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}}`,
		`event: response.output_text.delta`+"\n"+`data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_native","output_index":0,"content_index":0,"delta":"Native ","logprobs":[]}`,
		`event: response.output_text.delta`+"\n"+`data: {"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_native","output_index":0,"content_index":0,"delta":"hello","logprobs":[]}`,
		`event: response.output_text.done`+"\n"+`data: {"type":"response.output_text.done","sequence_number":6,"item_id":"msg_native","output_index":0,"content_index":0,"text":"Native hello","logprobs":[]}`,
		`event: response.content_part.done`+"\n"+`data: {"type":"response.content_part.done","sequence_number":7,"item_id":"msg_native","output_index":0,"content_index":0,"part":{"type":"output_text","text":"Native hello","annotations":[],"logprobs":[]}}`,
		`event: response.output_item.done`+"\n"+`data: {"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"msg_native","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Native hello","annotations":[],"logprobs":[]}]}}`,
		`event: response.completed`+"\n"+`data: {"type":"response.completed","sequence_number":9,"response":`+resp("completed")+`}`,
	)
}

func TestTheResponsesAPIPassesThroughToOpenAIAndAzure(t *testing.T) {
	for _, tc := range []struct {
		name, provider, path, model string
	}{
		{"openai", `[[providers]]
name = "openai"
kind = "openai"
base_url = "%s/v1"
api_key = "sk-fake"
models = ["gpt-4.1"]
`, "/v1/responses", "gpt-4.1"},
		{"azure", `[[providers]]
name = "azure"
kind = "azure"
base_url = "%s"
api_key = "az-e2e"
models = ["gpt-4.1"]
deployments = { "gpt-4.1" = "dep-gpt41" }
`, "/openai/v1/responses", "dep-gpt41"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newFakeUpstream(t, nativeResponsesUpstream)
			client := startGateway(t, "[defaults.retry]\nmax_retries = 0\n"+fmt.Sprintf(tc.provider, up.URL)+"[aliases]\nchat = \"gpt-4.1\"\n")
			ctx := context.Background()

			first, err := client.Responses.New(ctx, responseParams("Say hello"))
			if err != nil {
				t.Fatal(err)
			}
			req := up.last(t)
			if req.Path != tc.path || gjson.GetBytes(req.Body, "model").String() != tc.model || gjson.GetBytes(req.Body, "input").String() != "Say hello" {
				t.Fatalf("upstream got %s %s", req.Path, req.Body)
			}
			if first.OutputText() != "Native hello" || first.ID == "resp_native_upstream" || first.Usage.InputTokens != 9 {
				t.Fatalf("response = %s", first.RawJSON())
			}

			s := streamResponse(t, client, responseParams("Say hello"))
			if s.text != "Native hello" || s.final.ID == "resp_native_upstream" || s.final.Usage.OutputTokens != 3 {
				t.Fatalf("streamed %q, final %s", s.text, s.final.RawJSON())
			}

			p := responseParams("And now?")
			p.PreviousResponseID = param.NewOpt(first.ID)
			second, err := client.Responses.New(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			body := up.last(t).Body
			input := gjson.GetBytes(body, "input").Array()
			if gjson.GetBytes(body, "previous_response_id").Exists() || len(input) != 3 ||
				input[1].Get("content.0.text").String() != "Native hello" || input[2].Get("content").String() != "And now?" {
				t.Fatalf("the follow-up sent %s", body)
			}
			if second.PreviousResponseID != first.ID {
				t.Fatalf("second = %s", second.RawJSON())
			}

			for _, id := range []string{first.ID, s.final.ID, second.ID} {
				got, err := client.Responses.Get(ctx, id, responses.ResponseGetParams{})
				if err != nil || got.ID != id || got.OutputText() != "Native hello" {
					t.Fatalf("Get %s = %v, %v", id, got, err)
				}
			}
			if err := client.Responses.Delete(ctx, first.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := client.Responses.Get(ctx, first.ID, responses.ResponseGetParams{}); asAPIError(t, err).StatusCode != 404 {
				t.Fatalf("Get after Delete: %v", err)
			}
		})
	}
}
