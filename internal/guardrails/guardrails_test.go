package guardrails

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/aigateway/gateway/internal/openai"
)

// chat is a request with one user message per text.
func chat(texts ...string) *openai.ChatRequest {
	req := &openai.ChatRequest{Model: "m"}
	for _, t := range texts {
		req.Messages = append(req.Messages, openai.Message{Role: "user", Content: openai.TextContent(t)})
	}
	return req
}

func mustNew(t testing.TB, set Set) *Engine {
	t.Helper()
	e, err := New(set)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// gatewayError asserts err is a gateway error with code and param.
func gatewayError(t *testing.T, err error, code openai.Code, param string) *openai.Error {
	t.Helper()
	var ge *openai.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error = %v (%T), want *openai.Error", err, err)
	}
	if ge.Code != code || ge.Param != param {
		t.Fatalf("error code %q param %q, want %q %q (%s)", ge.Code, ge.Param, code, param, ge.Message)
	}
	return ge
}

func TestBlockedWords(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		text  string
		rule  string // "" when the text passes
	}{
		{"a blocked word is found whatever its case", []string{"secret"}, "this is SeCrEt stuff", "global blocked word rule 1"},
		{"class does not match the blocked word ass", []string{"ass"}, "a class act, assorted bass", ""},
		{"a word alone in the text is found", []string{"ass"}, "ass", "global blocked word rule 1"},
		{"a word between punctuation is found", []string{"ass"}, "what an (ass)!", "global blocked word rule 1"},
		{"an underscore or a digit after the word makes it another word", []string{"ass"}, "ass_1 ass1", ""},
		{"an accented letter next to the word makes it another word", []string{"ass"}, "éass assé", ""},
		{"an accented word is found in upper case", []string{"école"}, "Une ÉCOLE ici", "global blocked word rule 1"},
		{"a Cyrillic word is found in upper case", []string{"привет"}, "ПРИВЕТ, мир", "global blocked word rule 1"},
		{"a Cyrillic word inside a longer word is not found", []string{"привет"}, "приветствую", ""},
		{"sharp s matches capital sharp s", []string{"straße"}, "STRAẞE", "global blocked word rule 1"},
		{"a combining accent after the word makes it another word", []string{"cafe"}, "cafe\u0301", ""},
		{"a word next to CJK text is not whole, since CJK characters are letters", []string{"ok"}, "好ok好", ""},
		{"a phrase matches across any white space", []string{"top secret"}, "TOP \n\t\u00a0secret", "global blocked word rule 1"},
		{"a phrase does not match its words run together", []string{"top secret"}, "topsecret", ""},
		{"a word starting with a symbol needs no boundary before it", []string{"#tag"}, "x#tag.", "global blocked word rule 1"},
		{"a word starting with a symbol still needs one after it", []string{"#tag"}, "#tagged", ""},
		{"regular expression characters in a word are literal", []string{"a.c"}, "abc", ""},
		{"the refusal names the second word by its number", []string{"alpha", "beta"}, "only beta here", "global blocked word rule 2"},
		{"the word found first in the text is named", []string{"alpha", "beta"}, "beta then alpha", "global blocked word rule 2"},
		{"text without any blocked word passes", []string{"alpha", "beta"}, "gamma delta", ""},
		{"a zero-width space inside a word does not hide it", []string{"bad"}, "so b\u200Bad", "global blocked word rule 1"},
		{"a zero-width non-joiner inside a word does not hide it", []string{"bad"}, "so b\u200Cad", "global blocked word rule 1"},
		{"a zero-width joiner inside a word does not hide it", []string{"bad"}, "so ba\u200Dd", "global blocked word rule 1"},
		{"a word joiner inside a word does not hide it", []string{"bad"}, "so b\u2060ad", "global blocked word rule 1"},
		{"a byte order mark inside a word does not hide it", []string{"bad"}, "so \uFEFFb\uFEFFad", "global blocked word rule 1"},
		{"a soft hyphen inside a word does not hide it", []string{"bad"}, "so b\u00ADad", "global blocked word rule 1"},
		{"a bidirectional override inside a word does not hide it", []string{"bad"}, "so b\u202Ead\u202C", "global blocked word rule 1"},
		{"full-width letters match their plain letters", []string{"bad"}, "so ｂａｄ", "global blocked word rule 1"},
		{"full-width capitals match too", []string{"bad"}, "so ＢＡＤ!", "global blocked word rule 1"},
		{"capitals match", []string{"bad"}, "so BAD", "global blocked word rule 1"},
		{"a ligature matches the letters it joins", []string{"file"}, "the ﬁle", "global blocked word rule 1"},
		{"a decomposed accent matches the composed word", []string{"café"}, "un cafe\u0301 noir", "global blocked word rule 1"},
		{"a composed accent matches a blocked word written decomposed", []string{"cafe\u0301"}, "un CAFÉ noir", "global blocked word rule 1"},
		{"a blocked word holding a zero-width character matches the plain word", []string{"b\u200Bad"}, "so bad", "global blocked word rule 1"},
		{"a zero-width space between two words does not join them into a blocked one", []string{"topsecret"}, "top\u200B secret", ""},
		{"a full-width word inside a longer word is still not whole", []string{"ass"}, "ｃｌａｓｓ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustNew(t, Set{Global: Config{BlockedWords: tt.words}})
			_, err := e.CheckChat("", chat("hello", tt.text))
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("CheckChat = %v, want no refusal", err)
				}
				return
			}
			ge := gatewayError(t, err, openai.CodeContentFilter, "messages[1].content")
			if !strings.Contains(ge.Message, "("+tt.rule+")") {
				t.Errorf("message %q does not name %q", ge.Message, tt.rule)
			}
		})
	}
}

func TestBlockedPatterns(t *testing.T) {
	patterns := []string{`\bPRJ-[0-9]{4}\b`, `(?i)internal\s+only`}
	tests := []struct {
		name string
		text string
		rule string
	}{
		{"a text matching the first pattern is refused", "see PRJ-1234 for details", "global blocked pattern rule 1"},
		{"a text matching the second pattern names rule 2", "INTERNAL   Only: do not share", "global blocked pattern rule 2"},
		{"patterns are case-sensitive unless they say otherwise", "see prj-1234", ""},
		{"a near miss passes", "see PRJ-12345", ""},
		{"a pattern sees the text with zero-width characters removed", "inter\u200Bnal only", "global blocked pattern rule 2"},
		{"a pattern sees full-width text as plain text", "see ＰＲＪ－１２３４", "global blocked pattern rule 1"},
		{"a pattern about the characters as sent still sees them", "a\u2062b", "global blocked pattern rule 3"},
	}
	patterns = append(patterns, `\x{2062}`)
	e := mustNew(t, Set{Global: Config{BlockedPatterns: patterns}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.CheckChat("", chat(tt.text))
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("CheckChat = %v, want no refusal", err)
				}
				return
			}
			ge := gatewayError(t, err, openai.CodeContentFilter, "messages[0].content")
			if !strings.Contains(ge.Message, tt.rule) {
				t.Errorf("message %q does not name %q", ge.Message, tt.rule)
			}
		})
	}
}

func TestMaxInputChars(t *testing.T) {
	parts := func(texts ...string) openai.Message {
		m := openai.Message{Role: "user", Content: openai.Content{IsParts: true}}
		for _, s := range texts {
			m.Content.Parts = append(m.Content.Parts, openai.ContentPart{Type: "text", Text: s})
		}
		m.Content.Parts = append(m.Content.Parts, openai.ContentPart{Type: "image_url",
			ImageURL: &openai.ImageURL{URL: "data:image/png;base64," + strings.Repeat("A", 100)}})
		return m
	}
	tests := []struct {
		name string
		req  *openai.ChatRequest
		over bool
	}{
		{"text exactly at the limit passes", chat("12345", "67890"), false},
		{"the limit counts all messages together", chat("12345", "678901"), true},
		{"the limit counts characters, not bytes", chat("ééééé", "ééééé"), false},
		{"text parts count and image URLs do not", &openai.ChatRequest{Messages: []openai.Message{parts("12345", "67890")}}, false},
		{"text parts over the limit are refused", &openai.ChatRequest{Messages: []openai.Message{parts("12345", "678901")}}, true},
	}
	e := mustNew(t, Set{Global: Config{MaxInputChars: 10}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.CheckChat("", tt.req)
			if !tt.over {
				if err != nil {
					t.Fatalf("CheckChat = %v, want no refusal", err)
				}
				return
			}
			ge := gatewayError(t, err, openai.CodeInvalidRequest, "messages")
			if ge.HTTPStatus() != http.StatusBadRequest || !strings.Contains(ge.Message, "limit of 10") || !strings.Contains(ge.Message, "11 characters") {
				t.Errorf("status %d message %q, want 400 naming 11 characters and the limit of 10", ge.HTTPStatus(), ge.Message)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"an e-mail address is replaced", "mail bob.smith+x@example.co.uk now", "mail [REDACTED_EMAIL] now"},
		{"every address is replaced", "a@b.io, c_d@e-f.org.", "[REDACTED_EMAIL], [REDACTED_EMAIL]."},
		{"an address with Unicode letters is replaced", "jürgen@bücher.de", "[REDACTED_EMAIL]"},
		{"an at sign without a domain is left alone", "meet @home or a@b", "meet @home or a@b"},
		{"a domain whose last label is not all letters is left alone", "x@host.local1", "x@host.local1"},
		{"a domain label may not start with a dash", "x@-y.com", "x@-y.com"},
		{"addresses sharing at signs are replaced once each", "a@b.cc@d.ee .x@y.zz", "[REDACTED_EMAIL]@d.ee [REDACTED_EMAIL]"},
		{"a valid 16-digit number is replaced", "card 4111111111111111.", "card [REDACTED_CARD]."},
		{"a number grouped by spaces is replaced", "4111 1111 1111 1111 exp 12/29", "[REDACTED_CARD] exp 12/29"},
		{"a number grouped by dashes is replaced", "5500-0000-0000-0004", "[REDACTED_CARD]"},
		{"a 15-digit number is replaced", "amex 378282246310005", "amex [REDACTED_CARD]"},
		{"a 13-digit number is replaced", "4222222222222", "[REDACTED_CARD]"},
		{"a 19-digit number is replaced", "6011000000000000001", "[REDACTED_CARD]"},
		{"punctuation around a number does not matter", "card:4111111111111111;", "card:[REDACTED_CARD];"},
		{"a number glued to letters is an identifier, not a card", "id4111111111111111 4111111111111111é", "id4111111111111111 4111111111111111é"},
		{"a number glued to a domain is not a card and leaves no address behind", "0@0.AA4111111111111111", "0@0.AA4111111111111111"},
		{"a number failing the Luhn check is left alone", "4111111111111112", "4111111111111112"},
		{"12 digits are too few", "411111111111", "411111111111"},
		{"20 digits are too many, even when 16 of them pass", "41111111111111110000", "41111111111111110000"},
		{"a card number inside a longer run is left alone", "12 4111 1111 1111 1111", "12 4111 1111 1111 1111"},
		{"two separators in a row end a run", "4111111111111111--12", "[REDACTED_CARD]--12"},
		{"an address right after a card number does not hide the card", "4111 1111 1111 1111 2a@b.co", "[REDACTED_CARD] [REDACTED_EMAIL]"},
		{"an address made of digits is one address", "4111111111111111@example.com", "[REDACTED_EMAIL]"},
		{"text without either is left alone", "nothing here, 12345", "nothing here, 12345"},
		{"an address in full-width characters is replaced", "mail ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ now", "mail [REDACTED_EMAIL] now"},
		{"an address split by a zero-width space is replaced", "mail jane\u200B@example.com now", "mail [REDACTED_EMAIL] now"},
		{"a card number in full-width digits is replaced", "card ４１１１ １１１１ １１１１ １１１１.", "card [REDACTED_CARD]."},
		{"a card number split by soft hyphens is replaced", "card 4111\u00AD1111\u00AD1111\u00AD1111.", "card [REDACTED_CARD]."},
		{"text whose only hidden parts are not personal data keeps its form", "ｆｕｌｌ width, a@b.io", "ｆｕｌｌ width, [REDACTED_EMAIL]"},
		{"text with personal data only its plain form shows is sent in that plain form", "ｆｕｌｌ ｊ＠ｂ.ｉｏ", "full [REDACTED_EMAIL]"},
	}
	e := mustNew(t, Set{Global: Config{RedactEmails: true, RedactCardNumbers: true}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := chat(tt.in)
			redacted, err := e.CheckChat("", req)
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Messages[0].Content.Text; got != tt.want || redacted != (tt.in != tt.want) {
				t.Errorf("CheckChat(%q) = %q, redacted %v; want %q, redacted %v", tt.in, got, redacted, tt.want, tt.in != tt.want)
			}
		})
	}
	t.Run("redaction is off unless configured", func(t *testing.T) {
		e := mustNew(t, Set{Global: Config{BlockedWords: []string{"x"}}})
		req := chat("a@b.io 4111111111111111")
		if redacted, err := e.CheckChat("", req); err != nil || redacted || req.Messages[0].Content.Text != "a@b.io 4111111111111111" {
			t.Errorf("CheckChat = %v, %v, %q; want the text untouched", redacted, err, req.Messages[0].Content.Text)
		}
	})
	t.Run("each redaction works alone", func(t *testing.T) {
		e := mustNew(t, Set{Global: Config{RedactCardNumbers: true}})
		req := chat("a@b.io 4111111111111111")
		if _, err := e.CheckChat("", req); err != nil || req.Messages[0].Content.Text != "a@b.io [REDACTED_CARD]" {
			t.Errorf("cards only: %v %q", err, req.Messages[0].Content.Text)
		}
		e = mustNew(t, Set{Global: Config{RedactEmails: true}})
		req = chat("a@b.io 4111111111111111")
		if _, err := e.CheckChat("", req); err != nil || req.Messages[0].Content.Text != "[REDACTED_EMAIL] 4111111111111111" {
			t.Errorf("emails only: %v %q", err, req.Messages[0].Content.Text)
		}
	})
}

func TestPartsContent(t *testing.T) {
	parts := func() *openai.ChatRequest {
		return &openai.ChatRequest{Messages: []openai.Message{
			{Role: "system", Content: openai.TextContent("be brief")},
			{Role: "user", Content: openai.Content{IsParts: true, Parts: []openai.ContentPart{
				{Type: "text", Text: "look at this, mail me at me@x.io"},
				{Type: "image_url", ImageURL: &openai.ImageURL{URL: "https://img.example/forbidden.png?u=me@x.io"}},
				{Type: "text", Text: "and tell me"},
			}}},
		}}
	}
	t.Run("a blocked word in a text part is refused with the message's param", func(t *testing.T) {
		e := mustNew(t, Set{Global: Config{BlockedWords: []string{"tell"}}})
		_, err := e.CheckChat("", parts())
		gatewayError(t, err, openai.CodeContentFilter, "messages[1].content")
	})
	t.Run("an image URL is not text and is not checked", func(t *testing.T) {
		e := mustNew(t, Set{Global: Config{BlockedWords: []string{"forbidden"}}})
		if _, err := e.CheckChat("", parts()); err != nil {
			t.Fatalf("CheckChat = %v, want no refusal", err)
		}
	})
	t.Run("text parts are redacted in place and image URLs are kept", func(t *testing.T) {
		e := mustNew(t, Set{Global: Config{RedactEmails: true}})
		req := parts()
		redacted, err := e.CheckChat("", req)
		if err != nil || !redacted {
			t.Fatalf("CheckChat = %v, %v; want redacted", redacted, err)
		}
		p := req.Messages[1].Content.Parts
		if p[0].Text != "look at this, mail me at [REDACTED_EMAIL]" || p[1].ImageURL.URL != "https://img.example/forbidden.png?u=me@x.io" || p[2].Text != "and tell me" {
			t.Errorf("parts after redaction = %+v", p)
		}
	})
}

func TestProfiles(t *testing.T) {
	set := Set{
		Global: Config{BlockedWords: []string{"alpha"}, MaxInputChars: 20, RedactCardNumbers: true},
		Profiles: map[string]Config{
			"strict": {BlockedWords: []string{"beta"}, BlockedPatterns: []string{`gamma\d`}, MaxInputChars: 10, RedactEmails: true},
			"loose":  {MaxInputChars: 100},
			"quiet":  {RedactCardNumbers: false},
		},
	}
	e := mustNew(t, set)
	tests := []struct {
		name    string
		profile string
		text    string
		code    openai.Code // "" when the text passes
		rule    string
		want    string // the text after redaction, when it passes
	}{
		{"the global rules apply without a profile", "", "alpha", openai.CodeContentFilter, "global blocked word rule 1", ""},
		{"a profile's words apply to its keys", "strict", "beta", openai.CodeContentFilter, "profile blocked word rule 1", ""},
		{"a profile's words do not apply to other keys", "", "beta", "", "", "beta"},
		{"a profile keeps the global words", "strict", "alpha", openai.CodeContentFilter, "global blocked word rule 1", ""},
		{"a profile's patterns apply to its keys", "strict", "gamma7", openai.CodeContentFilter, "profile blocked pattern rule 1", ""},
		{"a profile's stricter limit wins", "strict", "12345678901", openai.CodeInvalidRequest, "limit of 10", ""},
		{"the global limit wins over a looser profile", "loose", strings.Repeat("x", 21), openai.CodeInvalidRequest, "limit of 20", ""},
		{"a profile turns on a redaction the global rules leave off", "strict", "a@b.io", "", "", "[REDACTED_EMAIL]"},
		{"a profile cannot turn off a global redaction", "quiet", "4111111111111111", "", "", "[REDACTED_CARD]"},
		{"without the profile that redaction stays off", "", "a@b.io", "", "", "a@b.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := chat(tt.text)
			_, err := e.CheckChat(tt.profile, req)
			if tt.code == "" {
				if err != nil || req.Messages[0].Content.Text != tt.want {
					t.Fatalf("CheckChat = %v, text %q; want no refusal and %q", err, req.Messages[0].Content.Text, tt.want)
				}
				return
			}
			param := "messages[0].content"
			if tt.code == openai.CodeInvalidRequest {
				param = "messages"
			}
			ge := gatewayError(t, err, tt.code, param)
			if !strings.Contains(ge.Message, tt.rule) {
				t.Errorf("message %q does not name %q", ge.Message, tt.rule)
			}
		})
	}
	if !e.HasProfile("strict") || e.HasProfile("nope") || (*Engine)(nil).HasProfile("strict") {
		t.Error("HasProfile does not report the configured profiles only")
	}
}

func TestUnknownProfileFailsClosed(t *testing.T) {
	// A key naming a profile that does not exist is a misconfigured key:
	// every check refuses it with 403, naming the profile, rather than
	// letting it through under the global rules alone.
	withRules := mustNew(t, Set{Global: Config{BlockedWords: []string{"alpha"}}, Profiles: map[string]Config{"strict": {BlockedWords: []string{"beta"}}}})
	empty := mustNew(t, Set{})
	const raw = `{"messages":[{"role":"user","content":"hello"}]}`
	checks := []struct {
		name  string
		check func(e *Engine) error
	}{
		{"CheckChat", func(e *Engine) error { _, err := e.CheckChat("strcit", chat("hello")); return err }},
		{"CheckChatBody", func(e *Engine) error { _, err := e.CheckChatBody("strcit", chat("hello"), []byte(raw)); return err }},
		{"CheckPrompt", func(e *Engine) error { _, err := e.CheckPrompt("strcit", "hello"); return err }},
		{"CheckText", func(e *Engine) error { _, err := e.CheckText("strcit", "input", "hello"); return err }},
		{"CheckProfile", func(e *Engine) error { return e.CheckProfile("strcit") }},
	}
	engines := []struct {
		name string
		e    *Engine
	}{{"an engine with rules", withRules}, {"an engine without rules", empty}, {"a nil engine", nil}}
	for _, en := range engines {
		for _, c := range checks {
			t.Run(c.name+" on "+en.name+" refuses a key naming an unknown profile", func(t *testing.T) {
				ge := gatewayError(t, c.check(en.e), openai.CodeForbidden, "")
				if ge.HTTPStatus() != http.StatusForbidden || !strings.Contains(ge.Message, `"strcit"`) || !strings.Contains(ge.Message, "not configured") {
					t.Errorf("status %d message %q; want 403 naming the profile", ge.HTTPStatus(), ge.Message)
				}
			})
		}
	}
	t.Run("a configured profile and no profile pass CheckProfile", func(t *testing.T) {
		if err := withRules.CheckProfile("strict"); err != nil {
			t.Errorf("CheckProfile(strict) = %v", err)
		}
		for _, e := range []*Engine{withRules, empty, nil} {
			if err := e.CheckProfile(""); err != nil {
				t.Errorf("CheckProfile(\"\") = %v", err)
			}
		}
	})
}

func TestRefusalShape(t *testing.T) {
	e := mustNew(t, Set{Global: Config{
		BlockedWords:    []string{"hunter2"},
		BlockedPatterns: []string{`codename-[a-z]+`},
	}})
	tests := []struct {
		name   string
		text   string
		param  string
		secret string
	}{
		{"a blocked word is refused without quoting it", "my password is HUNTER2", "messages[1].content", "hunter2"},
		{"a blocked pattern is refused without quoting it or its match", "ship codename-falcon", "messages[1].content", "codename"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.CheckChat("", chat("hi", tt.text))
			ge := gatewayError(t, err, openai.CodeContentFilter, tt.param)
			rec := httptest.NewRecorder()
			ge.Write(rec)
			var body struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			b := body.Error
			if rec.Code != http.StatusBadRequest || b.Type != "invalid_request_error" || b.Code == nil || *b.Code != "content_filter" ||
				b.Param == nil || *b.Param != tt.param || !strings.Contains(b.Message, "blocked by the gateway's content policy") {
				t.Errorf("status %d body %s; want 400 invalid_request_error content_filter param %s", rec.Code, rec.Body, tt.param)
			}
			if strings.Contains(strings.ToLower(rec.Body.String()), tt.secret) {
				t.Errorf("body %s echoes %q", rec.Body, tt.secret)
			}
		})
	}
}

func TestCheckPrompt(t *testing.T) {
	e := mustNew(t, Set{Global: Config{BlockedWords: []string{"secret"}, MaxInputChars: 20, RedactEmails: true}})
	t.Run("a prompt is returned redacted", func(t *testing.T) {
		if got, err := e.CheckPrompt("", "write to a@b.io"); err != nil || got != "write to [REDACTED_EMAIL]" {
			t.Errorf("CheckPrompt = %q, %v", got, err)
		}
	})
	t.Run("a clean prompt is returned as it is", func(t *testing.T) {
		if got, err := e.CheckPrompt("", "hello"); err != nil || got != "hello" {
			t.Errorf("CheckPrompt = %q, %v", got, err)
		}
	})
	t.Run("a blocked prompt is refused with param prompt", func(t *testing.T) {
		_, err := e.CheckPrompt("", "the Secret")
		gatewayError(t, err, openai.CodeContentFilter, "prompt")
	})
	t.Run("a long prompt is refused with param prompt", func(t *testing.T) {
		_, err := e.CheckPrompt("", strings.Repeat("é", 21))
		ge := gatewayError(t, err, openai.CodeInvalidRequest, "prompt")
		if !strings.Contains(ge.Message, "limit of 20") {
			t.Errorf("message %q does not name the limit", ge.Message)
		}
	})
	t.Run("CheckText names the field it is given", func(t *testing.T) {
		_, err := e.CheckText("", "input", "secret")
		gatewayError(t, err, openai.CodeContentFilter, "input")
	})
}

func TestNoRules(t *testing.T) {
	empty := mustNew(t, Set{})
	for _, tt := range []struct {
		name string
		e    *Engine
	}{{"a nil engine lets everything through", nil}, {"an engine without rules lets everything through", empty}} {
		t.Run(tt.name, func(t *testing.T) {
			req := chat("a@b.io 4111111111111111")
			if redacted, err := tt.e.CheckChat("", req); err != nil || redacted || req.Messages[0].Content.Text != "a@b.io 4111111111111111" {
				t.Errorf("CheckChat = %v, %v, %q", redacted, err, req.Messages[0].Content.Text)
			}
			if got, err := tt.e.CheckPrompt("", "a@b.io"); err != nil || got != "a@b.io" {
				t.Errorf("CheckPrompt = %q, %v", got, err)
			}
			raw := []byte(`{"messages":[{"role":"user","content":"a","content":"b"}]}`)
			if got, err := tt.e.CheckChatBody("", req, raw); err != nil || &got[0] != &raw[0] {
				t.Errorf("CheckChatBody = %q, %v; want the body itself", got, err)
			}
		})
	}
	t.Run("no rules cost no allocation", func(t *testing.T) {
		req := benchRequest()
		for _, e := range []*Engine{nil, empty} {
			if n := testing.AllocsPerRun(100, func() { _, _ = e.CheckChat("", req) }); n != 0 {
				t.Errorf("CheckChat allocates %v times without rules", n)
			}
		}
	})
	t.Run("rules that match nothing cost no allocation", func(t *testing.T) {
		if raceEnabled {
			t.Skip("sync.Pool drops items under the race detector")
		}
		e := mustNew(t, benchSet())
		req := benchRequest()
		if n := testing.AllocsPerRun(100, func() { _, _ = e.CheckChat("team", req) }); n != 0 {
			t.Errorf("CheckChat allocates %v times on a clean request", n)
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		set  Set
		want string
	}{
		{"an invalid pattern is named", Set{Global: Config{BlockedPatterns: []string{`ok`, `([a-z`}}}, "global: blocked_patterns[1] \"([a-z\""},
		{"an invalid pattern in a profile names the profile", Set{Profiles: map[string]Config{"p": {BlockedPatterns: []string{`a**`}}}}, `profile "p": blocked_patterns[0] "a**"`},
		{"an empty pattern would match everything", Set{Global: Config{BlockedPatterns: []string{""}}}, "blocked_patterns[0] is empty"},
		{"an empty word is refused", Set{Global: Config{BlockedWords: []string{"a", "  "}}}, "blocked_words[1] is empty"},
		{"a word of zero-width characters is refused as empty", Set{Global: Config{BlockedWords: []string{"a", "\u200B\u00AD"}}}, "blocked_words[1] is empty"},
		{"a negative length is refused", Set{Global: Config{MaxInputChars: -1}}, "max_input_chars is negative"},
		{"an empty profile name is refused", Set{Profiles: map[string]Config{"": {}}}, "empty name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.set)
			if err == nil || e != nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, %v; want an error containing %q", e, err, tt.want)
			}
		})
	}
}

func TestCheckChatBody(t *testing.T) {
	e := mustNew(t, Set{Global: Config{BlockedWords: []string{"bad"}, RedactEmails: true}})
	run := func(t *testing.T, raw string) ([]byte, *openai.ChatRequest, error) {
		t.Helper()
		var req openai.ChatRequest
		if err := json.Unmarshal([]byte(raw), &req); err != nil {
			t.Fatal(err)
		}
		out, err := e.CheckChatBody("", &req, []byte(raw))
		return out, &req, err
	}
	t.Run("a redacted body keeps every other byte", func(t *testing.T) {
		raw := `{"model":"m","future_field":{"x":[1,2]},"messages":[` +
			`{"role":"system","content":"caf\u00e9 <b> stays","extra":true},` +
			`{"role":"user","content":[{"type":"text","text":"mail a@b.io <now>"},{"type":"file","file":{"file_id":"f1"}},{"type":"text","text":"ok"}]},` +
			`{"role":"user","content":"x@y.org"}]}`
		out, req, err := run(t, raw)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Replace(strings.Replace(raw, `mail a@b.io <now>`, `mail [REDACTED_EMAIL] <now>`, 1), `"x@y.org"`, `"[REDACTED_EMAIL]"`, 1)
		if string(out) != want {
			t.Errorf("body\n got %s\nwant %s", out, want)
		}
		if req.Messages[2].Content.Text != "[REDACTED_EMAIL]" {
			t.Errorf("request not redacted in place: %q", req.Messages[2].Content.Text)
		}
	})
	t.Run("a body needing no redaction is returned as it is", func(t *testing.T) {
		raw := `{"messages":[{"role":"user","content":"fine"}]}`
		out, _, err := run(t, raw)
		if err != nil || string(out) != raw {
			t.Errorf("CheckChatBody = %s, %v", out, err)
		}
	})
	ambiguous := []struct {
		name  string
		raw   string
		param string
	}{
		{"a second content key is refused", `{"messages":[{"role":"user","content":"bad","content":"fine"}]}`, "messages[0].content"},
		{"a content key in another case is refused", `{"messages":[{"role":"user","content":"bad","Content":"fine"}]}`, "messages[0].content"},
		{"a messages key spelled with long s is refused", `{"messages":[{"role":"user","content":"bad"}],"meſſages":[{"role":"user","content":"fine"}]}`, "messages"},
		{"a second messages key is refused", `{"messages":[{"role":"user","content":"bad"}],"messages":[{"role":"user","content":"fine"}]}`, "messages"},
		{"a messages key in another case is refused", `{"messages":[{"role":"user","content":"bad"}],"MESSAGES":[{"role":"user","content":"fine"}]}`, "messages"},
		{"a second text key in a part is refused", `{"messages":[{"role":"user","content":[{"type":"text","text":"bad","text":"fine"}]}]}`, "messages[0].content[0]"},
		{"a second type key in a part is refused", `{"messages":[{"role":"user","content":[{"type":"text","text":"bad","type":"image_url"}]}]}`, "messages[0].content[0]"},
	}
	for _, tt := range ambiguous {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.raw)
			ge := gatewayError(t, err, openai.CodeInvalidRequest, tt.param)
			if !strings.Contains(ge.Message, "in lower case") {
				t.Errorf("message %q does not say how to fix the body", ge.Message)
			}
		})
	}
	t.Run("a blocked word is refused as by CheckChat", func(t *testing.T) {
		_, _, err := run(t, `{"messages":[{"role":"user","content":"so bad"}]}`)
		gatewayError(t, err, openai.CodeContentFilter, "messages[0].content")
	})
}

func TestConfigDecoding(t *testing.T) {
	const doc = `
[guardrails.global]
blocked_words = ["alpha", "top secret"]
blocked_patterns = ['\bPRJ-\d{4}\b']
max_input_chars = 100000
redact_emails = true
redact_card_numbers = true

[guardrails.profiles.strict]
blocked_words = ["beta"]
max_input_chars = 2000
`
	var cfg struct {
		Guardrails Set `toml:"guardrails"`
	}
	md, err := toml.Decode(doc, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("keys the struct does not name: %v", u)
	}
	want := Set{
		Global: Config{BlockedWords: []string{"alpha", "top secret"}, BlockedPatterns: []string{`\bPRJ-\d{4}\b`},
			MaxInputChars: 100000, RedactEmails: true, RedactCardNumbers: true},
		Profiles: map[string]Config{"strict": {BlockedWords: []string{"beta"}, MaxInputChars: 2000}},
	}
	if !reflect.DeepEqual(cfg.Guardrails, want) {
		t.Fatalf("decoded %+v, want %+v", cfg.Guardrails, want)
	}
	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"global"`, `"profiles"`, `"blocked_words"`, `"blocked_patterns"`, `"max_input_chars"`, `"redact_emails"`, `"redact_card_numbers"`} {
		if !bytes.Contains(js, []byte(key)) {
			t.Errorf("JSON %s lacks %s", js, key)
		}
	}
	if _, err := New(cfg.Guardrails); err != nil {
		t.Errorf("New on the example: %v", err)
	}
}

func TestLogValueHidesRules(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "guardrails", Config{BlockedWords: []string{"hunter2"}, BlockedPatterns: []string{"codename"}})
	if s := buf.String(); strings.Contains(s, "hunter2") || strings.Contains(s, "codename") || !strings.Contains(s, `"blocked_words":1`) {
		t.Errorf("log line %s: want counts, not the rules", s)
	}
}

// TestImagePromptsAreChecked: POST /v1/images/generations
// forwarded its prompt unchecked, so a blocked word or an address reached
// the image model. CheckPromptBody is what the gateway calls for it.
func TestImagePromptsAreChecked(t *testing.T) {
	e := mustNew(t, Set{Global: Config{BlockedWords: []string{"secret"}, MaxInputChars: 40, RedactEmails: true}})
	tests := []struct {
		name  string
		body  string
		want  string // the body sent on; "" when refused
		code  openai.Code
		param string
	}{
		{"a blocked word in the prompt is refused", `{"model":"m","prompt":"draw the secret plan"}`, "", openai.CodeContentFilter, "prompt"},
		{"a blocked word behind an escape is refused", `{"model":"m","prompt":"draw the \u0073ecret plan"}`, "", openai.CodeContentFilter, "prompt"},
		{"a prompt over the limit is refused", `{"model":"m","prompt":"` + strings.Repeat("a", 41) + `"}`, "", openai.CodeInvalidRequest, "prompt"},
		{"a second prompt key is refused", `{"model":"m","prompt":"secret","prompt":"a cat"}`, "", openai.CodeInvalidRequest, "prompt"},
		{"a prompt key in another case is refused", `{"model":"m","prompt":"a cat","Prompt":"secret"}`, "", openai.CodeInvalidRequest, "prompt"},
		{"an address in the prompt is redacted and the rest kept byte for byte",
			`{"model":"m", "prompt":"a card for jane@example.com", "size":"1024x1024"}`,
			`{"model":"m", "prompt":"a card for [REDACTED_EMAIL]", "size":"1024x1024"}`, "", ""},
		{"a clean prompt is sent as it is", `{"model":"m","prompt":"a \u0063at"}`, `{"model":"m","prompt":"a \u0063at"}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.CheckPromptBody("", []byte(tt.body))
			if tt.want == "" {
				gatewayError(t, err, tt.code, tt.param)
				return
			}
			if err != nil || string(out) != tt.want {
				t.Errorf("CheckPromptBody = %s, %v; want %s", out, err, tt.want)
			}
		})
	}
	if _, err := e.CheckPromptBody("strcit", []byte(`{"prompt":"a cat"}`)); err == nil {
		t.Error("a key naming an unknown profile passed")
	}
	var none *Engine
	if out, err := none.CheckPromptBody("", []byte(`{"prompt":"secret"}`)); err != nil || string(out) != `{"prompt":"secret"}` {
		t.Errorf("no rules: %s, %v", out, err)
	}
	t.Run("the guard writes the redacted body back for the upstream call", func(t *testing.T) {
		body := []byte(`{"prompt":"to a@b.io"}`)
		out, err := e.PromptBodyGuard(&body)("")
		if err != nil || string(body) != `{"prompt":"to [REDACTED_EMAIL]"}` || string(out) != string(body) {
			t.Errorf("guard = %s, %v; body %s", out, err, body)
		}
	})
}

// TestPercentEncodingDoesNotHideABlockedWord: "%73ecret" is
// "secret" to any reader that decodes URLs, a model included, and passed.
func TestPercentEncodingDoesNotHideABlockedWord(t *testing.T) {
	e := mustNew(t, Set{Global: Config{BlockedWords: []string{"secret", "top secret"}, BlockedPatterns: []string{`c2VjcmV0`, `^PRJ-\d+$`}}})
	tests := []struct {
		name string
		text string
		rule string // "" when the text passes
	}{
		{"one encoded letter does not hide a word", "the %73ecret plan", "global blocked word rule 1"},
		{"a word encoded whole is found", "the %73%65%63%72%65%74 plan", "global blocked word rule 1"},
		{"lower- and upper-case hex digits both decode", "the %53%45%43%72%65%74", "global blocked word rule 1"},
		{"an encoded space makes a phrase", "it is top%20secret", "global blocked word rule 2"},
		{"an encoded line break makes a phrase too", "it is top%0Asecret", "global blocked word rule 2"},
		{"a word encoded twice is found", "the %2573ecret plan", "global blocked word rule 1"},
		{"a word encoded three times is found", "the %252573ecret plan", "global blocked word rule 1"},
		{"an encoded multi-byte character is decoded as UTF-8", "the s%C3%A9cret", ""},
		{"patterns read the decoded text: base64 then percent-encoded", "run c2Vjcm%56%30%3D", "global blocked pattern rule 1"},
		{"anchored patterns read the decoded text", "PRJ-%31%32", "global blocked pattern rule 2"},
		{"an encoded character that joins a word hides nothing", "se%63retive", ""},
		{"a percent sign that is not an escape is kept", "100% secretive, 50%s", ""},
		{"an invalid escape passes", "%zz%7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.CheckChat("", chat("hello", tt.text))
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("CheckChat = %v, want no refusal", err)
				}
				return
			}
			ge := gatewayError(t, err, openai.CodeContentFilter, "messages[1].content")
			if !strings.Contains(ge.Message, "("+tt.rule+")") {
				t.Errorf("message %q does not name %q", ge.Message, tt.rule)
			}
			if _, err := e.CheckPrompt("", tt.text); err == nil {
				t.Error("CheckPrompt let it pass")
			}
		})
	}
}
