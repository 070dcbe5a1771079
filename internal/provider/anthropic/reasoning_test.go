package anthropic

import (
	"encoding/json"
	"testing"
)

func TestReasoningEffortBecomesClaudeThinking(t *testing.T) {
	tests := []struct {
		name string
		// model is the upstream model; body the client's request after "model".
		model, body string
		// want are the fields of the Messages request that must be exactly these (absent: "").
		wantThinking, wantOutputConfig string
		wantMaxTokens                  int
		wantTemperature, wantTopP      string
	}{
		{
			name:  "a budget model gets enabled thinking with the effort's budget and room above it",
			model: "claude-sonnet-4-5", body: `"reasoning_effort":"medium"`,
			wantThinking: `{"type":"enabled","budget_tokens":4096}`, wantMaxTokens: DefaultMaxTokens + 4096,
		},
		{
			name:  "a max_tokens not above the budget is raised by the budget",
			model: "claude-3-7-sonnet-20250219", body: `"reasoning_effort":"high","max_tokens":500`,
			wantThinking: `{"type":"enabled","budget_tokens":16384}`, wantMaxTokens: 16884,
		},
		{
			name:  "a max_tokens above the budget is kept",
			model: "claude-haiku-4-5", body: `"reasoning_effort":"low","max_completion_tokens":3000`,
			wantThinking: `{"type":"enabled","budget_tokens":1024}`, wantMaxTokens: 3000,
		},
		{
			name:  "an adaptive model gets adaptive thinking and the effort as output_config",
			model: "claude-opus-4-7", body: `"reasoning_effort":"high","max_tokens":8000`,
			wantThinking: `{"type":"adaptive"}`, wantOutputConfig: `{"effort":"high"}`, wantMaxTokens: 8000,
		},
		{
			name:  "minimal becomes low on an adaptive model",
			model: "claude-sonnet-5-5", body: `"reasoning_effort":"minimal"`,
			wantThinking: `{"type":"adaptive"}`, wantOutputConfig: `{"effort":"low"}`, wantMaxTokens: DefaultMaxTokens + 1024,
		},
		{
			name:  "temperature and a low top_p are dropped with thinking on",
			model: "claude-sonnet-4-5", body: `"reasoning_effort":"low","temperature":0.2,"top_p":0.5`,
			wantThinking: `{"type":"enabled","budget_tokens":1024}`, wantMaxTokens: DefaultMaxTokens + 1024,
		},
		{
			name:  "temperature 1 and top_p 0.95 are kept with thinking on",
			model: "claude-sonnet-4-5", body: `"reasoning_effort":"low","temperature":1,"top_p":0.95`,
			wantThinking: `{"type":"enabled","budget_tokens":1024}`, wantMaxTokens: DefaultMaxTokens + 1024,
			wantTemperature: "1", wantTopP: "0.95",
		},
		{
			name:  "none asks for no thinking",
			model: "claude-sonnet-4-5", body: `"reasoning_effort":"none","temperature":0.2`,
			wantMaxTokens: DefaultMaxTokens, wantTemperature: "0.2",
		},
		{
			name:  "a model that cannot think drops the effort",
			model: "claude-3-5-haiku-latest", body: `"reasoning_effort":"high","temperature":0.2`,
			wantMaxTokens: DefaultMaxTokens, wantTemperature: "0.2",
		},
		{
			name:  "the client's own thinking wins over the effort",
			model: "claude-sonnet-4-5", body: `"reasoning_effort":"high","thinking":{"type":"enabled","budget_tokens":2048}`,
			wantThinking: `{"type":"enabled","budget_tokens":2048}`, wantMaxTokens: DefaultMaxTokens + 2048,
		},
		{
			name:  "a forced tool wins over the effort, as Anthropic refuses both",
			model: "claude-sonnet-4-5",
			body: `"reasoning_effort":"high","tools":[{"type":"function","function":{"name":"f"}}],
				"tool_choice":{"type":"function","function":{"name":"f"}}`,
			wantMaxTokens: DefaultMaxTokens,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decodeChat(t, `{"model":"client-name","messages":[{"role":"user","content":"hi"}],`+tt.body+`}`)
			mr, err := translateRequest(tt.model, r)
			if err != nil {
				t.Fatalf("translateRequest: %v", err)
			}
			b, _ := json.Marshal(mr)
			var got struct {
				Thinking     json.RawMessage `json:"thinking"`
				OutputConfig json.RawMessage `json:"output_config"`
				MaxTokens    int             `json:"max_tokens"`
				Temperature  json.RawMessage `json:"temperature"`
				TopP         json.RawMessage `json:"top_p"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			check := func(field, got, want string) {
				if got != want {
					t.Errorf("%s = %s, want %q (request %s)", field, got, want, b)
				}
			}
			check("thinking", string(got.Thinking), tt.wantThinking)
			check("output_config", string(got.OutputConfig), tt.wantOutputConfig)
			check("temperature", string(got.Temperature), tt.wantTemperature)
			check("top_p", string(got.TopP), tt.wantTopP)
			if got.MaxTokens != tt.wantMaxTokens {
				t.Errorf("max_tokens = %d, want %d (request %s)", got.MaxTokens, tt.wantMaxTokens, b)
			}
		})
	}
}
