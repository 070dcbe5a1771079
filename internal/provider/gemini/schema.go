package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Gemini's Schema (function parameters, responseSchema) is a subset of
// OpenAPI 3.0, not JSON Schema: it refuses keys it does not know
// ("additionalProperties", "$schema", "$defs", ...) with a 400. OpenAI clients
// send JSON Schema, often generated (Pydantic, Zod) with local $refs, so the
// schema is rewritten into the subset:
//   - local $refs (#/$defs/X, #/definitions/X) are inlined (recursion is refused);
//   - "type": ["T", "null"] and anyOf/oneOf with a {"type":"null"} branch become nullable;
//   - oneOf becomes anyOf; allOf is merged; a string "const" becomes a one-value enum;
//   - an enum without a type is typed "string" (Gemini's enums are strings);
//   - keys outside the subset are dropped.

// schemaKeys are the Schema fields passed through unchanged.
var schemaKeys = map[string]bool{
	"title": true, "description": true, "nullable": true, "required": true, "example": true, "default": true,
	"maxItems": true, "minItems": true, "minProperties": true, "maxProperties": true, "minLength": true,
	"maxLength": true, "pattern": true, "minimum": true, "maximum": true, "propertyOrdering": true,
}

// schemaFormats are the formats Gemini accepts; others are refused upstream.
var schemaFormats = map[string]bool{"enum": true, "date-time": true, "int32": true, "int64": true, "float": true, "double": true}

const (
	maxSchemaDepth = 64
	maxSchemaNodes = 10000
)

type schemaConverter struct {
	defs  map[string]any
	nodes int
}

func toGeminiSchema(raw json.RawMessage) (json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var root any
	if err := d.Decode(&root); err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %v", err)
	}
	m, ok := root.(map[string]any)
	if !ok {
		return nil, errors.New("schema must be a JSON object")
	}
	c := schemaConverter{defs: map[string]any{}}
	for _, key := range []string{"definitions", "$defs"} {
		if defs, ok := m[key].(map[string]any); ok {
			for name, def := range defs {
				c.defs["#/"+key+"/"+name] = def
			}
		}
	}
	out, err := c.convert(m, 0, nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

func (c *schemaConverter) convert(node any, depth int, refs []string) (map[string]any, error) {
	if depth > maxSchemaDepth {
		return nil, errors.New("schema is nested too deeply")
	}
	// Inlining shared definitions can multiply a schema's size; bound it.
	if c.nodes++; c.nodes > maxSchemaNodes {
		return nil, errors.New("schema is too large once its references are inlined")
	}
	m, ok := node.(map[string]any)
	if !ok {
		// JSON Schema's `true` (anything) and malformed nodes: no constraint.
		return map[string]any{}, nil
	}
	if ref, ok := m["$ref"].(string); ok {
		for _, r := range refs {
			if r == ref {
				return nil, fmt.Errorf("schema refers to itself through %q; Gemini schemas cannot be recursive", ref)
			}
		}
		def, ok := c.defs[ref]
		if !ok {
			return nil, fmt.Errorf("schema reference %q is not a local definition", ref)
		}
		out, err := c.convert(def, depth+1, append(refs, ref))
		if err != nil {
			return nil, err
		}
		// Keys beside a $ref (a description, usually) refine it.
		if d, ok := m["description"]; ok {
			out["description"] = d
		}
		return out, nil
	}

	out := map[string]any{}
	if list, ok := m["allOf"].([]any); ok {
		for _, sub := range list {
			s, err := c.convert(sub, depth+1, refs)
			if err != nil {
				return nil, err
			}
			for k, v := range s {
				out[k] = v
			}
		}
	}
	for k, v := range m {
		switch k {
		case "type":
			switch t := v.(type) {
			case string:
				out["type"] = t
			case []any:
				var types []string
				for _, x := range t {
					if s, ok := x.(string); ok && s != "null" {
						types = append(types, s)
					} else if ok {
						out["nullable"] = true
					}
				}
				switch len(types) {
				case 0:
				case 1:
					out["type"] = types[0]
				default:
					var alts []any
					for _, s := range types {
						alts = append(alts, map[string]any{"type": s})
					}
					out["anyOf"] = alts
				}
			}
		case "format":
			if s, ok := v.(string); ok && schemaFormats[s] {
				out["format"] = s
			}
		case "enum":
			if list, ok := v.([]any); ok && allStrings(list) {
				out["enum"] = list
			}
		case "const":
			if s, ok := v.(string); ok {
				out["enum"] = []any{s}
			}
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				continue
			}
			conv := make(map[string]any, len(props))
			for name, p := range props {
				s, err := c.convert(p, depth+1, refs)
				if err != nil {
					return nil, err
				}
				conv[name] = s
			}
			out["properties"] = conv
		case "items":
			s, err := c.convert(v, depth+1, refs)
			if err != nil {
				return nil, err
			}
			out["items"] = s
		case "anyOf", "oneOf":
			list, ok := v.([]any)
			if !ok {
				continue
			}
			var alts []map[string]any
			for _, sub := range list {
				if isNullSchema(sub) {
					out["nullable"] = true
					continue
				}
				s, err := c.convert(sub, depth+1, refs)
				if err != nil {
					return nil, err
				}
				alts = append(alts, s)
			}
			if len(alts) == 1 {
				// Optional[X]: X itself, nullable; the outer keys win.
				for k2, v2 := range alts[0] {
					if _, set := m[k2]; !set {
						out[k2] = v2
					}
				}
			} else if len(alts) > 1 {
				out["anyOf"] = alts
			}
		default:
			if schemaKeys[k] {
				out[k] = v
			}
		}
	}
	// Gemini's enums are strings and want their type said.
	if _, ok := out["enum"]; ok && out["type"] == nil {
		out["type"] = "string"
	}
	return out, nil
}

func isNullSchema(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["type"] == "null"
}

func allStrings(list []any) bool {
	for _, x := range list {
		if _, ok := x.(string); !ok {
			return false
		}
	}
	return true
}

// emptyObjectSchema reports a converted schema that is an object without
// properties (what clients send for a function that takes no arguments).
func emptyObjectSchema(raw json.RawMessage) bool {
	var s struct {
		Type       string         `json:"type"`
		Properties map[string]any `json:"properties"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	return strings.EqualFold(s.Type, "object") && len(s.Properties) == 0
}
