package provider

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Secrets are the secret values of one provider instance: its API key and
// the values of its configured headers. An upstream may echo them in what it
// writes back (a refused key quoted in an error, a proxy's page repeating the
// request, a basic Authorization header decoded or not); Redact keeps them
// from reaching a client. The zero value holds none.
//
// Besides the secret as it is, Redact finds the forms an upstream is likely
// to echo it in: base64 in either alphabet, padded or not, alone or inside
// basic credentials ("user:secret", ":secret", "secret:"); URL query and
// path escaping; JSON string escaping; hex. They are worked out once, by
// NewSecrets.
//
// A secret shorter than minEncoded bytes ("eu", "v2", a flag) is often not
// secret at all, and its encodings are a few letters that occur in any
// text: it is replaced only where it stands as a word, and its encodings are
// not looked for, so an error message is not turned into noise.
type Secrets struct {
	// exact are replaced wherever they appear: the secrets of minEncoded
	// bytes or more and their URL-, JSON- and hex-encoded forms. They are
	// distinct and longest first, so a secret that contains another is
	// replaced whole.
	exact []string
	// base64 are, for each such secret, alphabet and alignment, the run of
	// base64 characters made of the secret's bits alone (see base64Cores).
	// Where one is found, the whole run of base64 characters around it is
	// replaced: the encoding of a user name or padding next to the secret
	// goes with it.
	base64 []string
	// words are the shorter secrets, replaced only as whole words.
	words []string
}

// minEncoded is the length in bytes from which a secret is replaced inside
// other text and its encoded forms are looked for.
const minEncoded = 8

// NewSecrets collects the non-empty values of secrets and works out the
// encoded forms Redact looks for.
func NewSecrets(secrets ...Secret) Secrets {
	var s Secrets
	add := func(list *[]string, v string) {
		if v != "" && !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	for _, sec := range secrets {
		v := sec.Value()
		if len(v) < minEncoded {
			add(&s.words, v)
			continue
		}
		for _, form := range encodedForms(v) {
			add(&s.exact, form)
		}
		for _, core := range base64Cores(v) {
			add(&s.base64, core)
		}
	}
	longestFirst := func(a, b string) int { return cmp.Compare(len(b), len(a)) }
	slices.SortStableFunc(s.exact, longestFirst)
	slices.SortStableFunc(s.base64, longestFirst)
	slices.SortStableFunc(s.words, longestFirst)
	return s
}

// encodedForms are v and the forms of it an upstream may echo as text.
func encodedForms(v string) []string {
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	for _, html := range []bool{true, false} {
		j := jsonEscape(v, html)
		forms = append(forms, j, strings.ReplaceAll(j, "/", `\/`)) // some encoders escape "/"
	}
	h := hex.EncodeToString([]byte(v))
	return append(forms, h, strings.ToUpper(h))
}

// jsonEscape is v as encoding/json writes it inside a string, quotes dropped.
func jsonEscape(v string, escapeHTML bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(v) // a string always encodes
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return string(b[1 : len(b)-1])
}

// base64Cores are the runs of base64 text that v encodes to wherever it
// stands in the encoded bytes. Base64 turns each 3 bytes into 4 characters
// of 6 bits, so what a secret looks like depends on how many bytes come
// before it (its offset modulo 3: "user:" is 5 bytes, ":" 1) and the
// characters at its two ends mix in bits of its neighbours. For each
// alphabet and each of the 3 offsets, the core is the characters all of
// whose bits are the secret's; for a secret of 8 bytes that is at least 10
// characters.
func base64Cores(v string) []string {
	var cores []string
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for off := range 3 {
			buf := make([]byte, off+len(v))
			copy(buf[off:], v)
			s := enc.EncodeToString(buf)
			first := (8*off + 5) / 6      // the first character after the filler's bits
			end := 8 * (off + len(v)) / 6 // characters before it hold 6 bits of input
			cores = append(cores, s[first:end])
		}
	}
	return cores
}

// Redact returns text with every secret, and every encoded form of one,
// replaced by Redacted.
func (s Secrets) Redact(text string) string {
	for _, v := range s.exact {
		text = strings.ReplaceAll(text, v, Redacted)
	}
	for _, core := range s.base64 {
		text = replaceBase64Runs(text, core)
	}
	for _, w := range s.words {
		text = replaceWord(text, w)
	}
	return text
}

// replaceBase64Runs replaces each run of base64 characters (either alphabet,
// with its "=" padding) that holds core.
func replaceBase64Runs(text, core string) string {
	var b strings.Builder
	last := 0
	for i := 0; ; {
		k := strings.Index(text[i:], core)
		if k < 0 {
			break
		}
		start, end := i+k, i+k+len(core)
		for start > last && isBase64Char(text[start-1]) {
			start--
		}
		for end < len(text) && isBase64Char(text[end]) {
			end++
		}
		for pad := 0; pad < 2 && end < len(text) && text[end] == '='; pad++ {
			end++
		}
		b.WriteString(text[last:start])
		b.WriteString(Redacted)
		last, i = end, end
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
}

// replaceWord replaces w where it stands as a word: where w starts (ends)
// with a letter or digit, the character before (after) it is neither.
func replaceWord(text, w string) string {
	first, _ := utf8.DecodeRuneInString(w)
	lastR, _ := utf8.DecodeLastRuneInString(w)
	var b strings.Builder
	last := 0
	for i := 0; ; {
		k := strings.Index(text[i:], w)
		if k < 0 {
			break
		}
		start, end := i+k, i+k+len(w)
		i = start + 1
		if isAlnum(first) && start > 0 {
			if r, _ := utf8.DecodeLastRuneInString(text[:start]); isAlnum(r) {
				continue
			}
		}
		if isAlnum(lastR) && end < len(text) {
			if r, _ := utf8.DecodeRuneInString(text[end:]); isAlnum(r) {
				continue
			}
		}
		b.WriteString(text[last:start])
		b.WriteString(Redacted)
		last, i = end, end
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Secrets returns the secrets of the instance c configures: APIKey and every
// value of Headers.
func (c Config) Secrets() Secrets { return NewSecrets(c.SecretValues()...) }

// SecretValues are those secrets as configured, in a slice of the caller's.
func (c Config) SecretValues() []Secret {
	all := make([]Secret, 0, len(c.Headers)+1)
	all = append(all, c.APIKey)
	for _, v := range c.Headers {
		all = append(all, v)
	}
	return all
}
