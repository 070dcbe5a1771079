package provider

import (
	"encoding/json"
	"testing"
)

func TestArgumentsObject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `{}`},
		{"  ", `{}`},
		{`{ "a" : [1, 2] }`, `{"a":[1,2]}`},
		{` {"b":"<x>"} `, `{"b":"<x>"}`},
	}
	for _, tt := range tests {
		got, err := ArgumentsObject(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("ArgumentsObject(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`[1]`, `null`, `"s"`, `{"a":`, `{} {}`} {
		if _, err := ArgumentsObject(bad); err == nil {
			t.Errorf("ArgumentsObject(%q) accepted it", bad)
		}
	}
}

func TestCompactArguments(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, `{}`},
		{`null`, `{}`},
		{` { "a" : 1 } `, `{"a":1}`},
	}
	for _, tt := range tests {
		got, err := CompactArguments(json.RawMessage(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("CompactArguments(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if got, err := CompactArguments(json.RawMessage(`{oops`)); err == nil || got != "{}" {
		t.Errorf(`CompactArguments("{oops") = %q, %v; want "{}" and an error`, got, err)
	}
}

func TestToolIndexesCountToolBlocksOnly(t *testing.T) {
	var ti ToolIndexes
	if _, ok := ti.Lookup(0); ok {
		t.Error("an empty ToolIndexes knows block 0")
	}
	// Blocks 0 and 2 are text; 1, 3 and 7 are tool calls.
	for _, c := range []struct{ block, want int }{{1, 0}, {3, 1}, {1, 0}, {7, 2}} {
		if got := ti.Index(c.block); got != c.want {
			t.Errorf("Index(%d) = %d, want %d", c.block, got, c.want)
		}
	}
	if i, ok := ti.Lookup(3); !ok || i != 1 {
		t.Errorf("Lookup(3) = %d, %v", i, ok)
	}
	if _, ok := ti.Lookup(2); ok {
		t.Error("Lookup(2) found a text block")
	}
}
