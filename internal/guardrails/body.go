package guardrails

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/aigateway/gateway/internal/jsontext"
	"github.com/aigateway/gateway/internal/openai"
)

// CheckChatBody is CheckChat for a request the gateway decoded from raw, the
// client's body, and forwards as raw bytes so that unknown fields survive. It
// returns the body to send upstream: raw itself, or, when redaction changed
// some text, raw with only those strings (or a tool's parameters) rewritten.
//
// The policy reads req and the upstream reads raw, so it first makes sure
// both see the same text. encoding/json takes the last of duplicate keys and
// matches keys in any letter case; other parsers take the first, or only the
// lower-case key. A body that carries a key on the way to a text the policy
// reads ("messages", a message's "content", "name", "tool_calls",
// "reasoning_content" or "thinking_blocks", a thinking block's "thinking", a part's
// "type" or "text", a call's "function", "name" and "arguments", "tools", a
// tool's "function", "name", "description" and "parameters",
// "response_format", its "json_schema" and that object's "name",
// "description" and "schema") twice or spelled in another
// case is therefore refused (invalid_request): it could show the policy one
// text and the model another.
func (e *Engine) CheckChatBody(profile string, req *openai.ChatRequest, raw []byte) ([]byte, error) {
	r, err := e.rulesFor(profile)
	if err != nil || r.empty() || req == nil {
		return raw, err
	}
	doc := gjson.Parse(string(raw))
	if err := walkChat(doc, req, nil); err != nil {
		return raw, err
	}
	redacted, err := e.CheckChat(profile, req)
	if err != nil || !redacted {
		return raw, err
	}
	var edits []edit
	_ = walkChat(doc, req, func(f field, v gjson.Result) {
		if f.kind == parametersField || f.kind == formatSchemaField {
			if p := f.schema(req); p != nil && string(p) != v.Raw {
				edits = append(edits, edit{at: v.Index, raw: v.Raw, json: p})
			}
			return
		}
		if text := f.text(req); jsontext.Str(v) != text {
			edits = append(edits, edit{at: v.Index, raw: v.Raw, text: text})
		}
	})
	slices.SortFunc(edits, func(a, b edit) int { return cmp.Compare(a.at, b.at) }) // "tools" may come first
	return splice(raw, edits)
}

// schema is the schema of req at f, a parametersField or formatSchemaField.
func (f field) schema(req *openai.ChatRequest) []byte {
	if f.kind == parametersField {
		return req.Tools[f.i].Function.Parameters
	}
	return jsonSchema(req).Schema
}

// text is the text of req at f; f is not a schema.
func (f field) text(req *openai.ChatRequest) string {
	switch f.kind {
	case nameField:
		return req.Messages[f.i].Name
	case argumentsField:
		return req.Messages[f.i].ToolCalls[f.j].Function.Arguments
	case callNameField:
		return req.Messages[f.i].ToolCalls[f.j].Function.Name
	case descriptionField:
		return req.Tools[f.i].Function.Description
	case toolNameField:
		return req.Tools[f.i].Function.Name
	case formatNameField:
		return jsonSchema(req).Name
	case formatDescriptionField:
		return jsonSchema(req).Description
	}
	c := &req.Messages[f.i].Content
	if f.j < 0 {
		return c.Text
	}
	return c.Parts[f.j].Text
}

// walkChat checks that doc carries each key on the way to a text the policy
// reads once and in lower case, and that it holds as many messages, parts,
// tool calls and tools as req; visit, when not nil, gets every such text
// that is a string in doc (and each tool's parameters, whatever they are),
// with where it sits in req.
func walkChat(doc gjson.Result, req *openai.ChatRequest, visit func(f field, v gjson.Result)) error {
	if visit == nil {
		visit = func(field, gjson.Result) {}
	}
	msgs, ok := onlyKey(doc, "messages")
	if !ok {
		return ambiguous("messages", "the body", "messages")
	}
	if err := walkArray(msgs, len(req.Messages), func(i int, m gjson.Result) error {
		return walkMessage(m, i, &req.Messages[i], visit)
	}); err != nil {
		return err
	}
	tools, ok := onlyKey(doc, "tools")
	if !ok {
		return ambiguous("tools", "the body", "tools")
	}
	if err := walkArray(tools, len(req.Tools), func(i int, t gjson.Result) error {
		where := fmt.Sprintf("tools[%d]", i)
		fn, ok := onlyKey(t, "function")
		if !ok {
			return ambiguous(where+".function", where, "function")
		}
		where += ".function"
		keys, err := onlyKeys(fn, where, "name", "description", "parameters")
		if err != nil {
			return err
		}
		if name := keys[0]; name.Type == gjson.String {
			visit(field{kind: toolNameField, i: i}, name)
		}
		if desc := keys[1]; desc.Type == gjson.String {
			visit(field{kind: descriptionField, i: i}, desc)
		}
		if params := keys[2]; params.Exists() {
			visit(field{kind: parametersField, i: i}, params)
		}
		return nil
	}); err != nil {
		return err
	}
	return walkFormat(doc, req, visit)
}

// walkFormat is walkChat for response_format.json_schema.
func walkFormat(doc gjson.Result, req *openai.ChatRequest, visit func(field, gjson.Result)) error {
	rf, ok := onlyKey(doc, "response_format")
	if !ok {
		return ambiguous("response_format", "the body", "response_format")
	}
	js, ok := onlyKey(rf, "json_schema")
	if !ok {
		return ambiguous("response_format.json_schema", "response_format", "json_schema")
	}
	if !js.IsObject() {
		return nil
	}
	if jsonSchema(req) == nil {
		return mismatch()
	}
	keys, err := onlyKeys(js, "response_format.json_schema", "name", "description", "schema")
	if err != nil {
		return err
	}
	if name := keys[0]; name.Type == gjson.String {
		visit(field{kind: formatNameField}, name)
	}
	if desc := keys[1]; desc.Type == gjson.String {
		visit(field{kind: formatDescriptionField}, desc)
	}
	if schema := keys[2]; schema.Exists() {
		visit(field{kind: formatSchemaField}, schema)
	}
	return nil
}

// onlyKeys is onlyKey for each of names in the object at where, in one pass
// over its keys; the error names the first of names that is ambiguous.
func onlyKeys(obj gjson.Result, where string, names ...string) ([]gjson.Result, error) {
	out := make([]gjson.Result, len(names))
	if !obj.IsObject() {
		return out, nil
	}
	seen := make([]bool, len(names))
	bad := len(names) // the first ambiguous name's index
	obj.ForEach(func(k, val gjson.Result) bool {
		ks := jsontext.Str(k)
		for i, name := range names {
			if !strings.EqualFold(ks, name) {
				continue
			}
			if seen[i] || ks != name {
				bad = min(bad, i)
			}
			seen[i], out[i] = true, val
		}
		return true
	})
	if bad < len(names) {
		return nil, ambiguous(where+"."+names[bad], where, names[bad])
	}
	return out, nil
}

func walkMessage(m gjson.Result, i int, msg *openai.Message, visit func(field, gjson.Result)) error {
	where := fmt.Sprintf("messages[%d]", i)
	// An assistant turn's reasoning (reasoning_content, thinking_blocks) is
	// checked, never redacted (a signed block must stay as it was): only its
	// keys are made sure of here.
	keys, err := onlyKeys(m, where, "content", "name", "tool_calls", "reasoning_content", "thinking_blocks")
	if err != nil {
		return err
	}
	content, name, calls, blocks := keys[0], keys[1], keys[2], keys[4]
	if err := walkArray(blocks, len(msg.ThinkingBlocks), func(j int, b gjson.Result) error {
		if _, ok := onlyKey(b, "thinking"); !ok {
			where := fmt.Sprintf("%s.thinking_blocks[%d]", where, j)
			return ambiguous(where+".thinking", where, "thinking")
		}
		return nil
	}); err != nil {
		return err
	}
	switch {
	case content.Type == gjson.String:
		visit(field{kind: contentField, i: i, j: -1}, content)
	case content.IsArray():
		if err := walkArray(content, len(msg.Content.Parts), func(j int, p gjson.Result) error {
			_, ok1 := onlyKey(p, "type")
			text, ok2 := onlyKey(p, "text")
			if !ok1 || !ok2 {
				where := fmt.Sprintf("%s.content[%d]", where, j)
				return ambiguous(where, where, `"type" or "text"`)
			}
			if text.Type == gjson.String {
				visit(field{kind: contentField, i: i, j: j}, text)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if name.Type == gjson.String {
		visit(field{kind: nameField, i: i}, name)
	}
	return walkArray(calls, len(msg.ToolCalls), func(j int, c gjson.Result) error {
		where := fmt.Sprintf("%s.tool_calls[%d]", where, j)
		fn, ok := onlyKey(c, "function")
		if !ok {
			return ambiguous(where+".function", where, "function")
		}
		keys, err := onlyKeys(fn, where+".function", "name", "arguments")
		if err != nil {
			return err
		}
		if name := keys[0]; name.Type == gjson.String {
			visit(field{kind: callNameField, i: i, j: j}, name)
		}
		if args := keys[1]; args.Type == gjson.String {
			visit(field{kind: argumentsField, i: i, j: j}, args)
		}
		return nil
	})
}

// walkArray calls each for every element of v, which must hold n of them;
// v not an array stands for none.
func walkArray(v gjson.Result, n int, each func(i int, el gjson.Result) error) error {
	if !v.IsArray() {
		if n == 0 {
			return nil
		}
		return mismatch()
	}
	var err error
	i := 0
	v.ForEach(func(_, el gjson.Result) bool {
		if i >= n {
			err = mismatch()
			return false
		}
		err = each(i, el)
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
		ks := jsontext.Str(k)
		if !strings.EqualFold(ks, name) {
			return true
		}
		if seen || ks != name {
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
		Message: "the messages or tools of the body do not match the decoded request"}
}

// edit replaces the JSON value raw found at offset at with text as a JSON
// string, or with json when that is not nil.
type edit struct {
	at   int
	raw  string
	text string
	json []byte
}

// splice applies edits, which are in document order, to a copy of raw.
func splice(raw []byte, edits []edit) ([]byte, error) {
	out := make([]byte, 0, len(raw)+64*len(edits))
	last := 0
	for _, ed := range edits {
		if ed.at < last || ed.at+len(ed.raw) > len(raw) || string(raw[ed.at:ed.at+len(ed.raw)]) != ed.raw {
			return nil, &openai.Error{Code: openai.CodeInternal, Message: "internal error: redaction could not locate a text in the body"}
		}
		out = append(out, raw[last:ed.at]...)
		if ed.json != nil {
			out = append(out, ed.json...)
		} else {
			out = appendJSONString(out, ed.text)
		}
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

// CheckPromptBody is CheckPrompt for a JSON body whose text is its
// top-level "prompt" (POST /v1/images/generations), forwarded as raw bytes:
// it returns raw itself, or raw with only the prompt rewritten when
// redaction changed it. A body carrying "prompt" twice or in another letter
// case is refused (invalid_request), as CheckChatBody refuses such keys:
// the gateway decodes the last one with encoding/json, other parsers read
// the first. A prompt that is not a string is left to the caller to refuse.
func (e *Engine) CheckPromptBody(profile string, raw []byte) ([]byte, error) {
	r, err := e.rulesFor(profile)
	if err != nil || r.empty() {
		return raw, err
	}
	v, ok := onlyKey(gjson.ParseBytes(raw), "prompt")
	if !ok {
		return raw, ambiguous("prompt", "the body", "prompt")
	}
	if v.Type != gjson.String {
		return raw, nil
	}
	prompt := jsontext.Str(v)
	out, err := e.CheckPrompt(profile, prompt)
	if err != nil || out == prompt {
		return raw, err
	}
	return splice(raw, []edit{{at: v.Index, raw: v.Raw, text: out}})
}

// PromptBodyGuard is CheckPromptBody for a handler that forwards *body: the
// check it returns writes the body to send back into *body, so that the
// upstream call, which reads *body, sends the redacted prompt.
func (e *Engine) PromptBodyGuard(body *[]byte) func(profile string) ([]byte, error) {
	return func(profile string) ([]byte, error) {
		out, err := e.CheckPromptBody(profile, *body)
		if err == nil {
			*body = out
		}
		return out, err
	}
}
