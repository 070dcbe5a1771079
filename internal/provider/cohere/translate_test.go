package cohere

import (
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/providertest"
)

const weatherTools = `"tools":[
	{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},
	{"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}]`

func TestToolChoiceMapsOntoCohere(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantChoice string
		wantTools  []string
		wantErr    bool
	}{
		{name: "auto is Cohere's default and is left out",
			body: `{"tool_choice":"auto",` + weatherTools + `}`, wantTools: []string{"get_weather", "get_time"}},
		{name: "required becomes REQUIRED",
			body: `{"tool_choice":"required",` + weatherTools + `}`, wantChoice: "REQUIRED", wantTools: []string{"get_weather", "get_time"}},
		{name: "none becomes NONE",
			body: `{"tool_choice":"none",` + weatherTools + `}`, wantChoice: "NONE", wantTools: []string{"get_weather", "get_time"}},
		{name: "none without tools is left out",
			body: `{"tool_choice":"none"}`},
		{name: "a named function becomes REQUIRED with only that tool offered",
			body: `{"tool_choice":{"type":"function","function":{"name":"get_time"}},` + weatherTools + `}`, wantChoice: "REQUIRED", wantTools: []string{"get_time"}},
		{name: "a named function that is not offered is refused",
			body: `{"tool_choice":{"type":"function","function":{"name":"get_stock"}},` + weatherTools + `}`, wantErr: true},
		{name: "required without tools is refused",
			body: `{"tool_choice":"required"}`, wantErr: true},
		{name: "an unknown choice is refused",
			body: `{"tool_choice":"sometimes",` + weatherTools + `}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decodeChatRequest(t, []byte(tt.body))
			in.Messages = []openai.Message{{Role: "user", Content: openai.TextContent("hi")}}
			out, err := translateRequest(testModel, in)
			if tt.wantErr {
				if err == nil || err.HTTPStatus() != 400 || err.Param != "tool_choice" {
					t.Fatalf("error = %v, want a 400 on tool_choice", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tl := range out.Tools {
				names = append(names, tl.Function.Name)
			}
			if out.ToolChoice != tt.wantChoice || !slices.Equal(names, tt.wantTools) {
				t.Errorf("tool_choice %q tools %v, want %q %v", out.ToolChoice, names, tt.wantChoice, tt.wantTools)
			}
		})
	}
}

func TestMessagesCohereCannotTakeAreRefused(t *testing.T) {
	tests := []struct {
		name      string
		message   string
		wantParam string
	}{
		{"an image in a system message is refused",
			`{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}`, "messages[0].content[0].type"},
		{"a tool result without tool_call_id is refused",
			`{"role":"tool","content":"42"}`, "messages[0].tool_call_id"},
		{"an image part without a url is refused",
			`{"role":"user","content":[{"type":"image_url","image_url":{"url":""}}]}`, "messages[0].content[0].image_url"},
		{"an assistant tool call without a name is refused",
			`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"arguments":"{}"}}]}`, "messages[0].tool_calls[0]"},
		{"the legacy function role is refused",
			`{"role":"function","name":"f","content":"42"}`, "messages[0].role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decodeChatRequest(t, []byte(`{"messages":[`+tt.message+`]}`))
			_, err := translateRequest(testModel, in)
			if err == nil || err.HTTPStatus() != 400 || err.Param != tt.wantParam {
				t.Fatalf("error = %v, want a 400 on %s", err, tt.wantParam)
			}
		})
	}
}

func TestMessagesTranslateToCohereRoles(t *testing.T) {
	tests := []struct {
		name    string
		message string
		want    string
	}{
		{"a developer message becomes a system message",
			`{"role":"developer","content":"Be brief."}`, `{"role":"system","content":"Be brief."}`},
		{"an assistant message without tool calls keeps its text as content",
			`{"role":"assistant","content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}]}`, `{"role":"assistant","content":"Hello there"}`},
		{"an assistant tool call with null content has no content and default arguments",
			`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"now","arguments":""}}]}`,
			`{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"now","arguments":"{}"}}]}`},
		{"a user string stays a string",
			`{"role":"user","content":"hi"}`, `{"role":"user","content":"hi"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decodeChatRequest(t, []byte(`{"messages":[`+tt.message+`]}`))
			out, err := translateRequest(testModel, in)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := provider.Marshal(out.Messages[0])
			if string(providertest.NormalizeJSON(t, got)) != string(providertest.NormalizeJSON(t, []byte(tt.want))) {
				t.Errorf("message = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestResponseFormatMapsOntoJSONObject(t *testing.T) {
	tests := []struct {
		name string
		rf   string
		want string
	}{
		{"text is left out", `{"type":"text"}`, `null`},
		{"json_object asks for JSON", `{"type":"json_object"}`, `{"type":"json_object"}`},
		{"json_schema asks for JSON with the schema", `{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"}}}`,
			`{"type":"json_object","json_schema":{"type":"object"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decodeChatRequest(t, []byte(`{"messages":[{"role":"user","content":"hi"}],"response_format":`+tt.rf+`}`))
			out, err := translateRequest(testModel, in)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(out.ResponseFormat)
			if string(providertest.NormalizeJSON(t, got)) != string(providertest.NormalizeJSON(t, []byte(tt.want))) {
				t.Errorf("response_format = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFinishReasonsAndUsageOfWholeAnswers(t *testing.T) {
	tests := []struct {
		name       string
		finish     string
		usage      string
		wantFinish string
		wantUsage  openai.Usage
	}{
		{"COMPLETE is stop", "COMPLETE", `{"tokens":{"input_tokens":10,"output_tokens":3}}`, "stop", openai.Usage{PromptTokens: 10, CompletionTokens: 3, TotalTokens: 13}},
		{"STOP_SEQUENCE is stop", "STOP_SEQUENCE", `null`, "stop", openai.Usage{}},
		{"MAX_TOKENS is length", "MAX_TOKENS", `{"billed_units":{"input_tokens":4,"output_tokens":5}}`, "length", openai.Usage{PromptTokens: 4, CompletionTokens: 5, TotalTokens: 9}},
		{"TOOL_CALL is tool_calls", "TOOL_CALL", `{}`, "tool_calls", openai.Usage{}},
		{"token counts win over billed units", "COMPLETE",
			`{"billed_units":{"input_tokens":1,"output_tokens":2},"tokens":{"input_tokens":100.0,"output_tokens":20.0}}`, "stop",
			openai.Usage{PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := `{"id":"r1","finish_reason":"` + tt.finish + `","message":{"role":"assistant","content":[{"type":"text","text":"ok"}]},"usage":` + tt.usage + `}`
			out, u, err := translateResponse("cohere", testModel, []byte(raw), 1)
			if err != nil {
				t.Fatal(err)
			}
			var cc openai.ChatCompletion
			if err := json.Unmarshal(out, &cc); err != nil {
				t.Fatal(err)
			}
			if cc.Choices[0].FinishReason != tt.wantFinish || u != tt.wantUsage || *cc.Usage != tt.wantUsage {
				t.Errorf("finish %q usage %+v / %+v, want %q %+v", cc.Choices[0].FinishReason, u, *cc.Usage, tt.wantFinish, tt.wantUsage)
			}
		})
	}
}

func TestWholeAnswersThatAreNotAnswersAreErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"an answer that ended with ERROR is a retryable error", `{"id":"r1","finish_reason":"ERROR","message":{"role":"assistant","content":[]}}`},
		{"a body that is not JSON is a retryable error", `<html>bad gateway</html>`},
		{"a body of the wrong shape is a retryable error", `{"message":{"content":"not an array"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := translateResponse("cohere", testModel, []byte(tt.raw), 1)
			var oe *openai.Error
			if !errors.As(err, &oe) || !oe.Retryable || oe.HTTPStatus() != 502 {
				t.Fatalf("error = %v, want a retryable 502", err)
			}
		})
	}
}

// sseOf frames data lines as an SSE body.
func sseOf(events ...string) []byte {
	var sb strings.Builder
	for _, e := range events {
		sb.WriteString("data: " + e + "\n\n")
	}
	return []byte(sb.String())
}

func TestStreamEdgeCases(t *testing.T) {
	start := func(id string, name string) string {
		return `{"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"` + id + `","type":"function","function":{"name":"` + name + `","arguments":""}}}}}`
	}
	end := `{"type":"message-end","delta":{"finish_reason":"TOOL_CALL"}}`
	tests := []struct {
		name      string
		body      []byte
		wantErr   bool
		wantTools []int
		wantUsage *openai.Usage
	}{
		{name: "tool indexes count 0, 1, 2 whatever index Cohere sends",
			body:      sseOf(start("a", "f"), start("b", "g"), start("c", "h"), end),
			wantTools: []int{0, 1, 2}, wantUsage: &openai.Usage{}},
		{name: "a message-end without usage still ends with a zero usage chunk",
			body:      sseOf(`{"type":"content-delta","delta":{"message":{"content":{"text":"hi"}}}}`, `{"type":"message-end","delta":{"finish_reason":"COMPLETE"}}`),
			wantUsage: &openai.Usage{}},
		{name: "the event name is used when the data has no type",
			body:      []byte("event: message-end\ndata: {\"delta\":{\"finish_reason\":\"MAX_TOKENS\",\"usage\":{\"tokens\":{\"input_tokens\":2,\"output_tokens\":1}}}}\n\n"),
			wantUsage: &openai.Usage{PromptTokens: 2, CompletionTokens: 1, TotalTokens: 3}},
		{name: "a tool-call-delta before any tool-call-start is an error",
			body: sseOf(`{"type":"tool-call-delta","delta":{"message":{"tool_calls":{"function":{"arguments":"{}"}}}}}`, end), wantErr: true},
		{name: "an event that is not JSON is an error",
			body: sseOf(`{"type":"content-delta"`, end), wantErr: true},
		{name: "a [DONE] before message-end does not end the stream cleanly",
			body: sseOf(`{"type":"message-start","id":"x"}`, `[DONE]`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := runStream(t, tt.body)
			if tt.wantErr {
				var oe *openai.Error
				if errors.Is(err, io.EOF) || !errors.As(err, &oe) || !oe.Retryable {
					t.Fatalf("error = %v, want a retryable error", err)
				}
				return
			}
			if !errors.Is(err, io.EOF) {
				t.Fatalf("error = %v, want io.EOF", err)
			}
			var first openai.ChatCompletionChunk
			if err := json.Unmarshal(chunks[0].Data, &first); err != nil || first.Choices[0].Delta.Role != "assistant" {
				t.Errorf("first chunk is not the role chunk: %s", chunks[0].Data)
			}
			var tools []int
			for _, c := range chunks {
				var v openai.ChatCompletionChunk
				if err := json.Unmarshal(c.Data, &v); err != nil {
					t.Fatal(err)
				}
				for _, ch := range v.Choices {
					for _, tc := range ch.Delta.ToolCalls {
						if tc.ID != "" {
							tools = append(tools, tc.Index)
						}
					}
				}
			}
			if !slices.Equal(tools, tt.wantTools) {
				t.Errorf("tool call indexes = %v, want %v", tools, tt.wantTools)
			}
			last := chunks[len(chunks)-1]
			if last.Usage == nil || *last.Usage != *tt.wantUsage {
				t.Errorf("last chunk usage = %v, want %+v", last.Usage, *tt.wantUsage)
			}
		})
	}
}

func TestEmbeddingsInputValidation(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		format    string
		wantTexts []string
		wantParam string
	}{
		{name: "a single string is one text", input: `"hello"`, wantTexts: []string{"hello"}},
		{name: "an array of strings is kept in order", input: `["a","b","c"]`, wantTexts: []string{"a", "b", "c"}},
		{name: "an empty array is refused", input: `[]`, wantParam: "input"},
		{name: "token arrays are refused", input: `[[1,2],[3]]`, wantParam: "input"},
		{name: "an unknown encoding_format is refused", input: `"x"`, format: "int8", wantParam: "encoding_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _, err := translateEmbedRequest("embed-v4.0", &openai.EmbeddingsRequest{Input: json.RawMessage(tt.input), EncodingFormat: tt.format})
			if tt.wantParam != "" {
				if err == nil || err.HTTPStatus() != 400 || err.Param != tt.wantParam {
					t.Fatalf("error = %v, want a 400 on %s", err, tt.wantParam)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(req.Texts, tt.wantTexts) || req.InputType != "search_document" {
				t.Errorf("texts %v input_type %q", req.Texts, req.InputType)
			}
		})
	}
}

func TestEmbeddingsAnswersThatDoNotMatchTheInputAreErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"fewer vectors than inputs is an error", `{"embeddings":{"float":[[0.1]]},"meta":{}}`},
		{"no float vectors is an error", `{"embeddings":{"int8":[[1],[2]]}}`},
		{"a body that is not JSON is an error", `not json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := translateEmbedResponse("cohere", "embed-v4.0", 2, "float", []byte(tt.raw))
			var oe *openai.Error
			if !errors.As(err, &oe) || !oe.Retryable {
				t.Fatalf("error = %v, want a retryable error", err)
			}
		})
	}
}
