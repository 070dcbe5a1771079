package provider

import (
	"cmp"
	"slices"
	"strings"
)

// Secrets are the secret values of one provider instance: its API key and
// the values of its configured headers. An upstream may echo them in what it
// writes back (a refused key quoted in an error, a proxy's page repeating the
// request); Redact keeps them from reaching a client. The zero value holds
// none.
type Secrets struct {
	// values are distinct and non-empty, longest first, so a secret that
	// contains another is replaced whole.
	values []string
}

// NewSecrets collects the non-empty values of secrets.
func NewSecrets(secrets ...Secret) Secrets {
	var vs []string
	for _, s := range secrets {
		if v := s.Value(); v != "" && !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return Secrets{values: vs}
}

// Secrets returns the secrets of the instance c configures: APIKey and every
// value of Headers.
func (c Config) Secrets() Secrets {
	all := make([]Secret, 0, len(c.Headers)+1)
	all = append(all, c.APIKey)
	for _, v := range c.Headers {
		all = append(all, v)
	}
	return NewSecrets(all...)
}

// Redact returns text with every secret replaced by Redacted.
func (s Secrets) Redact(text string) string {
	for _, v := range s.values {
		text = strings.ReplaceAll(text, v, Redacted)
	}
	return text
}
