package messages

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/sse"
)

func TestNativeUsageReadsAStreamsStartAndCumulativeDelta(t *testing.T) {
	var n NativeUsage
	r := sse.NewReader(bytes.NewReader(readFile(t, "testdata/native/stream.sse")))
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n.Add(ev.Data)
	}
	u, ok := n.Usage()
	if want := (Usage{InputTokens: 472, CacheCreationInputTokens: 2048, CacheReadInputTokens: 128, OutputTokens: 15}); !ok || u != want {
		t.Errorf("usage %+v, want %+v", u, want)
	}
	c := u.ChatUsage()
	if c.PromptTokens != 472+2048+128 || c.CompletionTokens != 15 || c.TotalTokens != 2663 || c.CachedTokens() != 128 {
		t.Errorf("chat usage %+v", c)
	}
}

func TestNativeUsageReadsABodyAndLaterDeltasOverwriteWhatTheyCarry(t *testing.T) {
	var n NativeUsage
	if _, ok := n.Usage(); ok {
		t.Error("usage before any event")
	}
	n.Add([]byte(`not json`))
	n.Add([]byte(`{"type":"ping"}`))
	if _, ok := n.Usage(); ok {
		t.Error("usage from events that carry none")
	}
	n.Add(readFile(t, "testdata/native/message.json"))
	if u, _ := n.Usage(); u != (Usage{InputTokens: 2095, CacheReadInputTokens: 1800, OutputTokens: 503}) {
		t.Errorf("usage %+v", u)
	}
	n.Add([]byte(`{"type":"message_delta","usage":{"input_tokens":3000,"output_tokens":600}}`))
	if u, _ := n.Usage(); u != (Usage{InputTokens: 3000, CacheReadInputTokens: 1800, OutputTokens: 600}) {
		t.Errorf("usage after a cumulative delta %+v", u)
	}
}

func TestChatUsageUndoesFromChatsSplit(t *testing.T) {
	for _, u := range []Usage{
		{InputTokens: 200, CacheReadInputTokens: 800, OutputTokens: 10},
		{InputTokens: 200, CacheReadInputTokens: 800, CacheCreationInputTokens: 300, OutputTokens: 10},
		{InputTokens: 200, CacheCreationInputTokens: 300, OutputTokens: 10,
			CacheCreation: &CacheCreation{Ephemeral5mInputTokens: 100, Ephemeral1hInputTokens: 200}},
	} {
		if back := usageFromChat(openaiUsage(u.ChatUsage())); !reflect.DeepEqual(back, u) {
			t.Errorf("%+v became %+v", u, back)
		}
	}
}

// TestNativeUsageKeepsCacheWritesForPricing: a native answer's cache writes,
// with their 5m/1h split, reach the chat usage the gateway prices.
func TestNativeUsageKeepsCacheWritesForPricing(t *testing.T) {
	var n NativeUsage
	n.Add([]byte(`{"type":"message_start","message":{"usage":{"input_tokens":12,"cache_creation_input_tokens":3000,"cache_read_input_tokens":20000,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"output_tokens":1}}}`))
	n.Add([]byte(`{"type":"message_delta","usage":{"output_tokens":40}}`))
	u, _ := n.Usage()
	c := u.ChatUsage()
	all, oneHour := c.CacheWriteTokens()
	if c.PromptTokens != 23012 || c.CachedTokens() != 20000 || all != 3000 || oneHour != 2000 || c.CompletionTokens != 40 {
		t.Errorf("chat usage %+v (writes %d, one-hour %d)", c, all, oneHour)
	}
}

func openaiUsage(u openai.Usage) *openai.Usage { return &u }
