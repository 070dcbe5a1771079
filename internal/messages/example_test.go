package messages_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/aigateway/gateway/internal/messages"
	"github.com/aigateway/gateway/internal/openai"
)

// A /v1/messages request for a provider that is not Anthropic: decode,
// translate to chat, and (here without an upstream) render an upstream
// failure in Anthropic's shape.
func Example() {
	req, err := messages.Decode([]byte(`{"model":"gpt-4o","max_tokens":256,
		"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}`))
	if err != nil {
		fmt.Println(string(messages.FromError(err).JSON()))
		return
	}
	chat, err := messages.ToChat(req)
	if err != nil {
		fmt.Println(string(messages.FromError(err).JSON()))
		return
	}
	fmt.Println(chat.Model, len(chat.Messages), *chat.MaxTokens)

	upstream := &openai.Error{Code: openai.CodeRateLimited, Message: "slow down"}
	e := messages.FromError(upstream)
	fmt.Println(e.Status, string(e.JSON()))
	// Output:
	// gpt-4o 2 256
	// 429 {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}
}

// The stream loop of /v1/messages: every chunk the provider yields goes
// through Chunk; a clean end (io.EOF from provider.Stream.Next) is Finish, a
// broken stream Fail.
func ExampleStream() {
	chunks := []string{
		`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}`,
		`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1}}`,
	}
	s := messages.NewStream("claude-sonnet-4-5", 0)
	for _, c := range chunks {
		b, err := s.Chunk([]byte(c))
		if err != nil {
			os.Stdout.Write(s.Fail(err))
			return
		}
		os.Stdout.Write(b)
	}
	os.Stdout.Write(s.Finish())
	fmt.Println(s.Usage().PromptTokens, *s.Message().StopReason)
	// Output:
	// event: message_start
	// data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}
	//
	// event: content_block_start
	// data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}
	//
	// event: ping
	// data: {"type":"ping"}
	//
	// event: content_block_delta
	// data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}
	//
	// event: content_block_stop
	// data: {"type":"content_block_stop","index":0}
	//
	// event: message_delta
	// data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}
	//
	// event: message_stop
	// data: {"type":"message_stop"}
	//
	// 9 end_turn
}

// A stream cut after message_start ends with an error event.
func ExampleStream_Fail() {
	s := messages.NewStream("claude-sonnet-4-5", 0)
	_ = s.Start()
	os.Stdout.Write(s.Fail(errors.New("connection reset")))
	// Output:
	// event: error
	// data: {"type":"error","error":{"type":"api_error","message":"internal error"}}
}
