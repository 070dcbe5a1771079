// Package guardrails is the gateway's content policy for prompts: blocked
// words and regular expressions, a maximum input length, and redaction of
// e-mail addresses and card numbers.
//
// Rules come in a Set: one global Config and named profiles. A virtual key
// selects a profile with its metadata entry "guardrails"; the profile's rules
// apply in addition to the global ones. Everything is compiled once by New;
// an Engine is safe for concurrent use, and a nil Engine, or one without
// rules, lets every request through without allocating (a request naming
// a profile excepted, see below).
//
// Decisions:
//   - A key naming a profile that is not configured fails closed: every
//     check refuses its requests with 403 forbidden, naming the profile
//     (CheckProfile says why not 500). Falling back to the global rules
//     would quietly hold the key to less than the operator meant.
//     HasProfile lets the code that writes keys refuse the name up front.
//   - Only prompts are checked. Model answers are not scanned (there is no
//     CheckOutput): a filter that covers non-stream answers but not streams
//     is bypassed by setting "stream": true, so it would promise more than it
//     holds.
//   - The checks run on every text of a request the model reads, whatever
//     the message's role: content (string, every part's text, and the parts
//     joined, so a word split across parts is found), names, tool-call
//     arguments (decoded where an escape could hide a word), the names of
//     tools and tool calls, tool descriptions and the descriptions in their
//     parameters, and the structured-output schema (response_format's
//     json_schema: name, description, the descriptions in its schema); see
//     fields.go. Names are checked, never redacted. Image URLs, audio and
//     files are not scanned.
//   - Text is matched normalised (normalise.go): invisible characters
//     removed, then NFKC, and words compared with case folded, so
//     "b\u200Bad", full-width "ｂａｄ" and "BAD" all hold "bad". Patterns
//     also see the text as sent. A text holding %XX escapes is also read
//     percent-decoded ("%73ecret"), up to four times over; other encodings
//     (base64, hex) are not decoded (normalise.go says why). Redaction
//     keeps the text as sent unless only its normalised form shows an
//     address or a card number. An address or a card number split across
//     the text parts of a message is replaced in every part it touches
//     ("jane@exa", "mple.com" become "[REDACTED_EMAIL]" twice); one that
//     only shows once the parts are joined and normalised together is
//     refused (invalid_request) rather than sent.
//   - Order: the length limit first (cheap, and it bounds the work of the
//     rest), then blocked words and patterns, then redaction. A blocked
//     request is refused before anything is edited.
//   - The gateway forwards the client's raw body; CheckChatBody refuses a
//     body whose keys could make the policy and the upstream read different
//     text, and patches only the redacted strings into it.
package guardrails

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Config is one set of rules: the global ones or a profile.
type Config struct {
	// BlockedWords refuse a prompt holding one of them as a whole word,
	// case-insensitively (Unicode simple case folding), both normalised
	// (invisible characters removed, NFKC). A word starting or
	// ending with a letter, digit or mark must not touch another letter,
	// digit, mark or "_" on that side: "ass" does not match "class", while
	// "#tag" matches in "x#tag". An entry may be a phrase: a run of white
	// space in it matches any run of white space in the text, and only that.
	BlockedWords []string `toml:"blocked_words" json:"blocked_words,omitempty"`
	// BlockedPatterns refuse a prompt matching one of these Go regular
	// expressions (RE2 syntax; add (?i) for case-insensitivity), on the
	// text normalised or as sent.
	BlockedPatterns []string `toml:"blocked_patterns" json:"blocked_patterns,omitempty"`
	// MaxInputChars bounds the characters (Unicode code points) of all the
	// text of a request the rules read together (content, names, tool-call
	// arguments, tools, the output schema's descriptions); 0 means no limit.
	MaxInputChars int `toml:"max_input_chars" json:"max_input_chars,omitempty"`
	// RedactEmails replaces e-mail addresses with [REDACTED_EMAIL].
	RedactEmails bool `toml:"redact_emails" json:"redact_emails,omitempty"`
	// RedactCardNumbers replaces card numbers with [REDACTED_CARD]: 13 to 19
	// digits, optionally grouped by single spaces or dashes, that pass the
	// Luhn check and are not part of a longer run of digits.
	RedactCardNumbers bool `toml:"redact_card_numbers" json:"redact_card_numbers,omitempty"`
}

// LogValue shows how many rules there are, never the words or patterns
// themselves: they may name what the operator wants kept quiet.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("blocked_words", len(c.BlockedWords)),
		slog.Int("blocked_patterns", len(c.BlockedPatterns)),
		slog.Int("max_input_chars", c.MaxInputChars),
		slog.Bool("redact_emails", c.RedactEmails),
		slog.Bool("redact_card_numbers", c.RedactCardNumbers),
	)
}

// Set is the whole configuration: the [guardrails] table.
type Set struct {
	// Global applies to every request.
	Global Config `toml:"global" json:"global"`
	// Profiles are selected by a key's metadata "guardrails" and add to Global.
	Profiles map[string]Config `toml:"profiles" json:"profiles,omitempty"`
}

// MetadataKey is the key metadata entry that names a profile.
const MetadataKey = "guardrails"

// Engine applies a compiled Set.
type Engine struct {
	global   *rules
	profiles map[string]*rules
}

// rules is one profile merged with the global rules, compiled.
type rules struct {
	// words are the blocked words, global ones first; nil when there are none.
	words    *wordSet
	patterns []pattern
	maxChars int
	emails   bool
	cards    bool
}

type pattern struct {
	re  *regexp.Regexp
	ref ruleRef
	// anchored is set when the pattern names the start or end of the text
	// or of a line (^, $, \A, \z): it alone can match a text part and not
	// the parts joined by line breaks.
	anchored bool
}

// ruleRef names a rule without quoting it: its scope and 1-based position.
type ruleRef struct {
	profile bool
	n       int
}

// describe names the rule for a client: "global blocked word rule 2".
func (r ruleRef) describe(kind string) string {
	scope := "global"
	if r.profile {
		scope = "profile"
	}
	return fmt.Sprintf("%s %s rule %d", scope, kind, r.n)
}

func (r *rules) empty() bool {
	return r == nil || r.words == nil && len(r.patterns) == 0 && r.maxChars == 0 && !r.emails && !r.cards
}

// New compiles a Set. It fails on an invalid or empty pattern, an empty word,
// a negative length or an empty profile name, naming the culprit.
func New(set Set) (*Engine, error) {
	global, err := compile(nil, set.Global, "global")
	if err != nil {
		return nil, err
	}
	e := &Engine{global: global, profiles: make(map[string]*rules, len(set.Profiles))}
	for name, p := range set.Profiles {
		if strings.TrimSpace(name) == "" {
			return nil, errors.New("guardrails: a profile has an empty name")
		}
		r, err := compile(global, p, fmt.Sprintf("profile %q", name))
		if err != nil {
			return nil, err
		}
		e.profiles[name] = r
	}
	return e, nil
}

// HasProfile reports whether name is a configured profile; "" is not one.
// Code that writes keys refuses a key whose metadata names another.
func (e *Engine) HasProfile(name string) bool {
	if e == nil {
		return false
	}
	_, ok := e.profiles[name]
	return ok
}

// compile builds the rules of c, merged with the compiled global rules gr
// when c is a profile (gr is nil for the global rules themselves).
func compile(gr *rules, c Config, where string) (*rules, error) {
	if c.MaxInputChars < 0 {
		return nil, fmt.Errorf("guardrails: %s: max_input_chars is negative (%d)", where, c.MaxInputChars)
	}
	r := &rules{maxChars: c.MaxInputChars, emails: c.RedactEmails, cards: c.RedactCardNumbers}
	var words []phrase
	profile := gr != nil
	if profile {
		if gr.words != nil {
			words = append(words, gr.words.phrases...)
		}
		r.patterns = append(r.patterns, gr.patterns...)
		r.maxChars = stricter(gr.maxChars, c.MaxInputChars)
		r.emails = r.emails || gr.emails
		r.cards = r.cards || gr.cards
	}
	for i, w := range c.BlockedWords {
		if !utf8.ValidString(w) {
			return nil, fmt.Errorf("guardrails: %s: blocked_words[%d] is not valid UTF-8", where, i)
		}
		nw, _ := normalise(w) // the text is matched normalised
		p := newPhrase(nw, ruleRef{profile: profile, n: i + 1})
		if len(p.toks) == 0 {
			return nil, fmt.Errorf("guardrails: %s: blocked_words[%d] is empty", where, i)
		}
		words = append(words, p)
	}
	for i, p := range c.BlockedPatterns {
		if p == "" {
			return nil, fmt.Errorf("guardrails: %s: blocked_patterns[%d] is empty and would match everything", where, i)
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("guardrails: %s: blocked_patterns[%d] %q: %w", where, i, p, err)
		}
		r.patterns = append(r.patterns, pattern{re: re, ref: ruleRef{profile: profile, n: i + 1}, anchored: anchored(p)})
	}
	if len(words) > 0 {
		r.words = newWordSet(words)
	}
	return r, nil
}

// anchored reports whether the regular expression expr, which compiles,
// names the start or the end of the text or of a line.
func anchored(expr string) bool {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return true // cannot happen; the careful answer
	}
	var walk func(*syntax.Regexp) bool
	walk = func(re *syntax.Regexp) bool {
		switch re.Op {
		case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
			return true
		}
		return slices.ContainsFunc(re.Sub, walk)
	}
	return walk(re)
}

// stricter is the smaller positive limit; 0 means none.
func stricter(a, b int) int {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}
