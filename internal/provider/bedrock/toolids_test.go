package bedrock

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/aigateway/gateway/internal/openai"
)

// Gemini's tool call ids carry its thought signature and run far over
// Converse's 64-character toolUseId: a history holding one, failed over to
// Bedrock, goes with a stand-in that pairs the call with its result.
func TestToolCallIDsOverConversesLimitAreShortenedAndStillPair(t *testing.T) {
	long := "call_0__thought__" + strings.Repeat("Q", 300)
	var r openai.ChatRequest
	body := `{"model":"m","messages":[{"role":"user","content":"a"},
		{"role":"assistant","tool_calls":[{"id":"` + long + `","type":"function","function":{"name":"f","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"` + long + `","content":"42"}],"tools":[{"type":"function","function":{"name":"f"}}]}`
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	c, err := translateRequest("anthropic.claude-sonnet-4-5-20250929-v1:0", &r)
	if err != nil {
		t.Fatal(err)
	}
	use, ok1 := c.messages[1].Content[0].(*types.ContentBlockMemberToolUse)
	result, ok2 := c.messages[2].Content[0].(*types.ContentBlockMemberToolResult)
	if !ok1 || !ok2 {
		t.Fatalf("messages %+v: want a toolUse and a toolResult", c.messages)
	}
	id, rid := aws.ToString(use.Value.ToolUseId), aws.ToString(result.Value.ToolUseId)
	if id != rid || len(id) > 64 || id == long {
		t.Errorf("toolUseId %q, result's %q: want the same id of at most 64 characters", id, rid)
	}
}
