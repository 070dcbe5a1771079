package guardrails

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Blocked words are matched token by token rather than with a regular
// expression: Go's regexp spends about a microsecond a byte on a dozen
// case-insensitive words with Unicode boundaries, this about a hundredth.
//
// Text splits into tokens: a maximal run of word characters (letters, digits,
// marks, "_") is one token, any other character that is not white space is a
// token of its own, and white space only separates. A blocked word splits the
// same way and matches where its tokens appear in a row, equal up to case,
// with white space between two tokens exactly where the word has some. Word
// tokens are maximal on both sides, so "ass" is not found in "class", while
// "#tag" is found in "x#tag" (the "#" needs no boundary).

// wordSet is the blocked words of one profile, indexed by the case-folded
// hash of their first token.
type wordSet struct {
	phrases []phrase
	byFirst map[uint64][]int
	// seen has bit h%256 set for every first-token hash h: most tokens of a
	// text miss it and skip the map lookup.
	seen [4]uint64
}

// phrase is one blocked word (or phrase) split into tokens.
type phrase struct {
	toks []ptoken
	ref  ruleRef
}

type ptoken struct {
	text  string
	space bool // white space stands before it
}

func newPhrase(w string, ref ruleRef) phrase {
	p := phrase{ref: ref}
	for t, ok := nextToken(w, 0); ok; t, ok = nextToken(w, t.end) {
		p.toks = append(p.toks, ptoken{text: w[t.start:t.end], space: t.space})
	}
	return p
}

func newWordSet(phrases []phrase) *wordSet {
	ws := &wordSet{phrases: phrases, byFirst: make(map[uint64][]int)}
	for i, p := range phrases {
		h := foldHash(p.toks[0].text)
		ws.byFirst[h] = append(ws.byFirst[h], i)
		ws.seen[h>>6&3] |= 1 << (h & 63)
	}
	return ws
}

// find returns the rule of the blocked word found earliest in text.
func (ws *wordSet) find(text string) (ruleRef, bool) {
	for t, ok := nextToken(text, 0); ok; t, ok = nextToken(text, t.end) {
		h := foldHash(text[t.start:t.end])
		if ws.seen[h>>6&3]&(1<<(h&63)) == 0 {
			continue
		}
		cands, hit := ws.byFirst[h]
		if !hit {
			continue
		}
		for _, c := range cands {
			if ws.phrases[c].matchAt(text, t) {
				return ws.phrases[c].ref, true
			}
		}
	}
	return ruleRef{}, false
}

// matchAt reports whether the phrase's tokens follow in text from t on.
func (p *phrase) matchAt(text string, t token) bool {
	for i, pt := range p.toks {
		if i > 0 {
			var ok bool
			if t, ok = nextToken(text, t.end); !ok || t.space != pt.space {
				return false
			}
		}
		if !strings.EqualFold(text[t.start:t.end], pt.text) {
			return false
		}
	}
	return true
}

// token is text[start:end]; space records white space right before it.
type token struct {
	start, end int
	space      bool
}

// nextToken returns the first token of s at or after i.
func nextToken(s string, i int) (t token, ok bool) {
	for i < len(s) {
		r, n := decodeRune(s, i)
		if isSpace(r) {
			t.space = true
			i += n
			continue
		}
		t.start = i
		i += n
		if isWordRune(r) {
			for i < len(s) {
				r, n = decodeRune(s, i)
				if !isWordRune(r) {
					break
				}
				i += n
			}
		}
		t.end = i
		return t, true
	}
	return t, false
}

func decodeRune(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.IsSpace(r)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
}

// foldHash is an FNV-1a hash of s's runes, each replaced by the smallest rune
// of its case-folding orbit, so strings equal under strings.EqualFold hash
// alike.
func foldHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for _, r := range s {
		h ^= uint64(foldRune(r))
		h *= 1099511628211
	}
	return h
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	lo := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		lo = min(lo, f)
	}
	return lo
}
