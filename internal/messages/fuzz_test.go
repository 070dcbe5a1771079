package messages

import (
	"bytes"
	"encoding/json"
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
