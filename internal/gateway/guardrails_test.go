package gateway_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/state/memory"
)

const guarded = stateful + `
[guardrails.global]
blocked_words = ["project nightingale"]
redact_emails = true
redact_card_numbers = true
max_input_chars = 2000

[guardrails.profiles.strict]
blocked_patterns = ['(?i)\bconfidential\b']
`

func TestGuardrailsRefuseRedactAndFollowTheKeysProfile(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, guarded, nil, a, a)
	plain, _ := createKey(t, g, `{}`)
	strict, _ := createKey(t, g, `{"metadata":{"guardrails":"strict"}}`)
	chat := func(key, text string) (int, string) {
		rec := do(t, g, "POST", "/v1/chat/completions", `{"model":"shared","messages":[{"role":"user","content":"`+text+`"}]}`, "Authorization", "Bearer "+key)
		return rec.Code, rec.Body.String()
	}
	t.Run("a blocked word is refused with content_filter and no upstream call", func(t *testing.T) {
		before := a.calls.Load()
		code, body := chat(plain, "tell me about Project  Nightingale")
		if code != 400 || !strings.Contains(body, `"code":"content_filter"`) || strings.Contains(strings.ToLower(body), "nightingale") {
			t.Fatalf("%d %s", code, body)
		}
		if a.calls.Load() != before {
			t.Fatal("a refused request reached the upstream")
		}
	})
	t.Run("e-mail addresses and card numbers are redacted before the upstream", func(t *testing.T) {
		code, body := chat(plain, "mail jane.doe@example.com card 4111 1111 1111 1111 thanks")
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		sent := a.lastBody()
		if bytes.Contains(sent, []byte("jane.doe@example.com")) || bytes.Contains(sent, []byte("4111 1111")) ||
			!bytes.Contains(sent, []byte("[REDACTED_EMAIL]")) || !bytes.Contains(sent, []byte("[REDACTED_CARD]")) {
			t.Fatalf("upstream got %s", sent)
		}
	})
	t.Run("a profile adds rules for its keys only", func(t *testing.T) {
		if code, _ := chat(plain, "this is confidential"); code != 200 {
			t.Fatalf("the plain key was refused: %d", code)
		}
		if code, body := chat(strict, "this is confidential"); code != 400 || !strings.Contains(body, "content_filter") {
			t.Fatalf("the strict key passed: %d %s", code, body)
		}
	})
	t.Run("too long an input is a 400", func(t *testing.T) {
		if code, _ := chat(plain, strings.Repeat("a ", 1500)); code != 400 {
			t.Fatalf("%d", code)
		}
	})
	t.Run("generate and embeddings are checked too", func(t *testing.T) {
		rec := do(t, g, "POST", "/generate", `{"prompt":"project nightingale status"}`, "Authorization", "Bearer "+plain)
		if rec.Code != 400 {
			t.Fatalf("generate: %d %s", rec.Code, rec.Body)
		}
		rec = do(t, g, "POST", "/v1/embeddings", `{"model":"shared","input":["ok","Project Nightingale"]}`, "Authorization", "Bearer "+plain)
		if rec.Code != 400 {
			t.Fatalf("embeddings: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("admin config shows counts, not the rules", func(t *testing.T) {
		rec := do(t, g, "GET", "/admin/config", "", "Authorization", "Bearer "+adminKey)
		if strings.Contains(strings.ToLower(rec.Body.String()), "nightingale") || !strings.Contains(rec.Body.String(), `"blocked_words":1`) {
			t.Fatalf("%s", rec.Body)
		}
	})
}

func TestAKeyNamingAnUnknownGuardrailsProfileIsRefused(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	st := memory.New(nil)
	g := newStateful(t, guarded, st, a, a)
	rec := do(t, g, "POST", "/admin/keys", `{"metadata":{"guardrails":"strcit"}}`, "Authorization", "Bearer "+adminKey)
	if rec.Code != 400 || errorOf(t, rec).Param == nil || *errorOf(t, rec).Param != "metadata.guardrails" {
		t.Fatalf("creating a key with an unknown profile: %d %s", rec.Code, rec.Body)
	}
	// A key stored with one anyway (an older key, a profile since removed)
	// fails closed on every endpoint, those without text to check included.
	secret, id := createKey(t, g, `{}`)
	k, _ := st.Keys.ByID(context.Background(), id)
	k.Metadata = map[string]string{"guardrails": "removed"}
	_ = st.Keys.Delete(context.Background(), id)
	if err := st.Keys.Create(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	for _, req := range [][2]string{
		{"/v1/chat/completions", hello},
		{"/v1/images/generations", `{"model":"shared","prompt":"a lighthouse"}`},
	} {
		if rec := do(t, g, "POST", req[0], req[1], "Authorization", "Bearer "+secret); rec.Code != 403 {
			t.Errorf("%s with an unknown profile: %d %s", req[0], rec.Code, rec.Body)
		}
	}
}

// TestImagePromptsMeetTheGuardrails: an image prompt with a blocked word is
// refused before any upstream call, and an address in one reaches the
// upstream redacted (image prompts passed unchecked).
func TestImagePromptsMeetTheGuardrails(t *testing.T) {
	a := newUpstream(t, okChat("a"))
	g := newStateful(t, guarded, nil, a, a)
	key, _ := createKey(t, g, `{}`)
	before := a.calls.Load()
	rec := do(t, g, "POST", "/v1/images/generations", `{"model":"shared","prompt":"the Project Nightingale logo"}`, "Authorization", "Bearer "+key)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "content_filter") || a.calls.Load() != before {
		t.Fatalf("blocked prompt: %d %s (upstream calls %d → %d)", rec.Code, rec.Body, before, a.calls.Load())
	}
	rec = do(t, g, "POST", "/v1/images/generations", `{"model":"shared","prompt":"a card for jane.doe@example.com","size":"1024x1024"}`, "Authorization", "Bearer "+key)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if sent := a.lastBody(); bytes.Contains(sent, []byte("jane.doe@example.com")) || !bytes.Contains(sent, []byte(`"size":"1024x1024"`)) {
		t.Fatalf("upstream got %s", sent)
	}
}
