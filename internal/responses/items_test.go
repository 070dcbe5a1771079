package responses

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestInputItemsKeepTheirOwnIDsAndGetStableOnesOtherwise(t *testing.T) {
	var items []Item
	if err := json.Unmarshal([]byte(`[
		{"role":"user","content":"a <b>"},
		{"type":"function_call","id":"fc_own","call_id":"c1","name":"f","arguments":"{}"},
		{"type":"function_call_output","call_id":"c1","output":"42"},
		{"type":"item_reference","id":"msg_ref"},
		{"type":"reasoning","summary":[]}
	]`), &items); err != nil {
		t.Fatal(err)
	}
	list, err := InputItems("resp_1", items, Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := list.JSON()
	var got struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(b, &got); err != nil || len(got.Data) != 5 {
		t.Fatalf("%s", b)
	}
	ids := make([]string, len(got.Data))
	for i, d := range got.Data {
		ids[i], _ = d["id"].(string)
	}
	if !strings.HasPrefix(ids[0], "msg_") || ids[1] != "fc_own" || !strings.HasPrefix(ids[2], "fco_") ||
		ids[3] != "msg_ref" || !strings.HasPrefix(ids[4], "item_") || got.Data[4]["type"] != "reasoning" {
		t.Errorf("ids %q in %s", ids, b)
	}
	if !strings.Contains(string(b), `"content":[{"type":"input_text","text":"a <b>"}]`) {
		t.Errorf("a string content is not one unescaped input_text part: %s", b)
	}
	again, _ := InputItems("resp_1", items, Page{Limit: 10})
	other, _ := InputItems("resp_2", items, Page{Limit: 10})
	if b2, _ := again.JSON(); string(b2) != string(b) {
		t.Errorf("a second listing differs:\n%s\n%s", b, b2)
	}
	if b3, _ := other.JSON(); string(b3) == string(b) {
		t.Error("two responses' derived ids are the same")
	}
}

func TestParsePageDefaultsAndBounds(t *testing.T) {
	p, err := ParsePage(url.Values{})
	if err != nil || p != (Page{Limit: 20, Desc: true}) {
		t.Fatalf("defaults %+v %v", p, err)
	}
	p, err = ParsePage(url.Values{"limit": {"100"}, "order": {"asc"}, "after": {"msg_1"}})
	if err != nil || p != (Page{Limit: 100, After: "msg_1"}) {
		t.Fatalf("%+v %v", p, err)
	}
	for _, q := range []url.Values{{"limit": {"0"}}, {"limit": {"101"}}, {"limit": {"1.5"}}, {"order": {"ASC"}}} {
		if _, err := ParsePage(q); err == nil {
			t.Errorf("%v accepted", q)
		}
	}
}
