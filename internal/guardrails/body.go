package guardrails

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/aigateway/gateway/internal/openai"
)

// CheckChatBody is CheckChat for a request the gateway decoded from raw, the
// client's body, and forwards as raw bytes so that unknown fields survive. It
// returns the body to send upstream: raw itself, or, when redaction changed
// some text, raw with only those strings rewritten.
//
// The policy reads req and the upstream reads raw, so it first makes sure
// both see the same text. encoding/json takes the last of duplicate keys and
// matches keys in any letter case; other parsers take the first, or only the
// lower-case key. A body that carries "messages", a message's "content", or
// a part's "type" or "text" twice or spelled in another case is therefore
// refused (invalid_request): it could show the policy one text and the model
// another.
func (e *Engine) CheckChatBody(profile string, req *openai.ChatRequest, raw []byte) ([]byte, error) {
	r, err := e.rulesFor(profile)
	if err != nil || r.empty() || req == nil {
		return raw, err
	}
	doc := gjson.Parse(string(raw))
	if err := walkChat(doc, len(req.Messages), nil); err != nil {
		return raw, err
	}
	redacted, err := e.CheckChat(profile, req)
	if err != nil || !redacted {
		return raw, err
	}
	var edits []edit
	_ = walkChat(doc, len(req.Messages), func(i, j int, v gjson.Result) {
		c := &req.Messages[i].Content
		text := c.Text
		if j >= 0 {
			text = c.Parts[j].Text
		}
		if v.Str != text {
			edits = append(edits, edit{at: v.Index, raw: v.Raw, text: text})
		}
	})
	return splice(raw, edits)
}

// walkChat checks that doc carries each key the policy reads once and in
// lower case, and that it holds n messages; visit, when not nil, gets every
// string content (j = -1) and every text part's "text" value (j = its index).
func walkChat(doc gjson.Result, n int, visit func(i, j int, v gjson.Result)) error {
	msgs, ok := onlyKey(doc, "messages")
	if !ok {
		return ambiguous("messages", "the body", "messages")
	}
	if !msgs.IsArray() {
		if n == 0 {
			return nil
		}
		return mismatch()
	}
	var err error
	i := 0
	msgs.ForEach(func(_, m gjson.Result) bool {
		if i >= n {
			err = mismatch()
			return false
		}
		content, ok := onlyKey(m, "content")
		if !ok {
			err = ambiguous(fmt.Sprintf("messages[%d].content", i), fmt.Sprintf("messages[%d]", i), "content")
			return false
		}
		switch {
		case content.Type == gjson.String:
			if visit != nil {
				visit(i, -1, content)
			}
		case content.IsArray():
			j := 0
			content.ForEach(func(_, p gjson.Result) bool {
				typ, ok1 := onlyKey(p, "type")
				text, ok2 := onlyKey(p, "text")
				if !ok1 || !ok2 {
					where := fmt.Sprintf("messages[%d].content[%d]", i, j)
					err = ambiguous(where, where, `"type" or "text"`)
					return false
				}
				if visit != nil && typ.Str == "text" && text.Type == gjson.String {
					visit(i, j, text)
				}
				j++
				return true
			})
		}
		i++
		return err == nil
	})
	if err == nil && i != n {
		err = mismatch()
	}
	return err
}

// onlyKey returns obj's value for name; ok is false when a key equal to name
// up to case (as encoding/json matches keys) appears twice or differently
// spelled. A missing key is fine.
func onlyKey(obj gjson.Result, name string) (v gjson.Result, ok bool) {
	if !obj.IsObject() {
		return gjson.Result{}, true
	}
	ok = true
	seen := false
	obj.ForEach(func(k, val gjson.Result) bool {
		if !strings.EqualFold(k.Str, name) {
			return true
		}
		if seen || k.Str != name {
			ok = false
			return false
		}
		seen, v = true, val
		return true
	})
	return v, ok
}

func ambiguous(param, where, key string) error {
	if !strings.HasPrefix(key, `"`) {
		key = `"` + key + `"`
	}
	return &openai.Error{Code: openai.CodeInvalidRequest, Param: param,
		Message: fmt.Sprintf("%s carries %s more than once or in another letter case; send each key once, in lower case", where, key)}
}

func mismatch() error {
	return &openai.Error{Code: openai.CodeInvalidRequest, Param: "messages",
		Message: "the messages of the body do not match the decoded request"}
}

// edit replaces the JSON string raw found at offset at with text.
type edit struct {
	at   int
	raw  string
	text string
}

// splice applies edits, which are in document order, to a copy of raw.
func splice(raw []byte, edits []edit) ([]byte, error) {
	out := make([]byte, 0, len(raw)+64*len(edits))
	last := 0
	for _, ed := range edits {
		if ed.at < last || ed.at+len(ed.raw) > len(raw) || string(raw[ed.at:ed.at+len(ed.raw)]) != ed.raw {
			return nil, &openai.Error{Code: openai.CodeInternal, Message: "internal error: redaction could not locate a message in the body"}
		}
		out = append(out, raw[last:ed.at]...)
		out = appendJSONString(out, ed.text)
		last = ed.at + len(ed.raw)
	}
	return append(out, raw[last:]...), nil
}

// appendJSONString appends s as a JSON string, leaving <, > and & as they are.
func appendJSONString(dst []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
