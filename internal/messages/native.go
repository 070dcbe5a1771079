package messages

import (
	"encoding/json"

	"github.com/aigateway/gateway/internal/openai"
)

// NativeUsage reads the usage of a native Messages answer, for metering a
// pass-through to an Anthropic upstream whose bytes reach the client
// unchanged. Feed it the body of a non-stream answer, or the data of every
// stream event; the zero value is ready.
type NativeUsage struct {
	u    Usage
	seen bool
}

// Add folds in one answer body or stream event's data: a message (or
// message_start's message) sets the usage, a message_delta overwrites the
// counts it carries (they are cumulative). Other events and data that is not
// JSON are ignored.
func (n *NativeUsage) Add(data []byte) {
	var ev struct {
		Type    string       `json:"type"`
		Message *nativeMsg   `json:"message"`
		Usage   *nativeUsage `json:"usage"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return
	}
	switch ev.Type {
	case "message":
		if ev.Usage != nil {
			n.merge(*ev.Usage)
		}
	case "message_start":
		if ev.Message != nil && ev.Message.Usage != nil {
			n.merge(*ev.Message.Usage)
		}
	case "message_delta":
		if ev.Usage != nil {
			n.merge(*ev.Usage)
		}
	}
}

// Usage is the usage so far; ok is false when no event carried any.
func (n *NativeUsage) Usage() (u Usage, ok bool) { return n.u, n.seen }

type nativeMsg struct {
	Usage *nativeUsage `json:"usage"`
}

// nativeUsage has pointers so a count a message_delta omits keeps its value.
type nativeUsage struct {
	InputTokens              *int           `json:"input_tokens"`
	CacheCreationInputTokens *int           `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int           `json:"cache_read_input_tokens"`
	CacheCreation            *CacheCreation `json:"cache_creation"`
	OutputTokens             *int           `json:"output_tokens"`
}

func (n *NativeUsage) merge(v nativeUsage) {
	n.seen = true
	set := func(dst *int, p *int) {
		if p != nil {
			*dst = *p
		}
	}
	set(&n.u.InputTokens, v.InputTokens)
	set(&n.u.CacheCreationInputTokens, v.CacheCreationInputTokens)
	set(&n.u.CacheReadInputTokens, v.CacheReadInputTokens)
	set(&n.u.OutputTokens, v.OutputTokens)
	if v.CacheCreation != nil {
		c := *v.CacheCreation
		n.u.CacheCreation = &c
	}
}

// ChatUsage is u as the gateway meters usage: every input token (read from
// the cache, written to it, or neither) is a prompt token, cache reads are
// the cached tokens and cache writes the cache_creation_tokens, with their
// split by lifetime, as the Anthropic provider reports them.
func (u Usage) ChatUsage() openai.Usage {
	out := openai.Usage{
		PromptTokens:     u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		CompletionTokens: u.OutputTokens,
		PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: u.CacheReadInputTokens,
			CacheCreationTokens: u.CacheCreationInputTokens},
	}
	if c := u.CacheCreation; c != nil && u.CacheCreationInputTokens > 0 && c.Ephemeral5mInputTokens+c.Ephemeral1hInputTokens > 0 {
		cc := *c
		out.PromptTokensDetails.CacheCreationTokenDetails = &cc
	}
	out.TotalTokens = out.PromptTokens + out.CompletionTokens
	return out
}
