package gemini

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

func chatRequest(t *testing.T, body string) *openai.ChatRequest {
	t.Helper()
	var r openai.ChatRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("bad test request: %v", err)
	}
	return &r
}

func TestToolChoiceBecomesTheMatchingFunctionCallingMode(t *testing.T) {
	tools := `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}]`
	cases := []struct {
		name, choice, want string
	}{
		{"auto lets the model decide", `"auto"`, `{"functionCallingConfig":{"mode":"AUTO"}}`},
		{"none forbids calls", `"none"`, `{"functionCallingConfig":{"mode":"NONE"}}`},
		{"required forces some call", `"required"`, `{"functionCallingConfig":{"mode":"ANY"}}`},
		{"a named function forces that function", `{"type":"function","function":{"name":"f"}}`, `{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}`},
		{"no tool_choice sends no toolConfig", ``, `null`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"model":"m","messages":[{"role":"user","content":"hi"}],` + tools
			if tc.choice != "" {
				body += `,"tool_choice":` + tc.choice
			}
			gr, err := translateRequest("", chatRequest(t, body+`}`))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(gr.ToolConfig)
			if string(got) != tc.want {
				t.Errorf("toolConfig = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestToolChoiceWithoutToolsSendsNoToolConfig(t *testing.T) {
	gr, err := translateRequest("", chatRequest(t, `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"none"}`))
	if err != nil {
		t.Fatal(err)
	}
	if gr.ToolConfig != nil || gr.Tools != nil {
		t.Errorf("toolConfig = %+v, tools = %+v; want neither", gr.ToolConfig, gr.Tools)
	}
}

func TestInvalidClientRequestsAreRejectedWith400NamingTheField(t *testing.T) {
	cases := []struct {
		name, body, param string
	}{
		{"an unknown role", `{"messages":[{"role":"robot","content":"x"}]}`, "messages[0].role"},
		{"a tool result for a call nobody made", `{"messages":[{"role":"tool","tool_call_id":"call_9","content":"x"}]}`, "messages[0].tool_call_id"},
		{"tool call arguments that are not JSON", `{"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, "messages[0].tool_calls[0].function.arguments"},
		{"tool call arguments that are not an object", `{"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[0].tool_calls[0].function.arguments"},
		{"a data URL that is not base64", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,raw"}}]}]}`, "messages[0].content[0].image_url.url"},
		{"an image URL Gemini cannot fetch", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "messages[0].content[0].image_url.url"},
		{"a content part type Gemini lacks", `{"messages":[{"role":"user","content":[{"type":"video","text":"x"}]}]}`, "messages[0].content[0].type"},
		{"a response_format type Gemini lacks", `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}`, "response_format.type"},
		{"a tool_choice of unknown shape", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}`, "tool_choice"},
		{"a tool that is not a function", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search","function":{"name":"f"}}]}`, "tools[0].type"},
		{"a recursive parameters schema", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"$ref":"#/$defs/N","$defs":{"N":{"type":"object","properties":{"next":{"$ref":"#/$defs/N"}}}}}}}]}`, "tools[0].function.parameters"},
		{"a json_schema that is not an object", `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":[1]}}}`, "response_format.json_schema.schema"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := translateRequest("", chatRequest(t, tc.body))
			var oe *openai.Error
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want *openai.Error", err)
			}
			if oe.HTTPStatus() != 400 || oe.Param != tc.param {
				t.Errorf("status %d param %q, want 400 %q (%s)", oe.HTTPStatus(), oe.Param, tc.param, oe.Message)
			}
		})
	}
}

func TestToolResultsAreWrappedUnlessTheyAreJSONObjects(t *testing.T) {
	cases := []struct {
		name, content, want string
	}{
		{"a JSON object is sent as it is", `{"a": 1}`, `{"a":1}`},
		{"a JSON array is wrapped", `[1, 2]`, `{"result":[1,2]}`},
		{"a JSON number is wrapped", `42`, `{"result":42}`},
		{"a JSON string is wrapped", `"done"`, `{"result":"done"}`},
		{"plain text is wrapped as a string", `it is sunny`, `{"result":"it is sunny"}`},
		{"an empty result is wrapped as an empty string", ``, `{"result":""}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(toolResult(tc.content)); got != tc.want {
				t.Errorf("toolResult(%q) = %s, want %s", tc.content, got, tc.want)
			}
		})
	}
}

func TestToolMessageFallsBackToItsNameWhenTheCallIDIsUnknown(t *testing.T) {
	gr, err := translateRequest("", chatRequest(t, `{"messages":[{"role":"tool","tool_call_id":"x","name":"lookup","content":"{}"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := gr.Contents[0].Parts[0].FunctionResponse.Name; got != "lookup" {
		t.Errorf("functionResponse.name = %q, want lookup", got)
	}
}

func TestSchemasAreRewrittenIntoGeminisSubset(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"unknown keywords are dropped but property names are kept",
			`{"type":"object","additionalProperties":false,"$schema":"x","properties":{"additionalProperties":{"type":"string","examples":["a"]}}}`,
			`{"properties":{"additionalProperties":{"type":"string"}},"type":"object"}`},
		{"a nullable type list becomes nullable",
			`{"type":["integer","null"]}`, `{"nullable":true,"type":"integer"}`},
		{"several types become anyOf",
			`{"type":["integer","string"]}`, `{"anyOf":[{"type":"integer"},{"type":"string"}]}`},
		{"oneOf becomes anyOf",
			`{"oneOf":[{"type":"integer"},{"type":"string"}]}`, `{"anyOf":[{"type":"integer"},{"type":"string"}]}`},
		{"allOf is merged",
			`{"allOf":[{"type":"object"},{"properties":{"a":{"type":"string"}}}]}`, `{"properties":{"a":{"type":"string"}},"type":"object"}`},
		{"formats Gemini refuses are dropped and known ones kept",
			`{"type":"object","properties":{"u":{"type":"string","format":"uri"},"n":{"type":"integer","format":"int64"}}}`,
			`{"properties":{"n":{"format":"int64","type":"integer"},"u":{"type":"string"}},"type":"object"}`},
		{"non-string enums are dropped",
			`{"type":"integer","enum":[1,2]}`, `{"type":"integer"}`},
		{"large numbers keep their digits",
			`{"type":"integer","maximum":12345678901234567890}`, `{"maximum":12345678901234567890,"type":"integer"}`},
		{"definitions refs are inlined with the referring description",
			`{"definitions":{"A":{"type":"string"}},"type":"object","properties":{"a":{"$ref":"#/definitions/A","description":"an A"}}}`,
			`{"properties":{"a":{"description":"an A","type":"string"}},"type":"object"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toGeminiSchema(json.RawMessage(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestSchemasThatExplodeWhenInlinedAreRefused(t *testing.T) {
	// Each level refers to the next one twice: 2^20 nodes once inlined.
	var defs []string
	for i := 0; i < 20; i++ {
		defs = append(defs, `"D`+itoa(i)+`":{"type":"object","properties":{"a":{"$ref":"#/$defs/D`+itoa(i+1)+`"},"b":{"$ref":"#/$defs/D`+itoa(i+1)+`"}}}`)
	}
	defs = append(defs, `"D20":{"type":"string"}`)
	in := `{"$ref":"#/$defs/D0","$defs":{` + strings.Join(defs, ",") + `}}`
	if _, err := toGeminiSchema(json.RawMessage(in)); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("err = %v, want a too-large error", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
