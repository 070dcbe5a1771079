package guardrails

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text can spell a blocked word so that a reader, or a model, sees the word
// and a byte-wise match does not: "b\u200Bad" (a zero-width space), "ｂａｄ"
// (full-width letters), "ﬁle" (a ligature), "cafe\u0301" (a decomposed
// accent). The rules therefore read text normalised: characters that are
// invisible by definition removed, then Unicode NFKC (compatibility
// characters to their plain form, accents composed). Case is folded by the
// matcher itself (see words.go). Blocked words are normalised the same way
// when compiled.
//
// Invisible here means default-ignorable: format characters (category Cf:
// zero-width space, non-joiner and joiner U+200B–U+200D, word joiner U+2060,
// byte order mark U+FEFF, soft hyphen U+00AD, bidirectional controls, tag
// characters), variation selectors, and the other default-ignorable code
// points (Hangul fillers, combining grapheme joiner).

// normalise returns s with default-ignorable characters removed and then in
// NFKC, and whether that differs from s. Text that needs nothing, ASCII
// above all, is returned as it is without allocating.
func normalise(s string) (string, bool) {
	i := asciiPrefix(s)
	if i == len(s) {
		return s, false // ASCII is NFKC and holds nothing to remove
	}
	// An ASCII character can compose with what follows it ("e" + U+0301),
	// never with what precedes it: the rest is checked from the last one.
	// (QuickSpanString, unlike IsNormalString, does not allocate.)
	tail := s[max(i-1, 0):]
	if !hasIgnorable(tail) && norm.NFKC.QuickSpanString(tail) == len(tail) {
		return s, false
	}
	t := norm.NFKC.String(stripIgnorable(s))
	if hasIgnorable(t) { // a compatibility character can map to one
		t = norm.NFKC.String(stripIgnorable(t))
	}
	return t, t != s
}

// asciiPrefix is the length of the run of ASCII bytes s starts with; it
// looks at 8 bytes a step, as most text is ASCII.
func asciiPrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if s[i]|s[i+1]|s[i+2]|s[i+3]|s[i+4]|s[i+5]|s[i+6]|s[i+7] >= utf8.RuneSelf {
			break
		}
	}
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	return i
}

func hasIgnorable(s string) bool {
	for _, r := range s {
		if isIgnorable(r) {
			return true
		}
	}
	return false
}

func stripIgnorable(s string) string {
	if !hasIgnorable(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isIgnorable(r) {
			return -1
		}
		return r
	}, s)
}

// isIgnorable reports whether r is a default-ignorable code point (white
// space excepted; none of these is white space).
func isIgnorable(r rune) bool {
	if r < 0xAD { // the first is the soft hyphen
		return false
	}
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// Percent-encoding hides a word from a byte-wise match as well: "%73ecret"
// is "secret" to a model that has seen URLs, and "%2573ecret" after one
// more decoding. Blocked words and patterns therefore also read a text
// holding a %XX escape percent-decoded, up to percentDepth times (a text
// encoded that many times over). Decoding is cheap (one scan for "%",
// nothing allocated without an escape), which is why it is done here and
// other encodings are not: base64, hex or ROT13 would mean decoding every
// run of letters and digits on the chance that it is an encoding, and
// would find words by accident in ordinary text. A pattern naming the
// encoded form of a word ("c2VjcmV0" for base64 "secret") catches that,
// percent-encoded or not, since patterns read the decoded text too.
// Redaction does not percent-decode: the text sent is the text as sent,
// and "jane%40example.com" is not redacted.
const percentDepth = 4

// percentDecoded returns s with its %XX escapes decoded, repeated while
// escapes remain and at most percentDepth times, and whether s held one.
// Bytes that decode to invalid UTF-8 read as U+FFFD; a "%" that does not
// start an escape is kept.
func percentDecoded(s string) (string, bool) {
	changed := false
	for range percentDepth {
		t, ok := percentDecodeOnce(s)
		if !ok {
			break
		}
		s, changed = t, true
	}
	if changed && !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s, changed
}

func percentDecodeOnce(s string) (string, bool) {
	var b []byte
	last := 0
	for i := 0; ; {
		k := strings.IndexByte(s[i:], '%')
		if k < 0 {
			break
		}
		i += k
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			i++
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(s))
		}
		b = append(b, s[last:i]...)
		b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
		i += 3
		last = i
	}
	if b == nil {
		return s, false
	}
	return string(append(b, s[last:]...)), true
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}
