package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aigateway/gateway/internal/pricing"
)

// addFileSeeds adds every file matching pattern as a seed.
func addFileSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecode feeds arbitrary bodies to both decoders and ToChat: they must
// not panic, a refusal must be a 400 invalid_request_error, an accepted
// request must hold what validation promises, and its chat request must
// encode and pass the gateway's tool_choice check.
func FuzzDecode(f *testing.F) {
	addFileSeeds(f, "testdata/requests/*.json")
	f.Add(body(""))
	f.Add(body(`"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"}`))
	f.Add(body(`"thinking":{"type":"enabled","budget_tokens":1e400}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":-0,"messages":null}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":null}]}],"system":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, countTokens := range []bool{false, true} {
			r, err := decode(b, !countTokens)
			if err != nil {
				if err.Status != 400 || err.Type != TypeInvalidRequest || err.Message == "" {
					t.Fatalf("refusal %+v is not a 400 invalid_request_error with a message", err)
				}
				continue
			}
			if !bytes.Equal(r.Raw, b) {
				t.Fatal("Raw is not the body")
			}
			if r.Model == "" || len(r.Messages) == 0 {
				t.Fatalf("accepted without a model or messages: %+v", r)
			}
			if !countTokens && r.MaxTokens < 1 {
				t.Fatalf("accepted max_tokens %d", r.MaxTokens)
			}
			for _, m := range r.Messages {
				for _, blk := range m.Content {
					if blk.Type == "" {
						t.Fatal("accepted a block without a type")
					}
				}
			}
			chat, cerr := ToChat(r)
			if cerr != nil {
				if e, ok := cerr.(*Error); !ok || e.Status != 400 {
					t.Fatalf("ToChat refusal %v (%T) is not a 400 *Error", cerr, cerr)
				}
				continue
			}
			if _, err := json.Marshal(chat); err != nil {
				t.Fatalf("the chat request does not encode: %v", err)
			}
			if _, err := chat.ParseToolChoice(); err != nil {
				t.Fatalf("the chat request's tool_choice is refused: %v", err)
			}
			if n := pricing.EstimatePromptTokens(chat); n <= 0 {
				t.Fatalf("estimate %d", n)
			}
		}
	})
}

// FuzzStream feeds arbitrary lines as chunks (a line starting "!" fails the
// stream there): it must not panic, the events must be well formed whatever
// the chunks hold, and Message must encode.
func FuzzStream(f *testing.F) {
	addFileSeeds(f, "testdata/stream/*.jsonl")
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":-1,"function":{"arguments":"{"}}]}}]}` + "\n" +
		`{"choices":[{"index":0,"delta":{"content":"x","reasoning":"y","tool_calls":[{"index":-1}]},"finish_reason":""}]}`))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"refusal":"no"},"finish_reason":"length"}],"usage":{"prompt_tokens":-5}}` + "\n!cut"))
	f.Add([]byte("null\n[]\n{\"choices\":null}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewStream("claude-x", 0)
		var out []byte
		for _, line := range bytes.Split(b, []byte("\n")) {
			if bytes.HasPrefix(line, []byte("!")) {
				out = append(out, s.Fail(errors.New(string(line)))...)
				break
			}
			ev, err := s.Chunk(line)
			if err != nil && ev != nil {
				t.Fatal("a refused chunk made events")
			}
			out = append(out, ev...)
		}
		out = append(out, s.Finish()...)
		checkWellFormed(t, parseSSE(t, out))
		if !json.Valid(s.Message().JSON()) {
			t.Fatal("Message does not encode")
		}
	})
}

// FuzzTexts: for a body Decode accepts, Texts either refuses it with a 400
// or lists every text Decode read (so a policy over Texts sees what the
// chat translation sends), and SetTexts with those texts leaves the body
// as it was.
func FuzzTexts(f *testing.F) {
	addFileSeeds(f, "testdata/requests/*.json")
	f.Add([]byte(`{"model":"m","max_tokens":1,"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"b"}]}]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"a","Text":"b"}]}]}`))
	// gjson alone reads these two otherwise than encoding/json does.
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"\ud800\u0041"}]}]}`))
	f.Add([]byte("{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"a\xffb\"}]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		texts, err := Texts(b)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Status != 400 {
				t.Fatalf("refusal %v", err)
			}
			return
		}
		seen := map[string]int{}
		for _, x := range texts {
			seen[x.Text]++
		}
		want := func(s string) {
			if s == "" {
				return
			}
			if seen[s] == 0 {
				t.Fatalf("Texts misses %q: %+v", s, texts)
			}
			seen[s]--
		}
		for _, s := range r.System {
			want(s.Text)
		}
		for _, m := range r.Messages {
			for _, blk := range m.Content {
				switch blk.Type {
				case BlockText:
					want(blk.Text)
				case BlockToolResult:
					for _, c := range blk.Content {
						if c.Type == BlockText {
							want(c.Text)
						}
					}
				case BlockDocument:
					if blk.Source != nil && blk.Source.Type == "text" {
						want(blk.Source.Data)
					}
				}
			}
		}
		same, err := SetTexts(b, texts)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Texts(same)
		if err != nil || len(again) != len(texts) {
			t.Fatalf("after SetTexts: %v %+v", err, again)
		}
		for i := range again {
			if again[i] != texts[i] {
				t.Fatalf("text %d: %+v became %+v", i, texts[i], again[i])
			}
		}
	})
}
