package responses

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/sse"
)

// fakeGateway serves POST /v1/responses the way the gateway will: Parse,
// ToChat, then the chat answer of a fake upstream, translated by Stream or
// FromChat. The request's model names the upstream stream to replay
// (testdata/stream/<model>.sse); a fixture without [DONE] is a cut stream.
func fakeGateway(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/responses" {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, err := Parse(body)
		if err == nil {
			_, err = ToChat(req, nil)
		}
		if err != nil {
			openai.AsError(err).Write(w)
			return
		}
		f, err := os.Open(filepath.Join("testdata/stream", filepath.Base(req.Model)+".sse"))
		if err != nil {
			openai.Errorf(openai.CodeModelNotFound, "no fixture for %s", req.Model).Write(w)
			return
		}
		defer f.Close()
		up := sse.NewReader(f)
		if !req.Stream {
			acc := openai.NewAccumulator()
			for {
				ev, err := up.Next()
				if err != nil || sse.IsDone(ev.Data) {
					break
				}
				acc.Add(ev.Data)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(FromChat(req, acc.Completion(), Meta{}).JSON())
			return
		}
		sse.SetHeaders(w.Header())
		s := NewStream(req, Meta{})
		for {
			ev, err := up.Next()
			if err != nil {
				_, _ = w.Write(s.Fail(errCut))
				return
			}
			if sse.IsDone(ev.Data) {
				_, _ = w.Write(s.Finish())
				return
			}
			b, err := s.Chunk(ev.Data)
			_, _ = w.Write(b)
			if err != nil {
				_, _ = w.Write(s.Fail(err))
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sdkClient(srv *httptest.Server) oa.Client {
	return oa.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("test-key"), option.WithMaxRetries(0))
}

var weatherTool = responses.ToolParamOfFunction("get_weather", map[string]any{
	"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"},
}, false)

func TestTheGoSDKReadsAResponse(t *testing.T) {
	client := sdkClient(fakeGateway(t))
	resp, err := client.Responses.New(context.Background(), responses.ResponseNewParams{
		Model:        "text",
		Instructions: param.NewOpt("You are a helpful assistant."),
		Input:        responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("Hello!")},
		Metadata:     map[string]string{"ticket": "42"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.ID, "resp_") || resp.Status != "completed" || resp.OutputText() != "Hi there! <How> can I help & assist?" {
		t.Fatalf("response = %s", resp.RawJSON())
	}
	if resp.Usage.InputTokens != 37 || resp.Usage.OutputTokens != 11 || resp.Usage.TotalTokens != 48 || resp.Instructions.OfString != "You are a helpful assistant." || resp.Metadata["ticket"] != "42" {
		t.Fatalf("response = %s", resp.RawJSON())
	}
}

func TestTheGoSDKReadsFunctionCalls(t *testing.T) {
	client := sdkClient(fakeGateway(t))
	resp, err := client.Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "tool_calls",
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("What is the weather in Paris and Rome?", responses.EasyInputMessageRoleUser),
		}},
		Tools: []responses.ToolUnionParam{weatherTool},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Output) != 3 || resp.Output[0].Type != "message" {
		t.Fatalf("output = %s", resp.RawJSON())
	}
	call := resp.Output[1].AsFunctionCall()
	if call.CallID != "call_DdmO9pD3xa9XTPNJ32zg2hcA" || call.Name != "get_weather" || call.Arguments != `{"city": "Paris"}` || call.Status != "completed" {
		t.Fatalf("call = %+v", call)
	}
	if len(resp.Tools) != 1 || resp.Tools[0].Type != "function" || resp.Usage.InputTokensDetails.CachedTokens != 64 {
		t.Fatalf("response = %s", resp.RawJSON())
	}
}

func TestTheGoSDKStreamsTextAndFunctionCalls(t *testing.T) {
	client := sdkClient(fakeGateway(t))
	stream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
		Model: "tool_calls",
		Input: responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("What is the weather in Paris and Rome?")},
		Tools: []responses.ToolUnionParam{weatherTool},
	})
	var text, args strings.Builder
	var seen []string
	var final *responses.Response
	for stream.Next() {
		ev := stream.Current()
		seen = append(seen, ev.Type)
		if int(ev.SequenceNumber) != len(seen)-1 {
			t.Fatalf("%s has sequence_number %d", ev.Type, ev.SequenceNumber)
		}
		switch e := ev.AsAny().(type) {
		case responses.ResponseTextDeltaEvent:
			text.WriteString(e.Delta)
		case responses.ResponseFunctionCallArgumentsDeltaEvent:
			if e.OutputIndex == 1 {
				args.WriteString(e.Delta)
			}
		case responses.ResponseFunctionCallArgumentsDoneEvent:
			if e.OutputIndex == 1 && e.Arguments != args.String() {
				t.Fatalf("arguments.done = %+v, streamed %q", e, args.String())
			}
		case responses.ResponseOutputItemDoneEvent:
			if e.Item.Type == "function_call" && e.Item.AsFunctionCall().CallID == "" {
				t.Fatalf("a function call item without call_id: %s", e.RawJSON())
			}
		case responses.ResponseCompletedEvent:
			final = &e.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if final == nil || final.Status != "completed" || final.OutputText() != "Let me check." || text.String() != "Let me check." || args.String() != `{"city": "Paris"}` {
		t.Fatalf("events %v, final %v", seen, final)
	}
	if final.Usage.TotalTokens != 128 || final.Output[2].AsFunctionCall().Arguments != `{"city": "Rome"}` {
		t.Fatalf("final = %s", final.RawJSON())
	}
}

func TestTheGoSDKRaisesTheErrorOfACutStream(t *testing.T) {
	client := sdkClient(fakeGateway(t))
	stream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
		Model: "cut",
		Input: responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("What is the answer?")},
	})
	var text strings.Builder
	for stream.Next() {
		if e, ok := stream.Current().AsAny().(responses.ResponseTextDeltaEvent); ok {
			text.WriteString(e.Delta)
		}
	}
	var se *ssestream.StreamError
	if err := stream.Err(); !errors.As(err, &se) || !strings.Contains(err.Error(), "stream was cut") {
		t.Fatalf("stream error = %v, want the cut reported", err)
	}
	if text.String() != "The answer is forty" {
		t.Fatalf("text before the cut = %q", text.String())
	}
}

func TestTheGoSDKGetsA400NamingTheParameter(t *testing.T) {
	client := sdkClient(fakeGateway(t))
	_, err := client.Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "text",
		Input: responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("hi")},
		Tools: []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}},
	})
	var apiErr *oa.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "tools[0].type" || apiErr.Type != "invalid_request_error" {
		t.Fatalf("err = %v", err)
	}
}

// A chat answer's reasoning reaches the Go SDK as a reasoning item before
// the message: streamed as response.reasoning_text.* events, and whole in
// the JSON answer, with the thinking blocks in encrypted_content.
func TestTheGoSDKReadsReasoning(t *testing.T) {
	client := sdkClient(fakeGateway(t))
	input := responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("What is 2+2?")}
	stream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "reasoning", Input: input})
	var deltas strings.Builder
	var done string
	var final *responses.Response
	for stream.Next() {
		switch e := stream.Current().AsAny().(type) {
		case responses.ResponseReasoningTextDeltaEvent:
			deltas.WriteString(e.Delta)
		case responses.ResponseReasoningTextDoneEvent:
			done = e.Text
		case responses.ResponseCompletedEvent:
			final = &e.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	const thought = "The user asks 2+2. That is 4."
	if deltas.String() != thought || done != thought || final == nil {
		t.Fatalf("reasoning deltas %q, done %q, final %v", deltas.String(), done, final)
	}
	resp, err := client.Responses.New(context.Background(), responses.ResponseNewParams{Model: "reasoning", Input: input})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*responses.Response{final, resp} {
		if len(r.Output) != 2 || r.Output[0].Type != "reasoning" || r.OutputText() != "2 + 2 = 4." {
			t.Fatalf("output = %s", r.RawJSON())
		}
		rs := r.Output[0].AsReasoning()
		if len(rs.Content) != 1 || rs.Content[0].Text != thought || rs.Content[0].Type != "reasoning_text" || rs.EncryptedContent == "" {
			t.Fatalf("reasoning item = %s", rs.RawJSON())
		}
		// The next turn gives Anthropic its signed thinking back.
		var item Item
		if err := item.UnmarshalJSON([]byte(r.Output[0].RawJSON())); err != nil {
			t.Fatal(err)
		}
		_, blocks, ok := translatedReasoning(item)
		if !ok || len(blocks) != 2 || blocks[0].Signature != "EqQBCkYIBRgCIkB" || blocks[0].Thinking != thought || blocks[1].Data != "EmwKAhgBEgy3va3pzix" {
			t.Fatalf("blocks %+v from %s", blocks, rs.RawJSON())
		}
	}
}
