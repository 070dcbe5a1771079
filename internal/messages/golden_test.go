package messages

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/provider/providertest"
)

// checkGolden compares got with the golden file (as normalised JSON when
// asJSON, else byte for byte), or rewrites it under -update.
func checkGolden(t *testing.T, path string, got []byte, asJSON bool) {
	t.Helper()
	if asJSON {
		providertest.CheckGolden(t, path, got)
		return
	}
	providertest.CheckGoldenBytes(t, path, got)
}

// fixtures lists the inputs of a testdata folder, goldens excluded.
func fixtures(t *testing.T, dir, ext string) []string { return providertest.Fixtures(t, dir, ext) }

func golden(path, ext string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".golden" + ext
}

func readFile(t *testing.T, path string) []byte { return providertest.ReadFile(t, path) }

// TestToChatGolden translates every testdata/requests/*.json and compares
// the chat request with its .golden.json.
func TestToChatGolden(t *testing.T) {
	for _, in := range fixtures(t, "requests", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			r, err := Decode(readFile(t, in))
			if err != nil {
				t.Fatal(err)
			}
			chat, err := ToChat(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(chat)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, golden(in, ".json"), got, true)
		})
	}
}

// TestFromChatGolden translates every testdata/responses/*.json (chat
// completion bodies as providers send them) for a client that asked for
// "claude-sonnet-4-5" and compares the Messages answer with its .golden.json.
func TestFromChatGolden(t *testing.T) {
	for _, in := range fixtures(t, "responses", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			m, err := FromChatBody(readFile(t, in), "claude-sonnet-4-5")
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, golden(in, ".json"), got, true)
		})
	}
}
