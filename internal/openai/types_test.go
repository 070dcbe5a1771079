package openai

import (
	"encoding/json"
	"testing"
)

// TestCacheControlIsReadWhereLiteLLMAndOpenRouterPutIt: a content part's, a
// message's, a tool's and a tool function's cache_control all decode.
func TestCacheControlIsReadWhereLiteLLMAndOpenRouterPutIt(t *testing.T) {
	body := `{"model":"m","messages":[
		{"role":"system","content":[{"type":"text","text":"long","cache_control":{"type":"ephemeral","ttl":"1h"}}]},
		{"role":"user","content":"hi","cache_control":{"type":"ephemeral"}}],
		"tools":[{"type":"function","function":{"name":"a"},"cache_control":{"type":"ephemeral"}},
		         {"type":"function","function":{"name":"b","cache_control":{"type":"ephemeral","ttl":"5m"}}},
		         {"type":"function","function":{"name":"c"}}]}`
	var r ChatRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if cc := r.Messages[0].Content.Parts[0].CacheControl; cc == nil || cc.Type != "ephemeral" || cc.TTL != "1h" {
		t.Errorf("part cache_control = %+v", cc)
	}
	if cc := r.Messages[1].CacheControl; cc == nil || cc.Type != "ephemeral" {
		t.Errorf("message cache_control = %+v", cc)
	}
	if cc := r.Tools[0].ToolCacheControl(); cc == nil || cc.TTL != "" {
		t.Errorf("tool cache_control = %+v", cc)
	}
	if cc := r.Tools[1].ToolCacheControl(); cc == nil || cc.TTL != "5m" {
		t.Errorf("function cache_control = %+v", cc)
	}
	if cc := r.Tools[2].ToolCacheControl(); cc != nil {
		t.Errorf("a tool without cache_control has %+v", cc)
	}
}

// TestReasoningFieldsRoundTrip: reasoning_content and thinking_blocks go out
// on a response message and come back on a history message; without them a
// message marshals as before.
func TestReasoningFieldsRoundTrip(t *testing.T) {
	m := AssistantMessage("42", nil)
	m.ReasoningContent = "think"
	m.ThinkingBlocks = []ThinkingBlock{{Type: ThinkingTypeThinking, Thinking: "think", Signature: "sig"}, {Type: ThinkingTypeRedacted, Data: "opaque"}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"role":"assistant","content":"42","reasoning_content":"think","thinking_blocks":[{"type":"thinking","thinking":"think","signature":"sig"},{"type":"redacted_thinking","data":"opaque"}]}`
	if string(b) != want {
		t.Errorf("marshal = %s\nwant      %s", b, want)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ReasoningContent != "think" || len(back.ThinkingBlocks) != 2 || back.ThinkingBlocks[0].Signature != "sig" || back.ThinkingBlocks[1].Data != "opaque" {
		t.Errorf("history message = %+v", back)
	}
	plain, _ := json.Marshal(AssistantMessage("x", nil))
	if string(plain) != `{"role":"assistant","content":"x"}` {
		t.Errorf("a message without reasoning marshals as %s", plain)
	}
}

// TestCacheWriteTokens reads the cache-creation count and its one-hour part.
func TestCacheWriteTokens(t *testing.T) {
	for _, tt := range []struct {
		name         string
		u            *Usage
		all, oneHour int
	}{
		{"nil usage", nil, 0, 0},
		{"no details", &Usage{PromptTokens: 5}, 0, 0},
		{"writes without a split are all five-minute ones", &Usage{PromptTokensDetails: &PromptTokensDetails{CacheCreationTokens: 7}}, 7, 0},
		{"the split gives the one-hour part", &Usage{PromptTokensDetails: &PromptTokensDetails{CacheCreationTokens: 7,
			CacheCreationTokenDetails: &CacheCreationDetails{Ephemeral5mInputTokens: 4, Ephemeral1hInputTokens: 3}}}, 7, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			all, oneHour := tt.u.CacheWriteTokens()
			if all != tt.all || oneHour != tt.oneHour {
				t.Errorf("CacheWriteTokens = %d, %d; want %d, %d", all, oneHour, tt.all, tt.oneHour)
			}
		})
	}
	b, _ := json.Marshal(Usage{PromptTokens: 1, PromptTokensDetails: &PromptTokensDetails{CachedTokens: 1}})
	if string(b) != `{"prompt_tokens":1,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":1}}` {
		t.Errorf("usage without cache writes marshals as %s", b)
	}
}
