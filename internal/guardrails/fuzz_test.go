package guardrails

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/aigateway/gateway/internal/openai"
)

// fuzzWords exercise phrases, symbols, dashes and case folding.
var fuzzWords = []string{"ass", "top secret", "#tag", "x-ray", "straße", "c++", "é"}

// wordsOracle is the blocked-word rule written as one regular expression:
// slow, but plainly the documented behaviour. The token matcher must agree
// with it on whether a text is blocked.
func wordsOracle(words []string) *regexp.Regexp {
	const w = `\pL\pN\pM_`
	var alts []string
	for _, word := range words {
		var b strings.Builder
		if r := []rune(word); isWordRune(r[0]) {
			b.WriteString(`(?:^|[^` + w + `])`)
		}
		for i, f := range strings.FieldsFunc(word, unicode.IsSpace) {
			if i > 0 {
				b.WriteString(`[\s\x{0B}\x{85}\p{Z}]+`)
			}
			b.WriteString(regexp.QuoteMeta(f))
		}
		if r := []rune(word); isWordRune(r[len(r)-1]) {
			b.WriteString(`(?:$|[^` + w + `])`)
		}
		alts = append(alts, b.String())
	}
	return regexp.MustCompile(`(?i)` + strings.Join(alts, "|"))
}

// percentOracle decodes the %XX escapes of s as percentDecoded documents it,
// written with a regular expression and strconv.
func percentOracle(s string) string {
	esc := regexp.MustCompile(`%[0-9A-Fa-f]{2}`)
	for range percentDepth {
		if !esc.MatchString(s) {
			break
		}
		s = esc.ReplaceAllStringFunc(s, func(e string) string {
			c, _ := strconv.ParseUint(e[1:], 16, 8)
			return string([]byte{byte(c)})
		})
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// FuzzCheckChat feeds arbitrary text through every rule: no input may panic,
// the word matcher must agree with its regular-expression oracle, redaction
// run twice must give the text of running it once, and the body
// CheckChatBody returns must decode to the redacted request.
func FuzzCheckChat(f *testing.F) {
	for _, s := range []string{
		"", "hello", "mail a@b.io now", "4111 1111 1111 1111", "4111-1111-1111-1111--1",
		"4111 1111 1111 1111 2a@b.co", "a@b.cc@d.ee.f@g.hh", "x@y.zz.a@b.cc", "12 4111111111111111",
		"jürgen@bücher.de 378282246310005", "class ass", "PRJ-1234", "\xff\xfe@\x00.io", "é\u0301@x.io",
		"TOP\u2003SECRET", "x#tag", "#tagged", "X-RAY", "STRAẞE", "c+++", "É", "e\u0301", "top-secret",
		"a\u200Bss", "ＡＳＳ", "ｊ＠ｂ.ｉｏ", "４１１１ １１１１ １１１１ １１１１", "e\u200B\u0301", "\uFFA0\u0301", "ﬁ\u00AD",
		"%61ss", "%2561ss", "top%20secret", "%e2%80%8bass", "%ff%61ss", "%%6", "%2",
	} {
		f.Add(s, s+" tail")
	}
	// Message 2 holds the parts b, a: an address or a number split there.
	for _, split := range [][2]string{{"mple.com now", "mail jane@exa"}, {"1111 1111.", "card 4111 1111 "}, {"１１１１ １１１１", "４１１１ １１１１ "},
		{"@x.io", "jane"}, {"and more", "me@x.io"}, {"́@x.io", "e"}, {"1", "4111 1111 1111 111"}} {
		f.Add(split[0], split[1])
	}
	full := mustNew(f, Set{Global: Config{BlockedWords: []string{"ass", "top secret", "#tag"}, BlockedPatterns: []string{`PRJ-\d{4}`},
		MaxInputChars: 5000, RedactEmails: true, RedactCardNumbers: true}})
	redactOnly := mustNew(f, Set{Global: Config{RedactEmails: true, RedactCardNumbers: true}})
	wordsOnly := mustNew(f, Set{Global: Config{BlockedWords: fuzzWords}})
	oracle := wordsOracle(fuzzWords)
	f.Fuzz(func(t *testing.T, a, b string) {
		// A request carrying a and b in every text the rules read: content,
		// parts, a name, tool-call arguments as they are and inside JSON,
		// a tool's name, description and a parameter's, and the output
		// schema's name, description and a property's.
		js := func(v any) string { out, _ := json.Marshal(v); return string(out) }
		params := json.RawMessage(`{"type":"object","properties":{"q":{"type":"string","description":` + js(a) + `}},"n":` + js(b) + `}`)
		body, err := json.Marshal(&openai.ChatRequest{Messages: []openai.Message{
			{Role: "user", Name: a, Content: openai.TextContent(a)},
			{Role: "user", Content: openai.Content{IsParts: true, Parts: []openai.ContentPart{{Type: "text", Text: b}, {Type: "text", Text: a}}}},
			{Role: "assistant", Content: openai.Content{IsNull: true}, ToolCalls: []openai.ToolCall{
				{ID: "1", Type: "function", Function: openai.FunctionCall{Name: "f", Arguments: b}},
				{ID: "2", Type: "function", Function: openai.FunctionCall{Name: "f", Arguments: js(map[string]any{"q": a, a: []string{b}})}},
			}},
		}, Tools: []openai.Tool{{Type: "function", Function: openai.FunctionSpec{Name: a, Description: b, Parameters: params}}},
			ResponseFormat: &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.JSONSchemaSpec{Name: b, Description: a, Schema: params}}})
		if err != nil {
			t.Fatal(err)
		}
		build := func(body []byte) *openai.ChatRequest {
			var req openai.ChatRequest
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			return &req
		}
		_, _ = full.CheckChat("", build(body))
		_, _ = full.CheckPrompt("", a)

		// An image body sent on carries the prompt CheckPrompt returns.
		img := []byte(`{"model":"m","prompt":` + js(a) + `,"n":1}`)
		out, err := redactOnly.CheckPromptBody("", img)
		if err != nil {
			t.Fatalf("CheckPromptBody(%s): %v", img, err)
		}
		var sent struct {
			Model, Prompt string
			N             int
		}
		_ = json.Unmarshal(img, &sent) // a's invalid UTF-8 reads as U+FFFD
		if want, _ := redactOnly.CheckPrompt("", sent.Prompt); json.Unmarshal(out, &sent) != nil || sent.Prompt != want || sent.Model != "m" || sent.N != 1 {
			t.Fatalf("CheckPromptBody(%s) = %s, want the prompt %q", img, out, want)
		}

		// The words are NFKC with nothing to strip, so the oracle matches
		// them as they are against the text normalised, and against it
		// percent-decoded and normalised.
		n, _ := normalise(a)
		d, _ := normalise(percentOracle(a))
		if _, err := wordsOnly.CheckPrompt("", a); (err != nil) != (oracle.MatchString(n) || oracle.MatchString(d)) {
			t.Fatalf("%q (normalised %q, decoded %q): the word matcher says blocked=%v, its oracle %v", a, n, d, err != nil, oracle.MatchString(n) || oracle.MatchString(d))
		}
		if nn, changed := normalise(n); changed {
			t.Fatalf("normalising %q twice gives %q, then %q", a, n, nn)
		}
		if hasIgnorable(n) || !norm.NFKC.IsNormalString(n) {
			t.Fatalf("normalised %q is %q, which still holds an ignorable or is not NFKC", a, n)
		}

		// The body sent upstream decodes to the redacted request, keeps
		// JSON arguments JSON, and a second redaction changes nothing.
		req := build(body)
		out, err = redactOnly.CheckChatBody("", req, body)
		if err != nil {
			t.Fatalf("CheckChatBody(%s): %v", body, err)
		}
		if !json.Valid(out) {
			t.Fatalf("CheckChatBody made invalid JSON %q from %q", out, body)
		}
		if got, want := js(build(out)), js(req); got != want {
			t.Fatalf("body %s does not carry the redacted request %s", got, want)
		}
		for i, c := range req.Messages[2].ToolCalls {
			if json.Valid([]byte(build(body).Messages[2].ToolCalls[i].Function.Arguments)) && !json.Valid([]byte(c.Function.Arguments)) {
				t.Fatalf("redaction made arguments %q that are not JSON", c.Function.Arguments)
			}
		}
		if redacted, err := redactOnly.CheckChat("", build(out)); err != nil || redacted {
			t.Fatalf("a second redaction of %s changed it (err %v)", out, err)
		}
	})
}
