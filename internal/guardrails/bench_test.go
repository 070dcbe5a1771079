package guardrails

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

// benchSet is a plausible policy: a dozen words, a few patterns, a profile,
// a length limit and both redactions.
func benchSet() Set {
	return Set{
		Global: Config{
			BlockedWords:      []string{"hunter2", "top secret", "confidential", "password123", "ssn", "classified", "do not distribute", "internal use only", "nda", "embargoed", "project x", "codename"},
			BlockedPatterns:   []string{`\bPRJ-\d{4}\b`, `(?i)api[_-]?key\s*[:=]`, `\b\d{3}-\d{2}-\d{4}\b`},
			MaxInputChars:     100000,
			RedactEmails:      true,
			RedactCardNumbers: true,
		},
		Profiles: map[string]Config{"team": {BlockedWords: []string{"layoffs"}, MaxInputChars: 20000}},
	}
}

// benchRequest is a clean conversation of about 2 KB.
func benchRequest() *openai.ChatRequest {
	para := strings.Repeat("The quick brown fox jumps over the lazy dog while the class reviews chapter 12 of the manual. ", 5)
	return &openai.ChatRequest{Model: "m", Messages: []openai.Message{
		{Role: "system", Content: openai.TextContent("You are a helpful assistant. Answer briefly and cite the manual.")},
		{Role: "user", Content: openai.TextContent(para)},
		{Role: "assistant", Content: openai.TextContent(para)},
		{Role: "user", Content: openai.Content{IsParts: true, Parts: []openai.ContentPart{
			{Type: "text", Text: para},
			{Type: "image_url", ImageURL: &openai.ImageURL{URL: "https://example.com/a.png"}},
		}}},
	}}
}

// benchAgentRequest is a clean agent turn of about 4 KB: named messages,
// an assistant tool call and its result, three tools with described
// parameters, and a user message of several text parts, one of them
// accented (text that is not ASCII takes the slower path).
func benchAgentRequest() *openai.ChatRequest {
	para := strings.Repeat("The quick brown fox jumps over the lazy dog while the class reviews chapter 12 of the manual. ", 5)
	accented := strings.Repeat("Le cœur déçu mais l'âme plutôt naïve, Louÿs rêva de crapaüter en canoë au delà des îles. ", 3)
	params := json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","description":"What to look up, in plain words."},` +
		`"limit":{"type":"integer","description":"How many results to return, at most 50."}},"required":["query"]}`)
	tool := func(name string) openai.Tool {
		return openai.Tool{Type: "function", Function: openai.FunctionSpec{Name: name,
			Description: "Searches the " + name + " index and returns the matching passages with their sources.", Parameters: params}}
	}
	return &openai.ChatRequest{Model: "m", Tools: []openai.Tool{tool("manual"), tool("wiki"), tool("tickets")}, Messages: []openai.Message{
		{Role: "system", Content: openai.TextContent("You are a helpful assistant. Answer briefly and cite the manual.")},
		{Role: "user", Name: "reader_42", Content: openai.TextContent(para)},
		{Role: "assistant", Content: openai.Content{IsNull: true}, ToolCalls: []openai.ToolCall{{ID: "call_1", Type: "function",
			Function: openai.FunctionCall{Name: "manual", Arguments: `{"query":"chapter 12 review questions","limit":5}`}}}},
		{Role: "tool", ToolCallID: "call_1", Content: openai.TextContent(para)},
		{Role: "user", Name: "reader_42", Content: openai.Content{IsParts: true, Parts: []openai.ContentPart{
			{Type: "text", Text: para},
			{Type: "text", Text: accented},
			{Type: "image_url", ImageURL: &openai.ImageURL{URL: "https://example.com/a.png"}},
			{Type: "text", Text: "Thanks."},
		}}},
	}}
}

func BenchmarkCheckChatNoRules(b *testing.B) {
	req := benchRequest()
	empty := mustNew(b, Set{})
	for _, bc := range []struct {
		name string
		e    *Engine
	}{{"nil engine", nil}, {"empty config", empty}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.e.CheckChat("", req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCheckChatWithRules(b *testing.B) {
	e := mustNew(b, benchSet())
	req := benchRequest()
	size := int64(0)
	for _, m := range req.Messages {
		size += int64(len(m.Content.AllText()))
	}
	b.Run("clean request", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			if _, err := e.CheckChat("team", req); err != nil {
				b.Fatal(err)
			}
		}
	})
	noPatterns := benchSet()
	noPatterns.Global.BlockedPatterns = nil
	ew := mustNew(b, noPatterns)
	b.Run("clean request, words and redaction without patterns", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			if _, err := ew.CheckChat("team", req); err != nil {
				b.Fatal(err)
			}
		}
	})
	agent := benchAgentRequest()
	agentSize := int64(0)
	for _, m := range agent.Messages {
		agentSize += int64(len(m.Content.AllText()))
	}
	b.Run("clean agent request with tools, names and parts", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(agentSize)
		for b.Loop() {
			if _, err := e.CheckChat("team", agent); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("request with an address and a card to redact", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			b.StopTimer()
			r := benchRequest()
			r.Messages[1].Content.Text += " mail me at jane.doe@example.com, card 4111 1111 1111 1111"
			b.StartTimer()
			if redacted, err := e.CheckChat("team", r); err != nil || !redacted {
				b.Fatal(redacted, err)
			}
		}
	})
}
