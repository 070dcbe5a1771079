package messages

import (
	"fmt"
	"strconv"

	"github.com/aigateway/gateway/internal/jsontext"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Text is one piece of prompt text in a request body, where a content policy
// reads it.
type Text struct {
	// Turn is the index of the message it is in; -1 for the system prompt.
	Turn int
	// Path is where it is in the body, in gjson/sjson syntax: "system",
	// "system.0.text", "messages.1.content", "messages.1.content.0.text",
	// "messages.1.content.0.content.2.text" (a tool result's text),
	// "messages.1.content.3.source.data" (a plain-text document).
	Path string
	Text string
}

// Texts lists the prompt text of a request body (one Decode accepted): the
// system prompt, and in every turn its text blocks, the text of its tool
// results and its plain-text documents, in order.
//
// It reads the body as an upstream does, by exact key, so a policy that
// checks these texts checks what a native pass-through sends. Where parsers
// could read different text (encoding/json matches keys in any letter case
// and takes the last of duplicates; others take the first, or only the exact
// key), the body is refused with a 400: every key of the request object and
// of its system, message, content block and source objects must be given
// once, in lower-case ASCII. Anthropic's own keys all are.
func Texts(body []byte) ([]Text, error) {
	doc := gjson.ParseBytes(body)
	if !doc.IsObject() {
		return nil, invalidf("request body must be a JSON object")
	}
	w := &textWalk{}
	w.keys(doc, "the request")
	if sys := doc.Get("system"); sys.Type == gjson.String {
		w.add(-1, "system", sys)
	} else if sys.IsArray() {
		forEach(sys, func(i int, b gjson.Result) bool {
			p := "system." + strconv.Itoa(i)
			w.keys(b, p)
			if b.Get("type").Str == BlockText {
				w.add(-1, p+".text", b.Get("text"))
			}
			return w.err == nil
		})
	}
	forEach(doc.Get("messages"), func(turn int, m gjson.Result) bool {
		p := "messages." + strconv.Itoa(turn)
		w.keys(m, p)
		w.content(turn, p+".content", m.Get("content"), true)
		return w.err == nil
	})
	// The tools hold no Texts (a policy reads them as the decoded request's),
	// but a tool whose keys repeat is refused here too: the decoded request
	// and a rewrite of the body must mean the same field.
	forEach(doc.Get("tools"), func(i int, tl gjson.Result) bool {
		w.keys(tl, "tools."+strconv.Itoa(i))
		return w.err == nil
	})
	if w.err != nil {
		return nil, w.err
	}
	return w.out, nil
}

type textWalk struct {
	out []Text
	err *Error
}

func (w *textWalk) add(turn int, path string, v gjson.Result) {
	if v.Type == gjson.String && w.err == nil {
		w.out = append(w.out, Text{Turn: turn, Path: path, Text: jsontext.Str(v)})
	}
}

// content walks a content: a string, or a list of blocks. top is false
// inside a tool result, whose content holds no further tool results.
func (w *textWalk) content(turn int, path string, c gjson.Result, top bool) {
	if c.Type == gjson.String {
		w.add(turn, path, c)
		return
	}
	forEach(c, func(j int, b gjson.Result) bool {
		p := path + "." + strconv.Itoa(j)
		w.keys(b, p)
		switch b.Get("type").Str {
		case BlockText:
			w.add(turn, p+".text", b.Get("text"))
		case BlockToolResult:
			if top {
				w.content(turn, p+".content", b.Get("content"), false)
			}
		case BlockDocument:
			src := b.Get("source")
			w.keys(src, p+".source")
			if src.Get("type").Str == "text" {
				w.add(turn, p+".source.data", src.Get("data"))
			}
		}
		return w.err == nil
	})
}

// forEach calls fn with the index and value of each element of an array
// (nothing for another value) while fn returns true.
func forEach(arr gjson.Result, fn func(i int, v gjson.Result) bool) {
	if !arr.IsArray() {
		return
	}
	i := 0
	arr.ForEach(func(_, v gjson.Result) bool {
		ok := fn(i, v)
		i++
		return ok
	})
}

// keys refuses an object with a key given twice or not in lower-case ASCII.
func (w *textWalk) keys(obj gjson.Result, where string) {
	if w.err != nil || !obj.IsObject() {
		return
	}
	seen := map[string]bool{}
	obj.ForEach(func(k, _ gjson.Result) bool {
		ks := jsontext.Str(k)
		switch {
		case !lowerASCII(ks):
			w.err = invalidf("%s: key %q is not one of Anthropic's keys; send keys in lower case", where, ks)
		case seen[ks]:
			w.err = invalidf("%s: key %q is given more than once", where, ks)
		}
		seen[ks] = true
		return w.err == nil
	})
}

func lowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// SetTexts returns body with the text at each Path replaced by its Text
// (the redacted texts of a policy), leaving every other byte alone.
func SetTexts(body []byte, texts []Text) ([]byte, error) {
	out := body
	for _, t := range texts {
		var err error
		if out, err = sjson.SetBytes(out, t.Path, t.Text); err != nil {
			return nil, fmt.Errorf("messages: setting %s: %w", t.Path, err)
		}
	}
	return out, nil
}
