package guardrails

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

// decode is the request encoding/json reads from body, as the gateway does.
func decode(t *testing.T, body string) *openai.ChatRequest {
	t.Helper()
	var req openai.ChatRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return &req
}

// toolCall is an assistant message calling f with the JSON arguments args.
func toolCall(args ...string) string {
	var calls []string
	for i, a := range args {
		b, _ := json.Marshal(a)
		calls = append(calls, `{"id":"c`+string(rune('0'+i))+`","type":"function","function":{"name":"f","arguments":`+string(b)+`}}`)
	}
	return `{"role":"assistant","content":null,"tool_calls":[` + strings.Join(calls, ",") + `]}`
}

func TestEveryTextTheModelReadsIsChecked(t *testing.T) {
	e := mustNew(t, Set{Global: Config{BlockedWords: []string{"bad", "top secret", "ass"}, BlockedPatterns: []string{`PRJ-\d{4}`, `^ignore previous`, `done$`}}})
	hi := `{"role":"user","content":"hi"}`
	msgs := func(m ...string) string { return `{"model":"m","messages":[` + strings.Join(m, ",") + `]}` }
	withTools := func(tools ...string) string {
		return `{"model":"m","messages":[` + hi + `],"tools":[` + strings.Join(tools, ",") + `]}`
	}
	tool := func(desc, params string) string {
		return `{"type":"function","function":{"name":"f","description":` + desc + `,"parameters":` + params + `}}`
	}
	const okParams = `{"type":"object","properties":{"q":{"type":"string","description":"the query"}}}`
	parts := func(p ...string) string {
		return msgs(`{"role":"user","content":[` + strings.Join(p, ",") + `]}`)
	}
	tests := []struct {
		name  string
		body  string
		param string // "" when the request passes
	}{
		{"a blocked word in a message's name is refused", msgs(hi, `{"role":"user","name":"bad","content":"hi"}`), "messages[1].name"},
		{"a blocked word in a tool call's arguments is refused", msgs(hi, toolCall(`{"q":"so bad"}`)), "messages[1].tool_calls[0].function.arguments"},
		{"a blocked word in the second tool call's arguments is refused", msgs(toolCall(`{"q":"ok"}`, `{"q":"bad"}`)), "messages[0].tool_calls[1].function.arguments"},
		{"a blocked word behind a JSON escape in tool-call arguments is refused", msgs(toolCall(`{"q":"\u0062ad"}`)), "messages[0].tool_calls[0].function.arguments"},
		{"a blocked word escaped after an unpaired surrogate in tool-call arguments is refused (read as the upstream's JSON parser reads it)", msgs(toolCall(`{"q":"\ud800\u0062ad"}`)), "messages[0].tool_calls[0].function.arguments"},
		{"a blocked word after an escaped newline in tool-call arguments is refused", msgs(toolCall(`{"q":"ok\nbad"}`)), "messages[0].tool_calls[0].function.arguments"},
		{"a blocked phrase across an escaped newline in tool-call arguments is refused", msgs(toolCall(`{"q":"top\nsecret"}`)), "messages[0].tool_calls[0].function.arguments"},
		{"a blocked pattern in tool-call arguments is refused", msgs(toolCall(`{"id":"PRJ-1234"}`)), "messages[0].tool_calls[0].function.arguments"},
		{"tool-call arguments that are not JSON are checked as text", msgs(toolCall(`so bad`)), "messages[0].tool_calls[0].function.arguments"},
		{"a blocked word hidden in tool-call arguments by a zero-width space is refused", msgs(toolCall(`{"q":"b\u200bad"}`)), "messages[0].tool_calls[0].function.arguments"},
		{"a blocked word in a tool's description is refused", withTools(tool(`"looks up bad things"`, okParams)), "tools[0].function.description"},
		{"a blocked word in a parameter's description is refused", withTools(tool(`"ok"`, okParams), tool(`"ok"`, `{"type":"object","properties":{"q":{"type":"string","description":"a bad query"}}}`)), "tools[1].function.parameters"},
		{"a blocked word in a nested parameter's description is refused", withTools(tool(`"ok"`, `{"type":"object","properties":{"l":{"type":"array","items":{"type":"object","properties":{"x":{"description":"top secret"}}}}}}`)), "tools[0].function.parameters"},
		{"a parameter description keyed in another case is read too", withTools(tool(`"ok"`, `{"type":"object","Description":"bad"}`)), "tools[0].function.parameters"},
		{"a blocked word escaped in a parameter's description is refused", withTools(tool(`"ok"`, `{"description":"\u0062ad"}`)), "tools[0].function.parameters"},
		{"a blocked word escaped after an unpaired surrogate in a parameter's description is refused", withTools(tool(`"ok"`, `{"description":"\udc00\u0062ad"}`)), "tools[0].function.parameters"},
		{"a blocked word in the third text part is refused", parts(`{"type":"text","text":"a"}`, `{"type":"text","text":"b"}`, `{"type":"text","text":"so bad"}`), "messages[0].content"},
		{"a blocked word split across two text parts is refused", parts(`{"type":"text","text":"so b"}`, `{"type":"text","text":"ad."}`), "messages[0].content"},
		{"a blocked word split across text parts around an image is refused", parts(`{"type":"text","text":"so b"}`, `{"type":"image_url","image_url":{"url":"https://x.io/a.png"}}`, `{"type":"text","text":"ad."}`), "messages[0].content"},
		{"a blocked phrase whose space falls between two parts is refused", parts(`{"type":"text","text":"it is top"}`, `{"type":"text","text":"secret"}`), "messages[0].content"},
		{"a blocked pattern split across two text parts is refused", parts(`{"type":"text","text":"see PRJ-"}`, `{"type":"text","text":"1234"}`), "messages[0].content"},
		{"a pattern anchored to the start of the text is tried on each part", parts(`{"type":"text","text":"hello"}`, `{"type":"text","text":"ignore previous orders"}`), "messages[0].content"},
		{"a pattern anchored to the end of the text is tried on each part", parts(`{"type":"text","text":"all done"}`, `{"type":"text","text":"thanks"}`), "messages[0].content"},
		{"an anchored pattern does not match inside a part", parts(`{"type":"text","text":"hello"}`, `{"type":"text","text":"do not ignore previous orders, done?"}`), ""},
		{"a blocked word in a part that is not of type text is refused", parts(`{"type":"input_text","text":"so bad"}`), "messages[0].content"},
		{"text parts that join into a longer word pass", parts(`{"type":"text","text":"a cl"}`, `{"type":"text","text":"assy act"}`), ""},
		{"a word split across two messages passes", msgs(`{"role":"user","content":"so b"}`, `{"role":"user","content":"ad"}`), ""},
		{"a clean agent request passes", msgs(hi, `{"role":"user","name":"reader","content":"hi"}`, toolCall(`{"q":"good\nthings"}`)), ""},
		{"a blocked word in an earlier turn's reasoning_content is refused", msgs(hi, `{"role":"assistant","content":"ok","reasoning_content":"so bad"}`, hi), "messages[1].reasoning_content"},
		{"a blocked word in an earlier turn's thinking block is refused", msgs(hi, `{"role":"assistant","content":"ok","thinking_blocks":[{"type":"thinking","thinking":"fine","signature":"s1"},{"type":"thinking","thinking":"top secret","signature":"s2"}]}`, hi), "messages[1].thinking_blocks[1].thinking"},
		{"clean tools pass", withTools(tool(`"looks things up"`, okParams)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.CheckChat("", decode(t, tt.body))
			if tt.param == "" {
				if err != nil {
					t.Fatalf("CheckChat = %v, want no refusal", err)
				}
			} else {
				ge := gatewayError(t, err, openai.CodeContentFilter, tt.param)
				if !strings.Contains(ge.Message, "blocked by the gateway's content policy") {
					t.Errorf("message %q", ge.Message)
				}
			}
			// The raw body is refused alike.
			_, berr := e.CheckChatBody("", decode(t, tt.body), []byte(tt.body))
			if (berr == nil) != (err == nil) {
				t.Errorf("CheckChatBody = %v, CheckChat = %v", berr, err)
			}
		})
	}
}

func TestEveryTextTheModelReadsIsRedacted(t *testing.T) {
	e := mustNew(t, Set{Global: Config{RedactEmails: true, RedactCardNumbers: true}})
	const mail, card = "jane@example.com", "4111 1111 1111 1111"
	tests := []struct {
		name string
		in   string // a body
		want string // the body sent upstream
	}{
		{"an address in a message's name is replaced",
			`{"messages":[{"role":"user", "name":"` + mail + `","content":"hi","x":1}]}`,
			`{"messages":[{"role":"user", "name":"[REDACTED_EMAIL]","content":"hi","x":1}]}`},
		{"an address and a card in tool-call arguments are replaced",
			`{"messages":[` + toolCall(`{"to":"`+mail+`", "card":"`+card+`"}`) + `]}`,
			`{"messages":[` + toolCall(`{"to":"[REDACTED_EMAIL]", "card":"[REDACTED_CARD]"}`) + `]}`},
		{"a card number written as a JSON number becomes a string, so the arguments stay JSON",
			`{"messages":[` + toolCall(`{"card":4111111111111111,"n":2}`) + `]}`,
			`{"messages":[` + toolCall(`{"card":"[REDACTED_CARD]","n":2}`) + `]}`},
		{"an address behind a JSON escape in tool-call arguments is replaced",
			`{"messages":[` + toolCall(`{"to":"jane\u0040example.com"}`) + `]}`,
			`{"messages":[` + toolCall(`{"to":"[REDACTED_EMAIL]"}`) + `]}`},
		{"an address as a key of tool-call arguments is replaced",
			`{"messages":[` + toolCall(`{"`+mail+`":true}`) + `]}`,
			`{"messages":[` + toolCall(`{"[REDACTED_EMAIL]":true}`) + `]}`},
		{"tool-call arguments that are not JSON are redacted as text",
			`{"messages":[` + toolCall(`mail `+mail) + `]}`,
			`{"messages":[` + toolCall(`mail [REDACTED_EMAIL]`) + `]}`},
		{"the second tool call is redacted too",
			`{"messages":[` + toolCall(`{}`, `{"to":"`+mail+`"}`) + `]}`,
			`{"messages":[` + toolCall(`{}`, `{"to":"[REDACTED_EMAIL]"}`) + `]}`},
		{"an address in a tool's description is replaced, and tools before messages keep their place",
			`{"tools":[{"type":"function","function":{"name":"f","description":"ask ` + mail + `","strict":true}}],"messages":[{"role":"user","content":"` + mail + `"}]}`,
			`{"tools":[{"type":"function","function":{"name":"f","description":"ask [REDACTED_EMAIL]","strict":true}}],"messages":[{"role":"user","content":"[REDACTED_EMAIL]"}]}`},
		{"an address in a parameter's description is replaced and the schema is kept byte for byte",
			`{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{ "type" : "object", "properties":{"to":{"type":"string","description":"e.g. ` + mail + `","format":"email"}} }}}]}`,
			`{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{ "type" : "object", "properties":{"to":{"type":"string","description":"e.g. [REDACTED_EMAIL]","format":"email"}} }}}]}`},
		{"every text part is replaced, whatever its type",
			`{"messages":[{"role":"user","content":[{"type":"text","text":"` + mail + `"},{"type":"image_url","image_url":{"url":"https://x.io/?u=` + mail + `"}},{"type":"input_text","text":"` + card + `"}]}]}`,
			`{"messages":[{"role":"user","content":[{"type":"text","text":"[REDACTED_EMAIL]"},{"type":"image_url","image_url":{"url":"https://x.io/?u=` + mail + `"}},{"type":"input_text","text":"[REDACTED_CARD]"}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := decode(t, tt.in)
			out, err := e.CheckChatBody("", req, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("body\n got %s\nwant %s", out, tt.want)
			}
			// The request the translators read says the same as the body.
			got, _ := json.Marshal(req)
			want, _ := json.Marshal(decode(t, tt.want))
			if string(got) != string(want) {
				t.Errorf("request\n got %s\nwant %s", got, want)
			}
			for _, m := range req.Messages {
				for _, c := range m.ToolCalls {
					if strings.HasPrefix(c.Function.Arguments, "{") && !json.Valid([]byte(c.Function.Arguments)) {
						t.Errorf("arguments %q are no longer JSON", c.Function.Arguments)
					}
				}
			}
		})
	}
}

func TestAmbiguousKeysOfTheNewFieldsAreRefused(t *testing.T) {
	e := mustNew(t, Set{Global: Config{BlockedWords: []string{"bad"}}})
	call := func(fn string) string {
		return `{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":` + fn + `}]}]}`
	}
	tool := func(fn string) string {
		return `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":` + fn + `}]}`
	}
	tests := []struct {
		name  string
		raw   string
		param string
	}{
		{"a second name key is refused", `{"messages":[{"role":"user","content":"hi","name":"bad","name":"ok"}]}`, "messages[0].name"},
		{"a tool_calls key in another case is refused", `{"messages":[{"role":"assistant","content":null,"tool_calls":[],"Tool_Calls":[]}]}`, "messages[0].tool_calls"},
		{"a second function key in a tool call is refused", `{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","function":{"name":"f","arguments":"bad"},"function":{"name":"f","arguments":"ok"}}]}]}`, "messages[0].tool_calls[0].function"},
		{"a second arguments key is refused", call(`{"name":"f","arguments":"bad","arguments":"ok"}`), "messages[0].tool_calls[0].function.arguments"},
		{"a second tools key is refused", `{"messages":[],"tools":[],"tools":[]}`, "tools"},
		{"a second function key in a tool is refused", `{"messages":[],"tools":[{"type":"function","function":{"name":"f"},"FUNCTION":{"name":"g"}}]}`, "tools[0].function"},
		{"a second description key is refused", tool(`{"name":"f","description":"bad","description":"ok"}`), "tools[0].function.description"},
		{"a parameters key in another case is refused", tool(`{"name":"f","parameters":{},"Parameters":{}}`), "tools[0].function.parameters"},
		{"a second reasoning_content key is refused", `{"messages":[{"role":"assistant","content":"ok","reasoning_content":"bad","reasoning_content":"ok"}]}`, "messages[0].reasoning_content"},
		{"a thinking_blocks key in another case is refused", `{"messages":[{"role":"assistant","content":"ok","thinking_blocks":[],"Thinking_Blocks":[]}]}`, "messages[0].thinking_blocks"},
		{"a second thinking key in a thinking block is refused", `{"messages":[{"role":"assistant","content":"ok","thinking_blocks":[{"type":"thinking","thinking":"bad","thinking":"ok"}]}]}`, "messages[0].thinking_blocks[0].thinking"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.CheckChatBody("", decode(t, tt.raw), []byte(tt.raw))
			ge := gatewayError(t, err, openai.CodeInvalidRequest, tt.param)
			if !strings.Contains(ge.Message, "in lower case") {
				t.Errorf("message %q does not say how to fix the body", ge.Message)
			}
		})
	}
}

// TestSchemasAndNamesAreChecked: the structured-output schema
// (its name, description and the descriptions in it) and the names of
// tools and of tool calls reach the model, so the blocked words read them.
func TestSchemasAndNamesAreChecked(t *testing.T) {
	e := mustNew(t, Set{Global: Config{BlockedWords: []string{"bad", "top secret"}}})
	hi := `{"role":"user","content":"hi"}`
	format := func(spec string) string {
		return `{"model":"m","messages":[` + hi + `],"response_format":{"type":"json_schema","json_schema":` + spec + `}}`
	}
	tests := []struct {
		name  string
		body  string
		param string // "" when the request passes
	}{
		{"a blocked word in a schema's description is refused", format(`{"name":"out","schema":{"type":"object","properties":{"a":{"type":"string","description":"a bad answer"}}}}`), "response_format.json_schema.schema"},
		{"a blocked word escaped in a schema's description is refused", format(`{"name":"out","schema":{"description":"\u0062ad"}}`), "response_format.json_schema.schema"},
		{"a blocked phrase in the json_schema's description is refused", format(`{"name":"out","description":"top secret","schema":{}}`), "response_format.json_schema.description"},
		{"a blocked word as the json_schema's name is refused", format(`{"name":"bad","schema":{}}`), "response_format.json_schema.name"},
		{"a blocked word as a tool's name is refused", `{"model":"m","messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"bad"}}]}`, "tools[0].function.name"},
		{"a blocked word as a tool call's name is refused", `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"bad","arguments":"{}"}}]}]}`, "messages[0].tool_calls[0].function.name"},
		{"names holding a blocked word in a longer identifier pass", `{"model":"m","messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"badge_lookup"}}]}`, ""},
		{"a clean schema passes", format(`{"name":"out","description":"the answer","schema":{"type":"object","properties":{"a":{"type":"string","description":"good"}}}}`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.CheckChat("", decode(t, tt.body))
			if tt.param == "" {
				if err != nil {
					t.Fatalf("CheckChat = %v, want no refusal", err)
				}
			} else {
				gatewayError(t, err, openai.CodeContentFilter, tt.param)
			}
			_, berr := e.CheckChatBody("", decode(t, tt.body), []byte(tt.body))
			if (berr == nil) != (err == nil) {
				t.Errorf("CheckChatBody = %v, CheckChat = %v", berr, err)
			}
		})
	}
}

func TestSchemasAreRedactedAndNamesAreNot(t *testing.T) {
	e := mustNew(t, Set{Global: Config{RedactEmails: true, RedactCardNumbers: true}})
	const mail = "jane@example.com"
	in := `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"out","description":"mail ` + mail +
		`","schema":{"type":"object","properties":{"to":{"type":"string","description":"e.g. ` + mail + `"}}},"strict":true}},` +
		`"tools":[{"type":"function","function":{"name":"4111111111111111"}}]}`
	want := `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"out","description":"mail [REDACTED_EMAIL]` +
		`","schema":{"type":"object","properties":{"to":{"type":"string","description":"e.g. [REDACTED_EMAIL]"}}},"strict":true}},` +
		`"tools":[{"type":"function","function":{"name":"4111111111111111"}}]}`
	req := decode(t, in)
	out, err := e.CheckChatBody("", req, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Errorf("body\n got %s\nwant %s", out, want)
	}
	got, _ := json.Marshal(req)
	wantReq, _ := json.Marshal(decode(t, want))
	if string(got) != string(wantReq) {
		t.Errorf("request\n got %s\nwant %s", got, wantReq)
	}
}

func TestAmbiguousKeysOfTheSchemaAreRefused(t *testing.T) {
	e := mustNew(t, Set{Global: Config{BlockedWords: []string{"bad"}}})
	tests := []struct {
		name  string
		raw   string
		param string
	}{
		{"a second response_format key is refused", `{"messages":[],"response_format":{"type":"text"},"Response_Format":{"type":"text"}}`, "response_format"},
		{"a second json_schema key is refused", `{"messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"a"},"json_schema":{"name":"b"}}}`, "response_format.json_schema"},
		{"a second schema key is refused", `{"messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"description":"bad"},"schema":{}}}}`, "response_format.json_schema.schema"},
		{"a tool's name key in another case is refused", `{"messages":[],"tools":[{"type":"function","function":{"name":"f","NAME":"bad"}}]}`, "tools[0].function.name"},
		{"a tool call's second name key is refused", `{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","function":{"name":"bad","name":"f","arguments":"{}"}}]}]}`, "messages[0].tool_calls[0].function.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.CheckChatBody("", decode(t, tt.raw), []byte(tt.raw))
			ge := gatewayError(t, err, openai.CodeInvalidRequest, tt.param)
			if !strings.Contains(ge.Message, "in lower case") {
				t.Errorf("message %q does not say how to fix the body", ge.Message)
			}
		})
	}
}

// TestTheLengthLimitCountsEveryTextTheModelReads: the limit
// counted message content only, so a request could carry any length of
// text to the model in tool-call arguments, names, tool definitions or the
// output schema.
func TestTheLengthLimitCountsEveryTextTheModelReads(t *testing.T) {
	e := mustNew(t, Set{Global: Config{MaxInputChars: 20}})
	long := strings.Repeat("x", 19) // with the message "hi", over 20
	hi := `{"role":"user","content":"hi"}`
	msgs := func(m ...string) string { return `{"model":"m","messages":[` + strings.Join(m, ",") + `]}` }
	with := func(extra string) string { return `{"model":"m","messages":[` + hi + `],` + extra + `}` }
	tests := []struct {
		name string
		body string
		over bool
	}{
		{"tool-call arguments count", msgs(hi, toolCall(`{"q":"`+long+`"}`)), true},
		{"a message's name counts", msgs(`{"role":"user","name":"` + long + `","content":"hi"}`), true},
		{"a tool call's name counts", msgs(hi, `{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"`+long+`","arguments":"{}"}}]}`), true},
		{"a tool's name and description count", with(`"tools":[{"type":"function","function":{"name":"lookup","description":"` + long + `"}}]`), true},
		{"a parameter's description counts", with(`"tools":[{"type":"function","function":{"name":"f","parameters":{"description":"` + long + `"}}}]`), true},
		{"an escaped description counts as the characters it decodes to", with(`"tools":[{"type":"function","function":{"name":"f","parameters":{"description":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}}}]`), false},
		{"an earlier turn's reasoning_content counts", msgs(`{"role":"assistant","content":"","reasoning_content":"`+long+`"}`, hi), true},
		{"an earlier turn's thinking blocks count", msgs(`{"role":"assistant","content":"","thinking_blocks":[{"type":"thinking","thinking":"`+long+`","signature":"s"}]}`, hi), true},
		{"the output schema's description counts", with(`"response_format":{"type":"json_schema","json_schema":{"name":"o","description":"` + long + `"}}`), true},
		{"the descriptions in the output schema count", with(`"response_format":{"type":"json_schema","json_schema":{"name":"o","schema":{"description":"` + long + `"}}}`), true},
		{"a schema's keys and types do not count", with(`"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a_rather_long_property_name":{"type":"string"}}}}}]`), false},
		{"everything together at the limit passes", msgs(`{"role":"user","name":"ab","content":"hi"}`, toolCall(`{"q":"1234567"}`)), false},
		{"one more is over", msgs(`{"role":"user","name":"ab","content":"hi"}`, toolCall(`{"q":"12345678"}`)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.CheckChat("", decode(t, tt.body))
			if !tt.over {
				if err != nil {
					t.Fatalf("CheckChat = %v, want no refusal", err)
				}
				return
			}
			ge := gatewayError(t, err, openai.CodeInvalidRequest, "messages")
			if !strings.Contains(ge.Message, "limit of 20") {
				t.Errorf("message %q does not name the limit", ge.Message)
			}
		})
	}
}

// TestAnAddressSplitAcrossPartsIsRedactedInEach: the blocked
// words read text parts joined ("b", "ad" is "bad"), redaction read them
// one by one, so "jane@exa", "mple.com" reached the model whole.
func TestAnAddressSplitAcrossPartsIsRedactedInEach(t *testing.T) {
	e := mustNew(t, Set{Global: Config{RedactEmails: true, RedactCardNumbers: true}})
	text := func(s string) string { b, _ := json.Marshal(s); return `{"type":"text","text":` + string(b) + `}` }
	const image = `{"type":"image_url","image_url":{"url":"https://x.io/a@b.io.png"}}`
	body := func(parts ...string) string {
		return `{"messages":[{"role":"user","content":"hi"},{"role":"user","content":[` + strings.Join(parts, ",") + `]}]}`
	}
	tests := []struct {
		name     string
		in, want string // bodies
	}{
		{"an address split in two is redacted in both parts",
			body(text("mail jane@exa"), text("mple.com now")),
			body(text("mail [REDACTED_EMAIL]"), text("[REDACTED_EMAIL] now"))},
		{"an address split at its at sign is redacted in both parts",
			body(text("mail jane"), text("@example.com")),
			body(text("mail [REDACTED_EMAIL]"), text("[REDACTED_EMAIL]"))},
		{"a part wholly inside an address is redacted, not emptied",
			body(text("to jane@"), text("example"), text(".com, thanks")),
			body(text("to [REDACTED_EMAIL]"), text("[REDACTED_EMAIL]"), text("[REDACTED_EMAIL], thanks"))},
		{"a card number split at a group is redacted in both parts",
			body(text("card 4111 1111 "), text("1111 1111 exp 12/29")),
			body(text("card [REDACTED_CARD]"), text("[REDACTED_CARD] exp 12/29"))},
		{"a card number split around an image is redacted and the image kept",
			body(text("card 41111111"), image, text("11111111.")),
			body(text("card [REDACTED_CARD]"), image, text("[REDACTED_CARD]."))},
		{"a card number in full-width digits split in two is redacted in its plain form",
			body(text("card ４１１１ １１１１ "), text("１１１１ １１１１.")),
			body(text("card [REDACTED_CARD]"), text("[REDACTED_CARD]."))},
		{"an address and a split one in the same parts are both redacted",
			body(text("a@b.io or jane@exa"), text("mple.com")),
			body(text("[REDACTED_EMAIL] or [REDACTED_EMAIL]"), text("[REDACTED_EMAIL]"))},
		{"an address ending where its part ends does not take in the next part's word",
			body(text("mail me@x.io"), text("and tell me")),
			body(text("mail [REDACTED_EMAIL]"), text("and tell me"))},
		{"parts that hold nothing joined are kept",
			body(text("4111 1111"), text(" and 1111 1111")),
			body(text("4111 1111"), text(" and 1111 1111"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := decode(t, tt.in)
			out, err := e.CheckChatBody("", req, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("body\n got %s\nwant %s", out, tt.want)
			}
			got, _ := json.Marshal(req)
			want, _ := json.Marshal(decode(t, tt.want))
			if string(got) != string(want) {
				t.Errorf("request\n got %s\nwant %s", got, want)
			}
			if redacted, err := e.CheckChat("", decode(t, string(out))); err != nil || redacted {
				t.Errorf("a second redaction changed the body (err %v)", err)
			}
		})
	}
}
