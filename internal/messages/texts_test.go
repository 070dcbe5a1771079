package messages

import (
	"reflect"
	"strings"
	"testing"
)

func TestTextsListsEveryPromptTextWithItsPath(t *testing.T) {
	body := `{"model":"m","max_tokens":9,"system":[{"type":"text","text":"Be brief."}],"messages":[
		{"role":"user","content":"Hello"},
		{"role":"assistant","content":[{"type":"text","text":"Hi"},{"type":"tool_use","id":"t1","name":"f","input":{"text":"not prompt text"}}]},
		{"role":"user","content":[
			{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"result"},{"type":"image","source":{"type":"url","url":"https://x"}}]},
			{"type":"tool_result","tool_use_id":"t2","content":"plain result"},
			{"type":"document","source":{"type":"text","media_type":"text/plain","data":"a document"}},
			{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},
			{"type":"text","text":"and?"}]}]}`
	if _, err := Decode([]byte(body)); err != nil {
		t.Fatal(err)
	}
	got, err := Texts([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []Text{
		{-1, "system.0.text", "Be brief."},
		{0, "messages.0.content", "Hello"},
		{1, "messages.1.content.0.text", "Hi"},
		{2, "messages.2.content.0.content.0.text", "result"},
		{2, "messages.2.content.1.content", "plain result"},
		{2, "messages.2.content.2.source.data", "a document"},
		{2, "messages.2.content.4.text", "and?"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("texts\n%v\nwant\n%v", got, want)
	}
	sys, _ := Texts([]byte(`{"model":"m","system":"S","messages":[{"role":"user","content":"x"}]}`))
	if len(sys) != 2 || sys[0] != (Text{-1, "system", "S"}) {
		t.Errorf("string system: %v", sys)
	}
}

// A policy reads Texts; the upstream (or the chat translation, through
// Decode's encoding/json) must not read anything else.
func TestTextsRefusesABodyParsersCouldReadDifferently(t *testing.T) {
	tests := []struct{ name, body string }{
		{"a duplicate messages key", `{"model":"m","messages":[{"role":"user","content":"ok"}],"messages":[{"role":"user","content":"bad"}]}`},
		{"a key in another case", `{"model":"m","Messages":[{"role":"user","content":"bad"}],"messages":[{"role":"user","content":"ok"}]}`},
		{"a duplicate text in a block", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"ok","text":"bad"}]}]}`},
		{"a key encoding/json folds to text", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"ok","ﬆext":"x"}]}]}`},
		{"a long-s spelling of system", `{"model":"m","system":"ok","ſystem":"bad","messages":[{"role":"user","content":"x"}]}`},
		{"a duplicate in a tool result block", `{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a","Text":"b"}]}]}]}`},
		{"a duplicate in a document source", `{"model":"m","messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"a","data":"b"}}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Texts([]byte(tt.body))
			if e, ok := err.(*Error); !ok || e.Status != 400 || e.Type != TypeInvalidRequest {
				t.Fatalf("err = %v", err)
			}
		})
	}
	// Keys inside a tool's input or schema are the client's own.
	if _, err := Texts([]byte(`{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"ID":1,"id":2}}]}]}`)); err != nil {
		t.Errorf("tool input keys were checked: %v", err)
	}
}

func TestSetTextsChangesOnlyTheTexts(t *testing.T) {
	body := `{"model":"m",  "messages":[{"role":"user","content":[{"type":"text","text":"mail me at a@b.example","cache_control":{"type":"ephemeral"}}]}],"x":[1, 2]}`
	texts, _ := Texts([]byte(body))
	texts[0].Text = "mail me at [EMAIL]"
	out, err := SetTexts([]byte(body), texts)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(body, "a@b.example", "[EMAIL]", 1); string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}
