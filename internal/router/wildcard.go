package router

import (
	"fmt"
	"strings"
	"time"
)

// A wildcard is a model pattern a provider serves (`models = ["gpt-*"]`, or
// `"*"` for any name): a model name no route claims resolves to the first
// provider whose pattern matches, falling back across every provider with a
// matching pattern, in provider order. A model resolved this way gets a
// target of its own for the call but shares the pattern's breaker and
// figures, and metrics name it by the pattern, so clients cannot grow the
// router's state or metric series with names of their own.

// IsPattern reports whether a configured model name is a wildcard pattern.
func IsPattern(model string) bool { return strings.Contains(model, "*") }

// AddWildcard lets providerName serve every model name pattern matches.
func (r *Router) AddWildcard(providerName, pattern string, timeout time.Duration) error {
	if !IsPattern(pattern) {
		return fmt.Errorf("wildcard %q has no *", pattern)
	}
	t, err := r.Target(providerName, pattern, timeout)
	if err != nil {
		return err
	}
	r.wildcards = append(r.wildcards, t)
	return nil
}

// wildcardFor is providerName's first pattern that matches model (nil if none).
func (r *Router) wildcardFor(providerName, model string) *Target {
	for _, w := range r.wildcards {
		if w.Provider.Name() == providerName && globMatch(w.Model, model) {
			return w
		}
	}
	return nil
}

// byWildcard resolves model over every matching pattern, in provider order
// (one pattern per provider: its first match). It returns the first pattern
// matched and the targets.
func (r *Router) byWildcard(model string) (string, []*Target) {
	var pattern string
	var out []*Target
	for _, name := range r.names {
		if w := r.wildcardFor(name, model); w != nil {
			if pattern == "" {
				pattern = w.Model
			}
			out = append(out, w.instance(model))
		}
	}
	return pattern, out
}

// instance is the target for one model a wildcard matched.
func (w *Target) instance(model string) *Target {
	return &Target{Provider: w.Provider, Model: model, Timeout: w.Timeout, Breaker: w.Breaker, c: w.c, wildcard: w}
}

// globMatch matches name against a pattern where * stands for any run of
// characters (slashes included: some providers' model names have them).
func globMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, last)
}

// Permits reports whether a key limited to the names in allowed may use t.
// Each name grants what an unpinned request for it could reach: a route or
// alias grants its targets (its rules' included), a pattern ("gpt-*") the
// models its wildcards resolve, a model name no route claims the providers
// whose wildcards serve it, and "provider/model" exactly that pair. A pin
// can therefore only choose among what the key was given.
func (r *Router) Permits(allowed []string, t *Target) bool {
	for _, name := range allowed {
		if name == t.Key() || (t.wildcard != nil && name == t.wildcard.Model) {
			return true
		}
		if rt, ok := r.Route(name); ok {
			for _, wt := range rt.allTargets() {
				if wt.Target == t {
					return true
				}
			}
			continue
		}
		if t.wildcard != nil && t.Model == name {
			return true // t's provider serves the name through a wildcard
		}
	}
	return false
}

// Wildcards lists the wildcard patterns' targets (Model is the pattern), in
// the order added.
func (r *Router) Wildcards() []*Target { return append([]*Target(nil), r.wildcards...) }

// MatchPattern reports whether a model name matches a wildcard pattern.
func MatchPattern(pattern, name string) bool { return globMatch(pattern, name) }
