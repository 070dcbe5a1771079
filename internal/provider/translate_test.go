package provider

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

func TestMarshalDoesNotEscapeHTML(t *testing.T) {
	got, err := Marshal(map[string]string{"text": "<b>a</b> & b"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"text":"<b>a</b> & b"}`; string(got) != want {
		t.Errorf("Marshal = %s, want %s (no escapes, no trailing newline)", got, want)
	}
}

func TestMarshalFailureIsAnInternalError(t *testing.T) {
	_, err := Marshal(make(chan int))
	var e *openai.Error
	if !errors.As(err, &e) || e.Code != openai.CodeInternal {
		t.Errorf("err = %v, want an internal *openai.Error", err)
	}
}

func TestChunkBuilderRendersTheChoiceIndexAndNoHTMLEscapes(t *testing.T) {
	b := &ChunkBuilder{ID: "id", Model: "m", Created: 1}
	c := b.At(2).Text("<tag> & more")
	want := `{"id":"id","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":2,"delta":{"content":"<tag> & more"},"finish_reason":null}]}`
	if string(c.Data) != want {
		t.Errorf("chunk =\n%s\nwant\n%s", c.Data, want)
	}
	var ch openai.ChatCompletionChunk
	if err := json.Unmarshal(b.Finish("stop").Data, &ch); err != nil || ch.Choices[0].Index != 0 {
		t.Errorf("At changed the builder it was called on: %+v (%v)", ch, err)
	}
}

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

func TestValidBaseURL(t *testing.T) {
	for _, ok := range []string{"https://api.example.com", "http://127.0.0.1:8080/v1"} {
		if !ValidBaseURL(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "api.example.com", "ftp://example.com", "https://", "://x"} {
		if ValidBaseURL(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNewCompletionID(t *testing.T) {
	a, b := NewCompletionID(), NewCompletionID()
	if !strings.HasPrefix(a, "chatcmpl-") || len(a) != len("chatcmpl-")+24 || a == b {
		t.Errorf("ids %q and %q", a, b)
	}
}

func TestConfigHeaderCarriesTheConfiguredValues(t *testing.T) {
	h := Config{Headers: map[string]Secret{"x-tenant": "acme"}}.Header()
	if h.Get("X-Tenant") != "acme" || len(h) != 1 {
		t.Errorf("Header() = %v", h)
	}
	if h := (Config{}).Header(); h == nil || len(h) != 0 {
		t.Errorf("Header() of no headers = %#v, want empty", h)
	}
}
