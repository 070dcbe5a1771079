package guardrails

import (
	"fmt"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/aigateway/gateway/internal/jsontext"
	"github.com/aigateway/gateway/internal/openai"
)

// rulesFor is the compiled rules of a profile: the profile merged with the
// global rules, or the global rules alone for "". A name that is not a
// configured profile is refused (see CheckProfile).
func (e *Engine) rulesFor(profile string) (*rules, error) {
	if profile == "" {
		if e == nil {
			return nil, nil
		}
		return e.global, nil
	}
	if e != nil {
		if r, ok := e.profiles[profile]; ok {
			return r, nil
		}
	}
	return nil, unknownProfile(profile)
}

// CheckProfile returns nil when profile is "" (the global rules) or a
// configured profile, and otherwise the refusal every check gives a request
// whose key names it: code forbidden (403), the message naming the profile.
//
// Failing closed: profiles only add rules, so running the global rules alone
// would quietly hold the key to less than the operator meant, which is what
// a misspelt name in the key's metadata would otherwise do. The fault is the
// operator's, not the caller's, yet it is not a 500: nothing in the gateway
// failed and a retry cannot help; 403 says this key may not be used as it is
// set up, and the message says which profile to configure or to remove from
// the key. Refusing such a key when it is written (HasProfile) is the admin
// API's part; this catches the keys written before a profile was renamed or
// removed, and any written elsewhere.
func (e *Engine) CheckProfile(profile string) error {
	_, err := e.rulesFor(profile)
	return err
}

func unknownProfile(name string) error {
	return &openai.Error{Code: openai.CodeForbidden,
		Message: fmt.Sprintf("this key's metadata %q names the guardrails profile %q, which is not configured on this gateway; "+
			"the gateway's operator must configure the profile or change the key", MetadataKey, name)}
}

// CheckChat applies the rules of profile to every text of a chat request
// the model reads (fields.go lists them): message content, names, tool-call
// arguments, tools and the structured-output schema. It refuses a request over the length
// limit (code invalid_request, param "messages") or holding a blocked word
// or pattern (code content_filter, param the field: "messages[i].content",
// "messages[i].name", "tools[i].function.description", ...); the refusal
// names the kind and number of the rule, never the text it matched.
// Otherwise it redacts e-mail addresses and card numbers in req in place and
// reports whether it changed anything; the caller then sends the edited
// request upstream (CheckChatBody does both for a body forwarded as raw
// bytes).
//
// The length limit counts every text the rules read, not message content
// alone: it bounds what the model is sent, and a limit that tool-call
// arguments, tool descriptions or an output schema could go around would
// bound nothing. A schema's keys, types and enum values are not counted
// (the rules do not read them either). The refusal keeps param "messages".
func (e *Engine) CheckChat(profile string, req *openai.ChatRequest) (redacted bool, err error) {
	r, err := e.rulesFor(profile)
	if err != nil || r.empty() || req == nil {
		return false, err
	}
	if r.maxChars > 0 {
		if n := chatChars(req, r.maxChars); n > r.maxChars {
			return false, &openai.Error{Code: openai.CodeInvalidRequest, Param: "messages",
				Message: fmt.Sprintf("the request holds %d characters of text the model reads (messages, tool calls, tools and the output schema), "+
					"more than this gateway's limit of %d", n, r.maxChars)}
		}
	}
	if r.words != nil || len(r.patterns) > 0 {
		if f, rule := r.blockedChat(req); rule != "" {
			return false, f.refusal(rule)
		}
	}
	if !r.emails && !r.cards {
		return false, nil
	}
	return r.redactChat(req)
}

// CheckPrompt applies the rules of profile to one prompt (POST /generate,
// an image prompt, an embeddings input string) and returns it redacted.
// Refusals carry param "prompt"; use CheckText to name another field.
func (e *Engine) CheckPrompt(profile, text string) (string, error) {
	return e.CheckText(profile, "prompt", text)
}

// CheckText is CheckPrompt for the request field param ("input", "input[3]").
// The length limit applies to this text alone.
func (e *Engine) CheckText(profile, param, text string) (string, error) {
	r, err := e.rulesFor(profile)
	if err != nil || r.empty() {
		return text, err
	}
	if r.maxChars > 0 && len(text) > r.maxChars {
		if n := utf8.RuneCountInString(text); n > r.maxChars {
			return text, &openai.Error{Code: openai.CodeInvalidRequest, Param: param,
				Message: fmt.Sprintf("%s holds %d characters, more than this gateway's limit of %d", param, n, r.maxChars)}
		}
	}
	if rule := r.blocked(text); rule != "" {
		return text, &openai.Error{Code: openai.CodeContentFilter, Param: param,
			Message: fmt.Sprintf("%s was blocked by the gateway's content policy (%s)", param, rule)}
	}
	s, _ := r.redact(text)
	return s, nil
}

// chatChars counts the characters of every text of req the rules read
// (fields.go): content, names, tool-call arguments as sent, tools' names
// and descriptions, the descriptions in their parameters and the output
// schema's. Bytes bound code points from above, a schema's length the
// descriptions in it decoded too (each character of a JSON string takes a
// byte at least), so a request within the limit in bytes is neither
// counted nor parsed.
func chatChars(req *openai.ChatRequest, limit int) int {
	if n := eachChatText(req, func(s string) int { return len(s) }, func(schema []byte) int { return len(schema) }); n <= limit {
		return n
	}
	return eachChatText(req, utf8.RuneCountInString, func(schema []byte) int {
		n := 0
		if len(schema) > 0 && mayDescribe(schema) {
			eachDescription(gjson.Parse(string(schema)), func(v gjson.Result) bool {
				n += utf8.RuneCountInString(jsontext.Str(v))
				return true
			})
		}
		return n
	})
}

// eachChatText sums text over every text of req the rules read and schema
// over every schema whose descriptions they read.
func eachChatText(req *openai.ChatRequest, text func(string) int, schema func([]byte) int) int {
	n := 0
	for i := range req.Messages {
		m := &req.Messages[i]
		n += text(m.Content.Text) + text(m.Name) + text(m.ReasoningContent)
		for j := range m.Content.Parts {
			n += text(m.Content.Parts[j].Text)
		}
		for j := range m.ThinkingBlocks {
			n += text(m.ThinkingBlocks[j].Thinking)
		}
		for j := range m.ToolCalls {
			n += text(m.ToolCalls[j].Function.Name) + text(m.ToolCalls[j].Function.Arguments)
		}
	}
	for i := range req.Tools {
		fn := &req.Tools[i].Function
		n += text(fn.Name) + text(fn.Description) + schema(fn.Parameters)
	}
	if js := jsonSchema(req); js != nil {
		n += text(js.Name) + text(js.Description) + schema(js.Schema)
	}
	return n
}

// blocked names the first rule text breaks, or returns "". Words come
// before patterns; among words, the one found earliest in the text. Words
// are matched on the normalised text (see normalise); patterns on the
// normalised text and on the text as sent, so a pattern can still name a
// character that normalising removes. A text holding a %XX escape is read
// percent-decoded too (see percentDecoded).
func (r *rules) blocked(text string) string {
	if text == "" {
		return ""
	}
	if rule := r.blockedAsIs(text); rule != "" {
		return rule
	}
	if d, ok := percentDecoded(text); ok {
		return r.blockedAsIs(d)
	}
	return ""
}

// blockedAsIs is blocked without percent-decoding.
func (r *rules) blockedAsIs(text string) string {
	n, changed := normalise(text)
	if r.words != nil {
		if ref, ok := r.words.find(n); ok {
			return ref.describe("blocked word")
		}
	}
	for _, p := range r.patterns {
		if p.re.MatchString(n) || changed && p.re.MatchString(text) {
			return p.ref.describe("blocked pattern")
		}
	}
	return ""
}

// blockedAnchored is blocked for the anchored patterns alone.
func (r *rules) blockedAnchored(text string) string {
	if text == "" {
		return ""
	}
	if rule := r.anchoredAsIs(text); rule != "" {
		return rule
	}
	if d, ok := percentDecoded(text); ok {
		return r.anchoredAsIs(d)
	}
	return ""
}

// anchoredAsIs is blockedAnchored without percent-decoding.
func (r *rules) anchoredAsIs(text string) string {
	n, changed := "", false
	for _, p := range r.patterns {
		if !p.anchored {
			continue
		}
		if n == "" {
			n, changed = normalise(text)
		}
		if p.re.MatchString(n) || changed && p.re.MatchString(text) {
			return p.ref.describe("blocked pattern")
		}
	}
	return ""
}

// redact replaces e-mail addresses and card numbers in s as the rules ask,
// and reports whether it changed anything. The text keeps the form it was
// sent in, unless its normalised form shows an address or a number the text
// as sent hides (full-width digits, a zero-width space in an address): then
// the normalised text, redacted, replaces it.
func (r *rules) redact(s string) (string, bool) {
	out, changed := redact(s, r.emails, r.cards)
	n, differs := normalise(out)
	if !differs {
		return out, changed
	}
	if m, ok := redact(n, r.emails, r.cards); ok {
		return m, true
	}
	return out, changed
}
