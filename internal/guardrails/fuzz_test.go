package guardrails

import (
	"encoding/json"
	"regexp"
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
	} {
		f.Add(s, s+" tail")
	}
	full := mustNew(f, Set{Global: Config{BlockedWords: []string{"ass", "top secret", "#tag"}, BlockedPatterns: []string{`PRJ-\d{4}`},
		MaxInputChars: 5000, RedactEmails: true, RedactCardNumbers: true}})
	redactOnly := mustNew(f, Set{Global: Config{RedactEmails: true, RedactCardNumbers: true}})
	wordsOnly := mustNew(f, Set{Global: Config{BlockedWords: fuzzWords}})
	oracle := wordsOracle(fuzzWords)
	f.Fuzz(func(t *testing.T, a, b string) {
		build := func() *openai.ChatRequest {
			return &openai.ChatRequest{Messages: []openai.Message{
				{Role: "user", Content: openai.TextContent(a)},
				{Role: "user", Content: openai.Content{IsParts: true, Parts: []openai.ContentPart{{Type: "text", Text: b}}}},
			}}
		}
		_, _ = full.CheckChat("", build())
		_, _ = full.CheckPrompt("", a)

		// The words are NFKC with nothing to strip, so the oracle matches
		// them as they are against the text normalised.
		n, _ := normalise(a)
		if _, err := wordsOnly.CheckPrompt("", a); (err != nil) != oracle.MatchString(n) {
			t.Fatalf("%q (normalised %q): the word matcher says blocked=%v, its oracle %v", a, n, err != nil, oracle.MatchString(n))
		}
		if nn, changed := normalise(n); changed {
			t.Fatalf("normalising %q twice gives %q, then %q", a, n, nn)
		}
		if hasIgnorable(n) || !norm.NFKC.IsNormalString(n) {
			t.Fatalf("normalised %q is %q, which still holds an ignorable or is not NFKC", a, n)
		}

		once := build()
		if _, err := redactOnly.CheckChat("", once); err != nil {
			t.Fatalf("redaction refused: %v", err)
		}
		twice := build()
		twice.Messages[0].Content.Text = once.Messages[0].Content.Text
		twice.Messages[1].Content.Parts[0].Text = once.Messages[1].Content.Parts[0].Text
		redacted, err := redactOnly.CheckChat("", twice)
		if err != nil || redacted {
			t.Fatalf("second redaction changed %q into %q / %q into %q (err %v)",
				once.Messages[0].Content.Text, twice.Messages[0].Content.Text,
				once.Messages[1].Content.Parts[0].Text, twice.Messages[1].Content.Parts[0].Text, err)
		}

		raw, err := json.Marshal(build())
		if err != nil {
			t.Fatal(err)
		}
		var req openai.ChatRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatal(err)
		}
		out, err := redactOnly.CheckChatBody("", &req, raw)
		if err != nil {
			t.Fatalf("CheckChatBody(%s): %v", raw, err)
		}
		var back openai.ChatRequest
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("CheckChatBody made invalid JSON %q from %q: %v", out, raw, err)
		}
		if back.Messages[0].Content.Text != req.Messages[0].Content.Text || back.Messages[1].Content.Parts[0].Text != req.Messages[1].Content.Parts[0].Text {
			t.Fatalf("body %s does not carry the redacted request %+v", out, req.Messages)
		}
	})
}
