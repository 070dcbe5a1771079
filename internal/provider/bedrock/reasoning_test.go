package bedrock

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aigateway/gateway/internal/openai"
)

func TestReasoningEffortBecomesClaudeThinkingInAdditionalModelRequestFields(t *testing.T) {
	tests := []struct {
		name, model, body string
		// wantFields is additionalModelRequestFields' JSON, "" for none.
		wantFields    string
		wantMaxTokens int32 // 0: no maxTokens
		wantTemp      bool
	}{
		{
			name:  "a budget model gets enabled thinking and maxTokens above the budget",
			model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", body: `"reasoning_effort":"medium"`,
			wantFields: `{"thinking":{"budget_tokens":4096,"type":"enabled"}}`, wantMaxTokens: 4096 + defaultMaxTokens,
		},
		{
			name:  "a max_tokens not above the budget is raised by the budget and temperature dropped",
			model: "anthropic.claude-3-7-sonnet-20250219-v1:0", body: `"reasoning_effort":"low","max_tokens":100,"temperature":0.3`,
			wantFields: `{"thinking":{"budget_tokens":1024,"type":"enabled"}}`, wantMaxTokens: 1124,
		},
		{
			name:  "an adaptive model gets adaptive thinking and output_config.effort",
			model: "global.anthropic.claude-opus-4-6-v1", body: `"reasoning_effort":"high","max_tokens":2000`,
			wantFields: `{"output_config":{"effort":"high"},"thinking":{"type":"adaptive"}}`, wantMaxTokens: 2000,
		},
		{
			name:  "a model that is not Claude ignores the effort",
			model: "amazon.nova-pro-v1:0", body: `"reasoning_effort":"high","temperature":0.3`,
			wantTemp: true,
		},
		{
			name:  "a Claude model that cannot think ignores the effort",
			model: "anthropic.claude-3-5-haiku-20241022-v1:0", body: `"reasoning_effort":"high","temperature":0.3`,
			wantTemp: true,
		},
		{
			name:  "a forced tool wins over the effort",
			model: "anthropic.claude-sonnet-4-5-20250929-v1:0",
			body:  `"reasoning_effort":"high","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r openai.ChatRequest
			if err := json.Unmarshal([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],`+tt.body+`}`), &r); err != nil {
				t.Fatal(err)
			}
			c, err := translateRequest(tt.model, &r)
			if err != nil {
				t.Fatalf("translateRequest: %v", err)
			}
			fields := ""
			if c.additional != nil {
				b, err := c.additional.MarshalSmithyDocument()
				if err != nil {
					t.Fatal(err)
				}
				fields = string(b)
			}
			if fields != tt.wantFields {
				t.Errorf("additionalModelRequestFields = %s, want %s", fields, tt.wantFields)
			}
			var maxTokens int32
			var temp bool
			if c.inference != nil {
				maxTokens = aws.ToInt32(c.inference.MaxTokens)
				temp = c.inference.Temperature != nil
			}
			if maxTokens != tt.wantMaxTokens || temp != tt.wantTemp {
				t.Errorf("maxTokens %d, temperature set %v; want %d, %v", maxTokens, temp, tt.wantMaxTokens, tt.wantTemp)
			}
			if c.thinkingOn != (tt.wantFields != "") {
				t.Errorf("thinkingOn = %v", c.thinkingOn)
			}
		})
	}
}
