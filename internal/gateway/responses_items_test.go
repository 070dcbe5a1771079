package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// itemList is GET /v1/responses/{id}/input_items's answer as the tests read it.
type itemList struct {
	Object string `json:"object"`
	Data   []struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Role    string `json:"role"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

// texts lists the page's items as role:text.
func (l itemList) texts() string {
	var out []string
	for _, it := range l.Data {
		var b strings.Builder
		for _, c := range it.Content {
			b.WriteString(c.Type + "=" + c.Text)
		}
		out = append(out, it.Role+":"+b.String())
	}
	return strings.Join(out, " | ")
}

func TestInputItemsListAStoredResponsesInputPageByPageForItsOwnerOnly(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, stateful, nil, a, a)
	alice, _ := createKey(t, g, `{"name":"alice"}`)
	bob, _ := createKey(t, g, `{"name":"bob"}`)
	as := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	first := responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"one"}`, as(alice)...))
	second := responseOf(t, do(t, g, "POST", "/v1/responses",
		`{"model":"shared","previous_response_id":"`+first.ID+`","input":[{"role":"user","content":[{"type":"input_text","text":"two"}]}]}`, as(alice)...))

	list := func(query string, hdr ...string) (itemList, int, string) {
		t.Helper()
		rec := do(t, g, "GET", "/v1/responses/"+second.ID+"/input_items"+query, "", hdr...)
		var l itemList
		if rec.Code == 200 {
			if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil || l.Object != "list" {
				t.Fatalf("not a list: %s", rec.Body)
			}
		}
		return l, rec.Code, rec.Body.String()
	}

	// Newest first by default, the turn it continued included; a string
	// input is listed as one input_text part, as OpenAI lists it.
	all, code, body := list("", as(alice)...)
	if code != 200 || all.texts() != "user:input_text=two | assistant:output_text=from a | user:input_text=one" || all.HasMore {
		t.Fatalf("%d %s", code, body)
	}
	for _, it := range all.Data {
		if it.ID == "" || it.Type != "message" {
			t.Fatalf("an item without an id or type: %s", body)
		}
	}
	if *all.FirstID != all.Data[0].ID || *all.LastID != all.Data[2].ID {
		t.Errorf("first_id/last_id do not name the page's ends: %s", body)
	}
	if again, _, _ := list("", as(alice)...); again.Data[2].ID != all.Data[2].ID {
		t.Errorf("an item's id changed between two calls: %s then %s", all.Data[2].ID, again.Data[2].ID)
	}

	// Paging forward, oldest first.
	p1, _, body := list("?order=asc&limit=2", as(alice)...)
	if p1.texts() != "user:input_text=one | assistant:output_text=from a" || !p1.HasMore {
		t.Fatalf("first asc page: %s", body)
	}
	p2, _, body := list("?order=asc&limit=2&after="+*p1.LastID, as(alice)...)
	if p2.texts() != "user:input_text=two" || p2.HasMore || *p2.FirstID != all.Data[0].ID {
		t.Fatalf("second asc page: %s", body)
	}
	if end, _, body := list("?order=asc&after="+*p2.LastID, as(alice)...); len(end.Data) != 0 || end.HasMore ||
		!strings.Contains(body, `"first_id":null`) {
		t.Errorf("past the end: %s", body)
	}

	for _, q := range []struct{ query, param string }{
		{"?limit=0", "limit"}, {"?limit=101", "limit"}, {"?limit=x", "limit"},
		{"?order=sideways", "order"}, {"?after=msg_nope", "after"},
	} {
		rec := do(t, g, "GET", "/v1/responses/"+second.ID+"/input_items"+q.query, "", as(alice)...)
		if e := errorOf(t, rec); rec.Code != 400 || e.Param == nil || *e.Param != q.param || e.Type != "invalid_request_error" {
			t.Errorf("%s: %d %s", q.query, rec.Code, rec.Body)
		}
	}
	if _, code, body := list("", as(bob)...); code != 404 || strings.Contains(body, "one") {
		t.Errorf("another key's input items: %d %s", code, body)
	}
	if _, code, _ := list(""); code != 401 {
		t.Errorf("without a key: %d", code)
	}
	if rec := do(t, g, "POST", "/v1/responses/"+second.ID+"/input_items", "", as(alice)...); rec.Code != 405 || rec.Header().Get("Allow") != "GET" {
		t.Errorf("POST input_items: %d %v", rec.Code, rec.Header())
	}
}

func TestCancellingAResponseThatIsNotBackgroundIsOpenAIs400(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, stateful, nil, a, a)
	alice, _ := createKey(t, g, `{"name":"alice"}`)
	bob, _ := createKey(t, g, `{"name":"bob"}`)
	as := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	id := responseOf(t, do(t, g, "POST", "/v1/responses", `{"model":"shared","input":"x"}`, as(alice)...)).ID

	rec := do(t, g, "POST", "/v1/responses/"+id+"/cancel", "", as(alice)...)
	if e := errorOf(t, rec); rec.Code != 400 || e.Type != "invalid_request_error" || e.Message != "Cannot cancel a synchronous response." {
		t.Fatalf("the owner's cancel: %d %s", rec.Code, rec.Body)
	}
	for _, tt := range []struct{ name, id, key string }{{"another key's", id, bob}, {"an unknown", "resp_nope", alice}} {
		rec := do(t, g, "POST", "/v1/responses/"+tt.id+"/cancel", "", as(tt.key)...)
		if e := errorOf(t, rec); rec.Code != 404 || e.Param == nil || *e.Param != "response_id" {
			t.Errorf("%s id: %d %s", tt.name, rec.Code, rec.Body)
		}
	}
	if rec := do(t, g, "GET", "/v1/responses/"+id+"/cancel", "", as(alice)...); rec.Code != 405 || rec.Header().Get("Allow") != "POST" {
		t.Errorf("GET cancel: %d %v", rec.Code, rec.Header())
	}
	if rec := do(t, g, "GET", "/v1/responses/"+id, "", as(alice)...); rec.Code != 200 {
		t.Errorf("the response is gone after a refused cancel: %d", rec.Code)
	}
}
