package guardrails

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/aigateway/gateway/internal/jsontext"
	"github.com/aigateway/gateway/internal/openai"
)

// The texts of a chat request the rules read, all of which reach the model:
//
//   - messages[i].content: the string, and the "text" of every part whatever
//     its type; the text parts of one message are also read joined (with
//     nothing and with a line break between them), so a word or phrase split
//     across parts ("b", "ad") is found, and redacted joined, so an address
//     or a card number split across parts is replaced in each (see
//     redactAcross). Texts are not joined across messages.
//   - messages[i].name.
//   - messages[i].tool_calls[j].function.arguments: JSON text, read as
//     sent and, when it holds an escape ("\n", "\u0062"), string by string
//     decoded. Redaction edits the decoded strings (and keys) and writes
//     them back, so the arguments stay JSON; a card number written as a JSON
//     number becomes the string "[REDACTED_CARD]". Arguments that are not
//     JSON are read and redacted as text.
//   - messages[i].tool_calls[j].function.name.
//   - tools[i].function.name and tools[i].function.description.
//   - tools[i].function.parameters: every string keyed "description" (in any
//     letter case) at any depth of the schema. Other strings of the schema
//     (names, enum values, titles) are not read.
//   - response_format.json_schema: its name, its description, and the
//     descriptions of its schema as for a tool's parameters.
//   - messages[i].reasoning_content and messages[i].thinking_blocks[j].thinking:
//     an assistant turn's reasoning sent back in the history, which
//     providers that replay reasoning (and models whose chat templates show
//     it) read. Read by the rules and the length limit, never redacted: a
//     signed block must reach the provider as it was signed.
//
// Names (of tools, tool calls and the output schema) are read by the
// blocked words and patterns but never redacted: an upstream accepts only
// [A-Za-z0-9_-] there, so "[REDACTED_EMAIL]" would fail the request, and a
// call's name must stay the name of the tool it calls. A message's name is
// free text and is redacted.
//
// Image URLs, audio and files are not read.

// fieldKind names one of those texts.
type fieldKind uint8

const (
	contentField           fieldKind = iota // messages[i].content (j: the part, -1 for a string)
	nameField                               // messages[i].name
	argumentsField                          // messages[i].tool_calls[j].function.arguments
	descriptionField                        // tools[i].function.description
	parametersField                         // tools[i].function.parameters
	callNameField                           // messages[i].tool_calls[j].function.name
	toolNameField                           // tools[i].function.name
	formatNameField                         // response_format.json_schema.name
	formatDescriptionField                  // response_format.json_schema.description
	formatSchemaField                       // response_format.json_schema.schema
	reasoningField                          // messages[i].reasoning_content
	thinkingField                           // messages[i].thinking_blocks[j].thinking
)

// field is where a text sits in a chat request.
type field struct {
	kind fieldKind
	i, j int
}

// param is the request field a refusal names.
func (f field) param() string {
	switch f.kind {
	case nameField:
		return fmt.Sprintf("messages[%d].name", f.i)
	case argumentsField:
		return fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", f.i, f.j)
	case descriptionField:
		return fmt.Sprintf("tools[%d].function.description", f.i)
	case parametersField:
		return fmt.Sprintf("tools[%d].function.parameters", f.i)
	case callNameField:
		return fmt.Sprintf("messages[%d].tool_calls[%d].function.name", f.i, f.j)
	case toolNameField:
		return fmt.Sprintf("tools[%d].function.name", f.i)
	case formatNameField:
		return "response_format.json_schema.name"
	case formatDescriptionField:
		return "response_format.json_schema.description"
	case formatSchemaField:
		return "response_format.json_schema.schema"
	case reasoningField:
		return fmt.Sprintf("messages[%d].reasoning_content", f.i)
	case thinkingField:
		return fmt.Sprintf("messages[%d].thinking_blocks[%d].thinking", f.i, f.j)
	}
	return fmt.Sprintf("messages[%d].content", f.i)
}

// refusal is the content_filter error for a text of f that breaks rule.
func (f field) refusal(rule string) error {
	what := f.param()
	if f.kind == contentField {
		what = fmt.Sprintf("messages[%d]", f.i)
	}
	return &openai.Error{Code: openai.CodeContentFilter, Param: f.param(),
		Message: fmt.Sprintf("%s was blocked by the gateway's content policy (%s)", what, rule)}
}

// blockedChat finds the first text of req that breaks a rule.
func (r *rules) blockedChat(req *openai.ChatRequest) (field, string) {
	for i := range req.Messages {
		m := &req.Messages[i]
		if rule := r.blockedContent(&m.Content); rule != "" {
			return field{kind: contentField, i: i}, rule
		}
		if rule := r.blocked(m.Name); rule != "" {
			return field{kind: nameField, i: i}, rule
		}
		if rule := r.blocked(m.ReasoningContent); rule != "" {
			return field{kind: reasoningField, i: i}, rule
		}
		for j := range m.ThinkingBlocks {
			if rule := r.blocked(m.ThinkingBlocks[j].Thinking); rule != "" {
				return field{kind: thinkingField, i: i, j: j}, rule
			}
		}
		for j := range m.ToolCalls {
			if rule := r.blocked(m.ToolCalls[j].Function.Name); rule != "" {
				return field{kind: callNameField, i: i, j: j}, rule
			}
			if rule := r.blockedJSON(m.ToolCalls[j].Function.Arguments); rule != "" {
				return field{kind: argumentsField, i: i, j: j}, rule
			}
		}
	}
	for i := range req.Tools {
		fn := &req.Tools[i].Function
		if rule := r.blocked(fn.Name); rule != "" {
			return field{kind: toolNameField, i: i}, rule
		}
		if rule := r.blocked(fn.Description); rule != "" {
			return field{kind: descriptionField, i: i}, rule
		}
		if rule := r.blockedDescriptions(fn.Parameters); rule != "" {
			return field{kind: parametersField, i: i}, rule
		}
	}
	if js := jsonSchema(req); js != nil {
		if rule := r.blocked(js.Name); rule != "" {
			return field{kind: formatNameField}, rule
		}
		if rule := r.blocked(js.Description); rule != "" {
			return field{kind: formatDescriptionField}, rule
		}
		if rule := r.blockedDescriptions(js.Schema); rule != "" {
			return field{kind: formatSchemaField}, rule
		}
	}
	return field{}, ""
}

// redactChat redacts every text of req in place and reports whether it
// changed any. It fails only when an address or a card number runs across
// text parts in a form it cannot redact part by part (redactAcross).
func (r *rules) redactChat(req *openai.ChatRequest) (redacted bool, err error) {
	for i := range req.Messages {
		m := &req.Messages[i]
		c := &m.Content
		if s, ok := r.redact(c.Text); ok {
			c.Text, redacted = s, true
		}
		for j := range c.Parts {
			if s, ok := r.redact(c.Parts[j].Text); ok {
				c.Parts[j].Text, redacted = s, true
			}
		}
		if ok, err := r.redactAcross(c.Parts, i); ok || err != nil {
			redacted = true
			if err != nil {
				return redacted, err
			}
		}
		if s, ok := r.redact(m.Name); ok {
			m.Name, redacted = s, true
		}
		for j := range m.ToolCalls {
			fn := &m.ToolCalls[j].Function
			if s, ok := r.redactJSON(fn.Arguments); ok {
				fn.Arguments, redacted = s, true
			}
		}
	}
	for i := range req.Tools {
		fn := &req.Tools[i].Function
		if s, ok := r.redact(fn.Description); ok {
			fn.Description, redacted = s, true
		}
		if p, ok := r.redactDescriptions(fn.Parameters); ok {
			fn.Parameters, redacted = p, true
		}
	}
	if js := jsonSchema(req); js != nil {
		if s, ok := r.redact(js.Description); ok {
			js.Description, redacted = s, true
		}
		if p, ok := r.redactDescriptions(js.Schema); ok {
			js.Schema, redacted = p, true
		}
	}
	return redacted, nil
}

// redactAcross redacts, in the text parts of message i's content, the
// addresses and card numbers that only the parts joined show: the blocked
// words read parts joined with nothing between them (a word split as "b",
// "ad"), and an address split as "jane@exa", "mple.com" is as plain to the
// model. It runs after each part was redacted alone, on the parts joined;
// each part an address or number overlaps has its share of it replaced by
// the token, so "mail jane@exa", "mple.com now" become "mail
// [REDACTED_EMAIL]", "[REDACTED_EMAIL] now": no part is left empty (an
// upstream may refuse an empty text part) and each says what was there.
// Parts joined by a line break need no reading of their own: neither an
// address nor a card number holds one.
//
// When only the joined text normalised shows one (full-width digits split
// across parts), every text part of the message is normalised and the
// joined text redacted again; if an address or number still shows, which
// takes a character that composes across the split, the request is refused
// (invalid_request, the content's param) rather than sent unredacted.
func (r *rules) redactAcross(parts []openai.ContentPart, i int) (bool, error) {
	texts, digits, maybe := 0, 0, false
	for j := range parts {
		if t := parts[j].Text; t != "" {
			texts++
			m, d := personalHints(t, r.emails)
			maybe, digits = maybe || m, digits+d
		}
	}
	if texts < 2 || !maybe && !(r.cards && digits >= 13) {
		return false, nil
	}
	glued := gluedParts(parts)
	changed := r.redactGlued(parts, glued)
	if changed {
		glued = gluedParts(parts)
	}
	if !r.showsPersonalData(glued) {
		return changed, nil
	}
	for j := range parts {
		if t, ok := normalise(parts[j].Text); ok {
			parts[j].Text, changed = t, true
		}
	}
	if r.redactGlued(parts, gluedParts(parts)) {
		changed = true
	}
	if r.showsPersonalData(gluedParts(parts)) {
		return changed, &openai.Error{Code: openai.CodeInvalidRequest, Param: fmt.Sprintf("messages[%d].content", i),
			Message: fmt.Sprintf("messages[%d] holds an e-mail address or a card number split across text parts in a way "+
				"the gateway cannot redact part by part; send it within one text part", i)}
	}
	return changed, nil
}

// showsPersonalData reports whether glued, normalised, still shows an
// address or a card number to redact.
func (r *rules) showsPersonalData(glued string) bool {
	n, _ := normalise(glued)
	_, found := redact(n, r.emails, r.cards)
	return found
}

// gluedParts is the text of parts joined with nothing between them.
func gluedParts(parts []openai.ContentPart) string {
	n := 0
	for j := range parts {
		n += len(parts[j].Text)
	}
	var b strings.Builder
	b.Grow(n)
	for j := range parts {
		b.WriteString(parts[j].Text)
	}
	return b.String()
}

// redactGlued replaces, in each text part, its share of every address and
// card number the parts' text glued (gluedParts) shows, and reports
// whether it replaced any.
func (r *rules) redactGlued(parts []openai.ContentPart, glued string) bool {
	spans := redactSpans(glued, r.emails, r.cards)
	if len(spans) == 0 {
		return false
	}
	at, k := 0, 0 // at: where part j starts in glued; k: the first span not wholly before it
	for j := range parts {
		p := &parts[j]
		if p.Text == "" {
			continue // not a text part: it gets no token
		}
		start, end := at, at+len(p.Text)
		at = end
		var local []span
		for ; k < len(spans) && spans[k].start < end; k++ {
			sp := spans[k]
			if sp.end > start {
				local = append(local, span{start: max(sp.start, start) - start, end: min(sp.end, end) - start, token: sp.token})
			}
			if sp.end > end { // it goes on into the next part
				break
			}
		}
		p.Text, _ = replaceSpans(p.Text, local)
	}
	return true
}

// jsonSchema is req's response_format.json_schema, or nil.
func jsonSchema(req *openai.ChatRequest) *openai.JSONSchemaSpec {
	if req.ResponseFormat == nil {
		return nil
	}
	return req.ResponseFormat.JSONSchema
}

// blockedContent checks string content and the text of the parts.
func (r *rules) blockedContent(c *openai.Content) string {
	if rule := r.blocked(c.Text); rule != "" {
		return rule
	}
	only, texts := 0, 0
	for j := range c.Parts {
		if c.Parts[j].Text != "" {
			only, texts = j, texts+1
		}
	}
	switch texts {
	case 0:
		return ""
	case 1:
		return r.blocked(c.Parts[only].Text)
	}
	// How an upstream runs parts together is its own affair: nothing
	// between them makes "b" and "ad" a word, a line break makes "top" and
	// "secret" a phrase. Either reading may be the model's. The parts joined
	// by line breaks also hold every match each part holds alone (a line
	// break is white space to the words and no word character to \b), but
	// for patterns anchored to the start or end of a text: only those run on
	// each part too.
	glued, lines := joinParts(c.Parts)
	if rule := r.blocked(lines); rule != "" {
		return rule
	}
	if rule := r.blocked(glued); rule != "" {
		return rule
	}
	for j := range c.Parts {
		if rule := r.blockedAnchored(c.Parts[j].Text); rule != "" {
			return rule
		}
	}
	return ""
}

// joinParts returns the text of parts joined with nothing and joined with
// line breaks, built in one allocation.
func joinParts(parts []openai.ContentPart) (glued, lines string) {
	n, texts := 0, 0
	for j := range parts {
		if t := parts[j].Text; t != "" {
			n, texts = n+len(t), texts+1
		}
	}
	var b strings.Builder
	b.Grow(2*n + texts)
	for pass := range 2 {
		first := true
		for j := range parts {
			if t := parts[j].Text; t != "" {
				if pass == 1 && !first {
					b.WriteByte('\n')
				}
				b.WriteString(t)
				first = false
			}
		}
	}
	both := b.String()
	return both[:n], both[n:]
}

// blockedJSON checks JSON text (tool-call arguments) as sent and, when an
// escape could hide a word from that reading, each string in it decoded.
func (r *rules) blockedJSON(s string) string {
	if rule := r.blocked(s); rule != "" {
		return rule
	}
	if strings.IndexByte(s, '\\') < 0 || !gjson.Valid(s) {
		return ""
	}
	rule := ""
	eachScalar(gjson.Parse(s), func(v gjson.Result) bool {
		if v.Type == gjson.String && strings.IndexByte(v.Raw, '\\') >= 0 {
			rule = r.blocked(jsontext.Str(v))
		}
		return rule == ""
	})
	return rule
}

// redactJSON redacts JSON text (tool-call arguments) string by string, keys
// included, so that it stays JSON; a card number written as a number
// becomes a string. Text that is not JSON is redacted as text.
func (r *rules) redactJSON(s string) (string, bool) {
	if !gjson.Valid(s) {
		return r.redact(s)
	}
	if _, found := r.redact(s); !found && strings.IndexByte(s, '\\') < 0 {
		return s, false // no escape: the text as sent shows all there is
	}
	var edits []edit
	eachScalar(gjson.Parse(s), func(v gjson.Result) bool {
		switch v.Type {
		case gjson.String:
			if t, ok := r.redact(jsontext.Str(v)); ok {
				edits = append(edits, edit{at: v.Index, raw: v.Raw, text: t})
			}
		case gjson.Number:
			if !r.cards {
				break
			}
			if t, ok := redactCards(v.Raw); ok {
				edits = append(edits, edit{at: v.Index, raw: v.Raw, text: t})
			}
		}
		return true
	})
	if len(edits) == 0 {
		return s, false
	}
	out, err := splice([]byte(s), edits)
	if err != nil { // cannot happen: the offsets come from s itself
		return r.redact(s)
	}
	return string(out), true
}

// mayHoldPersonalData reports whether b may hold what the rules redact: an
// "@" for addresses, 13 digits for a card number, or what may spell either
// once decoded or normalised (an escape, a character that is not ASCII).
func (r *rules) mayHoldPersonalData(b []byte) bool {
	maybe, digits := personalHints(b, r.emails)
	return maybe || r.cards && digits >= 13
}

// personalHints is mayHoldPersonalData's scan of b: maybe when b holds an
// "@" (when emails), an escape or a character that is not
// ASCII, and otherwise how many digits it holds.
func personalHints[T string | []byte](b T, emails bool) (maybe bool, digits int) {
	for i := range len(b) {
		switch c := b[i]; {
		case c >= utf8.RuneSelf || c == '\\':
			return true, digits
		case c == '@':
			if emails {
				return true, digits
			}
		case isDigit(c):
			digits++
		}
	}
	return false, digits
}

// eachScalar calls f with every string, number and object key under v, in
// document order, until f returns false.
func eachScalar(v gjson.Result, f func(gjson.Result) bool) bool {
	if !v.IsObject() && !v.IsArray() {
		return f(v)
	}
	more := true
	v.ForEach(func(k, val gjson.Result) bool {
		if k.Type == gjson.String && k.Raw != "" && !f(k) {
			more = false
			return false
		}
		more = eachScalar(val, f)
		return more
	})
	return more
}

// eachDescription calls f with every string keyed "description", in any
// letter case, at any depth under v, until f returns false.
func eachDescription(v gjson.Result, f func(gjson.Result) bool) bool {
	more := true
	v.ForEach(func(k, val gjson.Result) bool {
		switch {
		case val.Type == gjson.String:
			if k.Type == gjson.String && isDescription(jsontext.Str(k)) {
				more = f(val)
			}
		case val.IsObject() || val.IsArray():
			more = eachDescription(val, f)
		}
		return more
	})
	return more
}

const description = "description"

// isDescription reports whether k is "description" in any ASCII letter case.
func isDescription[T string | []byte](k T) bool {
	if len(k) != len(description) {
		return false
	}
	for i := range len(k) {
		if k[i]|0x20 != description[i] {
			return false
		}
	}
	return true
}

// mayDescribe reports whether a schema may hold a description key, so that
// a schema without one is not parsed: a quoted "description" in any letter
// case, or an escape (which may spell one).
func mayDescribe(schema []byte) bool {
	for i := 0; i+len(description)+2 <= len(schema); i++ {
		if schema[i] == '"' && schema[i+len(description)+1] == '"' && isDescription(schema[i+1:i+1+len(description)]) {
			return true
		}
	}
	return bytes.IndexByte(schema, '\\') >= 0
}

// blockedDescriptions checks the descriptions in a tool's parameters.
func (r *rules) blockedDescriptions(schema []byte) string {
	if len(schema) == 0 || !mayDescribe(schema) {
		return ""
	}
	rule := ""
	eachDescription(gjson.Parse(string(schema)), func(v gjson.Result) bool {
		rule = r.blocked(jsontext.Str(v))
		return rule == ""
	})
	return rule
}

// redactDescriptions redacts the descriptions in a tool's parameters and
// returns the schema with only those strings rewritten.
func (r *rules) redactDescriptions(schema []byte) ([]byte, bool) {
	if len(schema) == 0 || !r.mayHoldPersonalData(schema) || !mayDescribe(schema) {
		return schema, false
	}
	var edits []edit
	eachDescription(gjson.Parse(string(schema)), func(v gjson.Result) bool {
		if t, ok := r.redact(jsontext.Str(v)); ok {
			edits = append(edits, edit{at: v.Index, raw: v.Raw, text: t})
		}
		return true
	})
	if len(edits) == 0 {
		return schema, false
	}
	out, err := splice(schema, edits)
	if err != nil { // cannot happen: the offsets come from schema itself
		return schema, false
	}
	return out, true
}
