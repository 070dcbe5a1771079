package messages

import (
	"bytes"
	"errors"
	"io"
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
	u := Usage{InputTokens: 200, CacheReadInputTokens: 800, OutputTokens: 10}
	if back := usageFromChat(openaiUsage(u.ChatUsage())); back != u {
		t.Errorf("%+v became %+v", u, back)
	}
}

func openaiUsage(u openai.Usage) *openai.Usage { return &u }
