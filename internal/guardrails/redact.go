package guardrails

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The replacements. Neither holds a character an address or a card number is
// made of next to its ends, so redacting twice changes nothing.
const (
	emailToken = "[REDACTED_EMAIL]"
	cardToken  = "[REDACTED_CARD]"
)

// redact replaces e-mail addresses (when emails) and card numbers (when
// cards) in s. It returns s itself, without allocating, when nothing matched.
// Addresses go first: an address whose local part ends in digits must not
// leave those digits to lengthen a card number's run.
func redact(s string, emails, cards bool) (string, bool) {
	changed := false
	if emails {
		if t, ok := redactEmails(s); ok {
			s, changed = t, true
		}
	}
	if cards {
		if t, ok := redactCards(s); ok {
			s, changed = t, true
		}
	}
	return s, changed
}

// redactCards replaces card numbers: maximal runs of ASCII digits, where a
// single space or dash may stand between two digits, that hold 13 to 19
// digits, touch no letter, mark or "_" on either side, and pass the Luhn
// check. A run of more digits is left whole, so a card-like stretch inside a
// longer number is not touched, and "id4111111111111111" is an identifier.
//
// The letter rule also keeps redaction idempotent: a number glued to a
// domain ("a@b.cc4111…") would otherwise, once replaced, leave behind an
// address ("a@b.cc") the first pass did not see.
func redactCards(s string) (string, bool) {
	return replaceSpans(s, cardSpans(s, nil))
}

// cardSpans appends to spans where redactCards replaces card numbers in s.
func cardSpans(s string, spans []span) []span {
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		start, digits := i, 0
		for {
			digits++
			i++
			if i < len(s) && isDigit(s[i]) {
				continue
			}
			if i+1 < len(s) && (s[i] == ' ' || s[i] == '-') && isDigit(s[i+1]) {
				i++
				continue
			}
			break
		}
		if digits < 13 || digits > 19 || glued(s, start, i) || !luhn(s[start:i]) {
			continue
		}
		spans = append(spans, span{start: start, end: i, token: cardToken})
	}
	return spans
}

// span is s[start:end], which redaction replaces with token.
type span struct {
	start, end int
	token      string
}

// replaceSpans replaces the spans, in order and apart, in s; it returns s
// itself, without allocating, when there are none.
func replaceSpans(s string, spans []span) (string, bool) {
	if len(spans) == 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		b.WriteString(sp.token)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// redactEmails replaces practical e-mail addresses: a local part of
// letters, digits, marks and ._%+- right before an "@", then a domain of
// dot-separated labels (letters, digits, marks, inner dashes) whose last
// label, not the first, is two or more letters; the longest such domain is
// taken. A hand-written scan rather than a regular expression: it stays
// linear and fast on text full of "@".
func redactEmails(s string) (string, bool) {
	return replaceSpans(s, emailSpans(s, nil))
}

// emailSpans appends to spans where redactEmails replaces addresses in s.
func emailSpans(s string, spans []span) []span {
	last := 0 // where the text after the last replacement starts
	for i := 0; i < len(s); {
		k := strings.IndexByte(s[i:], '@')
		if k < 0 {
			break
		}
		at := i + k
		i = at + 1
		start := at
		for start > last {
			r, n := utf8.DecodeLastRuneInString(s[last:start])
			if !isLocalRune(r) {
				break
			}
			start -= n
		}
		end := domainEnd(s, at+1)
		if start == at || end < 0 {
			continue
		}
		spans = append(spans, span{start: start, end: end, token: emailToken})
		last, i = end, end
	}
	return spans
}

// redactSpans is where redact(s, emails, cards) replaces text, in s's
// offsets and in order. Card numbers are found in s with its addresses
// replaced, as redact finds them; none overlaps a token, which holds no
// digit.
func redactSpans(s string, emails, cards bool) []span {
	var spans []span
	if emails {
		spans = emailSpans(s, nil)
	}
	if !cards {
		return spans
	}
	t, _ := replaceSpans(s, spans)
	cs := cardSpans(t, nil)
	if len(cs) == 0 {
		return spans
	}
	out := make([]span, 0, len(spans)+len(cs))
	shift, e := 0, 0 // shift: how much longer t is than s before the card
	for _, c := range cs {
		for e < len(spans) && spans[e].start+shift < c.start {
			out = append(out, spans[e])
			shift += len(spans[e].token) - (spans[e].end - spans[e].start)
			e++
		}
		out = append(out, span{start: c.start - shift, end: c.end - shift, token: c.token})
	}
	return append(out, spans[e:]...)
}

// domainEnd returns where the longest domain starting at p ends, or -1.
func domainEnd(s string, p int) int {
	best := -1
	for j := p; ; j++ {
		start, letters, runes := j, true, 0
		for j < len(s) {
			r, n := decodeRune(s, j)
			if r != '-' && !isLetterDigitMark(r) {
				break
			}
			letters = letters && isLetter(r)
			runes++
			j += n
		}
		if j == start || s[start] == '-' || s[j-1] == '-' {
			return best
		}
		if start > p && letters && runes >= 2 {
			best = j
		}
		if j >= len(s) || s[j] != '.' {
			return best
		}
	}
}

func isLocalRune(r rune) bool {
	switch r {
	case '.', '_', '%', '+', '-':
		return true
	}
	return isLetterDigitMark(r)
}

func isLetterDigitMark(r rune) bool { return r != '_' && isWordRune(r) }

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return unicode.IsLetter(r)
}

// glued reports whether s[start:end] touches a letter, mark or "_".
func glued(s string, start, end int) bool {
	if start > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:start]); isWordRune(r) {
			return true
		}
	}
	if end < len(s) {
		if r, _ := decodeRune(s, end); isWordRune(r) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// luhn checks the digits of s (other bytes are skipped) with the Luhn
// algorithm that card numbers satisfy.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		if !isDigit(s[i]) {
			continue
		}
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
